"""CSRF, secret storage, headers."""

import re
import sqlite3

import pytest

from portal import create_app
from portal.extensions import db
from tests.conftest import IsolatedClient
from tests.helpers import generate_and_save


@pytest.fixture
def csrf_app(app_config):
    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    with app.app_context():
        db.create_all()
        yield app


def test_post_without_csrf_token_is_refused(csrf_app):
    from portal.accounts.models import Firm
    from tests.conftest import make_user

    firm = Firm(name="Gamma")
    db.session.add(firm)
    db.session.flush()
    make_user(firm, "admin@gamma.example", "admin")
    db.session.commit()
    csrf_app.test_client_class = IsolatedClient
    client = csrf_app.test_client()
    login_page = client.get("/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    from tests.conftest import PASSWORD

    client.post("/login", data={"email": "admin@gamma.example", "password": PASSWORD,
                                "csrf_token": token})
    refused = client.post("/settings/apps/public-api/activate")
    assert refused.status_code == 400 and "form expired" in refused.text
    page = client.get("/settings/apps/public-api").text
    header_token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    accepted = client.post("/settings/apps/public-api/activate",
                           headers={"X-CSRFToken": header_token, "HX-Request": "true"})
    assert accepted.status_code == 200


def test_database_holds_no_plain_secret(client, world, auth, app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("inspects the SQLite file")
    auth.login("admin@alpha.example")
    secrets = [generate_and_save(client, f"Key {i}")[1] for i in range(3)]
    reveal = client.post(f"/settings/apps/public-api/keys/{_first_key_id()}/reveal")
    assert reveal.status_code == 302  # to the page that shows it
    assert client.get(reveal.headers["Location"]).status_code == 200
    db.session.remove()
    db.engine.dispose()
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    raw = open(path, "rb").read()
    with sqlite3.connect(path) as connection:
        dump = "\n".join(connection.iterdump())
    for secret in secrets:
        assert secret.encode() not in raw
        assert secret not in dump
        assert secret.encode().hex() not in dump.lower()


def _first_key_id():
    from sqlalchemy import select

    from portal.public_api.models import ApiKey

    return db.session.execute(select(ApiKey.id).limit(1)).scalar_one()


def test_secrets_never_reach_the_logs(client, world, auth, caplog):
    caplog.set_level("DEBUG")
    auth.login("admin@alpha.example")
    _, secret = generate_and_save(client)
    assert secret not in caplog.text


def test_security_headers_on_portal_pages(client, world):
    response = client.get("/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
    assert response.headers["X-Request-Id"]


def test_no_inline_script_in_pages(client, world, auth):
    auth.login("admin@alpha.example")
    page = client.get("/settings/apps/public-api").text
    for tag in re.findall(r"<script[^>]*>", page):
        assert "src=" in tag
    assert " onclick=" not in page
