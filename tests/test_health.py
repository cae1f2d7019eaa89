"""/healthz (the process answers) and /readyz (the database answers): JSON, no cookie, no CSRF,
and a 503 JSON error, never a traceback, when the database is unreachable."""

import logging
import socket

import pytest

from portal import create_app
from portal.extensions import db


def _closed_port() -> int:
    """A loopback port nobody listens on: bound, read, released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


UNREACHABLE = {
    "sqlite": lambda tmp_path: f"sqlite:///{tmp_path / 'no-such-dir' / 'portal.sqlite3'}",
    "postgresql": lambda tmp_path: (
        f"postgresql+psycopg://portal@127.0.0.1:{_closed_port()}/portal?connect_timeout=2"
    ),
}


@pytest.fixture(params=sorted(UNREACHABLE))
def unreachable_app(request, app_config, tmp_path):
    config = dict(app_config, SQLALCHEMY_DATABASE_URI=UNREACHABLE[request.param](tmp_path))
    app = create_app(config)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_healthz_says_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.is_json and response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_readyz_says_ready(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.is_json and response.get_json() == {"status": "ready"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_probes_answer_head(client):
    for path in ("/healthz", "/readyz"):
        assert client.head(path).status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_leave_a_logged_in_session_alone(client, world, auth, path):
    assert auth.login("admin@alpha.example").status_code == 302
    response = client.get(path)
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    # The login still works afterwards.
    assert client.get("/settings/apps/public-api").status_code == 200


def test_probes_need_no_csrf_token(app_config):
    app = create_app(dict(app_config, WTF_CSRF_ENABLED=True))
    with app.app_context():
        db.create_all()
        try:
            client = app.test_client()
            assert client.get("/healthz").status_code == 200
            assert client.get("/readyz").status_code == 200
        finally:
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


def test_probes_are_get_only(client):
    for path in ("/healthz", "/readyz"):
        response = client.post(path)
        assert response.status_code == 405


def test_readyz_with_unreachable_database_is_503_json(unreachable_app, caplog):
    client = unreachable_app.test_client()
    with caplog.at_level(logging.WARNING):
        response = client.get("/readyz", headers={"X-Request-Id": "probe-12345678"})
    assert response.status_code == 503
    assert response.is_json
    error = response.get_json()["error"]
    assert error["code"] == "SERVICE_UNAVAILABLE"
    assert error["message"]
    assert error["request_id"] == "probe-12345678"
    assert int(response.headers["Retry-After"]) > 0
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    assert "Traceback" not in response.text and "OperationalError" not in response.text
    # Logged as one warning line, without a traceback and without the database URL.
    records = [r for r in caplog.records if "readyz" in r.getMessage()]
    assert len(records) == 1 and records[0].levelno == logging.WARNING
    assert records[0].exc_info is None
    assert "127.0.0.1" not in records[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_healthz_does_not_need_the_database(unreachable_app):
    response = unreachable_app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
