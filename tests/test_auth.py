"""Logging in and out, safe redirects, sessions."""

import pytest

from tests.conftest import PASSWORD


def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert "Log in to Uku" in response.text


def test_login_success_lands_on_settings(client, world, auth):
    response = auth.login("admin@alpha.example")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/").headers["Location"] == "/settings"


def test_wrong_password_is_refused_with_a_readable_message(client, world, auth):
    response = auth.login("admin@alpha.example", "nope-nope")
    assert response.status_code == 422
    assert "The e-mail or password is not right." in response.text


def test_inactive_user_cannot_log_in(client, world, auth, app):
    from portal.extensions import db

    world.member.is_active_member = False
    db.session.commit()
    assert auth.login("member@alpha.example").status_code == 422


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/settings/audit-log", "/settings/audit-log"),
        ("https://evil.example/x", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/\r\nX-Injected: 1", "/"),
        ("/\nX-Injected:1", "/"),
        ("/settings\t", "/"),
        ("/caf\u00e9", "/"),
        ("/a b", "/"),
    ],
)
def test_next_only_follows_same_site_paths(client, world, target, expected):
    response = client.post(
        "/login", query_string={"next": target},
        data={"email": "admin@alpha.example", "password": PASSWORD},
    )
    assert response.headers["Location"] == expected
    assert "X-Injected" not in response.headers


def test_anonymous_is_sent_to_login_with_next(client, world):
    response = client.get("/settings/apps/public-api")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/settings/apps/public-api")


def test_expired_session_in_htmx_request_redirects_the_whole_page(client, world):
    response = client.post("/settings/apps/public-api/activate", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")
    assert "<html" not in response.text


def test_logout_clears_the_session(client, world, auth):
    auth.login("admin@alpha.example")
    assert client.get("/settings").status_code == 200
    auth.logout()
    assert client.get("/settings").status_code == 302


def test_login_issues_a_fresh_session(client, world, auth):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    auth.login("admin@alpha.example")
    with client.session_transaction() as session:
        assert "planted" not in session


def test_session_cookie_flags(app_config):
    from portal import create_app

    app = create_app({**app_config, "SESSION_COOKIE_SECURE": True})
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SESSION_COOKIE_SECURE"] is True


@pytest.fixture
def limited_client(app_config):
    """An app with small login allowances, to reach them quickly."""
    from portal import create_app
    from portal.extensions import db
    from tests.conftest import IsolatedClient

    app = create_app({**app_config, "LOGIN_LIMIT_PER_ACCOUNT": "3 per minute",
                      "LOGIN_LIMIT_PER_IP": "5 per minute"})
    app.test_client_class = IsolatedClient
    with app.app_context():
        db.create_all()
        yield app.test_client()


def test_failed_logins_are_limited_per_account(limited_client):
    for _ in range(3):
        response = limited_client.post("/login", data={"email": "a@x.example", "password": "no"})
        assert response.status_code == 422
    response = limited_client.post("/login", data={"email": "a@x.example", "password": "no"})
    assert response.status_code == 429 and "Too many requests" in response.text
    other = limited_client.post("/login", data={"email": "b@x.example", "password": "no"})
    assert other.status_code == 422


def test_failed_logins_are_limited_per_ip(limited_client):
    statuses = [
        limited_client.post("/login", data={"email": f"u{i}@x.example", "password": "no"})
        .status_code for i in range(6)
    ]
    assert statuses == [422] * 5 + [429]
