"""Fixtures: an app with a fresh database per test, a client, and helpers to make firms/users."""

import contextvars
import json
import os
import time
from dataclasses import dataclass

import pytest
from cryptography.fernet import Fernet
from flask.testing import FlaskClient
from sqlalchemy import create_engine, make_url, select, text
from sqlalchemy.orm import undefer
from werkzeug.security import generate_password_hash

from portal import create_app
from portal.accounts.models import Firm, User, UserSession
from portal.crm.models import Client
from portal.crm.serializers import clients_to_out
from portal.extensions import db
from portal.ids import new_id

PASSWORD = "correct horse battery"
# Hashing is deliberately slow; hash once for the whole run.
PASSWORD_HASH = generate_password_hash(PASSWORD)
FERNET_KEY = Fernet.generate_key().decode()


def pytest_configure(config):
    """Under pytest-xdist each worker gets a PostgreSQL database of its own: tests drop and
    recreate the schema, so workers sharing one database would erase each other's tables."""
    base = os.environ.get("TEST_DATABASE_URL")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if base and worker and base.startswith("postgresql"):
        os.environ["TEST_DATABASE_URL"] = _fresh_database(base, f"_{worker}")


def assert_client_json_stored():
    """Each client's stored JSON is what the serializer makes of it now: a write that changed
    what a client shows without store_client_json fails the test that made it."""
    clients = list(db.session.scalars(select(Client).options(undefer(Client.api_json))))
    stale = [client.id for client, out in zip(clients, clients_to_out(clients), strict=True)
             if client.api_json is None or json.loads(client.api_json) != out]
    db.session.remove()
    assert not stale, f"clients whose stored JSON is not current: {stale}"


def _fresh_database(base_url: str, suffix: str) -> str:
    url = make_url(base_url)
    name = f"{url.database}{suffix}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def database_url(tmp_path) -> str:
    """TEST_DATABASE_URL (PostgreSQL in CI) or a fresh SQLite file in the test's tmp dir."""
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.sqlite3'}"


@pytest.fixture
def app_config(tmp_path):
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url(tmp_path),
        "WTF_CSRF_ENABLED": False,
        "SESSION_COOKIE_SECURE": False,
        "API_SECRET_HMAC_KEY": "test-hmac-key",
        "API_SECRET_FERNET_KEYS": FERNET_KEY,
    }


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    with app.app_context():
        _reset_schema()
        yield app
        db.session.remove()
        assert_client_json_stored()
        if db.engine.dialect.name == "postgresql":
            _drop_all()
        db.engine.dispose()


def _reset_schema():
    if db.engine.dialect.name == "postgresql":
        _drop_all()
    db.create_all()


def _drop_all():
    with db.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))


class IsolatedClient(FlaskClient):
    """Each request runs in its own app context, with its own `g` and database session, as in
    production; the test's session then forgets what it had loaded, so it reads fresh rows."""

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        db.session.expire_all()
        return response


@pytest.fixture
def client(app):
    app.test_client_class = IsolatedClient
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@dataclass
class World:
    """Two firms, each with an owner, an admin and a member."""

    firm: Firm
    owner: User
    admin: User
    member: User
    other_firm: Firm
    other_admin: User


def make_user(firm: Firm | None, email: str, role: str = "member", support: bool = False) -> User:
    user = User(
        firm_id=firm.id if firm else None,
        email=email,
        name=email.split("@")[0].title(),
        role=role,
        is_support=support,
        password_hash=PASSWORD_HASH,
    )
    db.session.add(user)
    db.session.flush()
    return user


@pytest.fixture
def world(app) -> World:
    firm = Firm(name="Alpha Accounting")
    other = Firm(name="Beta Books")
    db.session.add_all([firm, other])
    db.session.flush()
    result = World(
        firm=firm,
        owner=make_user(firm, "owner@alpha.example", "owner"),
        admin=make_user(firm, "admin@alpha.example", "admin"),
        member=make_user(firm, "member@alpha.example", "member"),
        other_firm=other,
        other_admin=make_user(other, "admin@beta.example", "admin"),
    )
    db.session.commit()
    return result


def session_of(user: User, *, fresh: bool = True) -> dict:
    """What logging in leaves in the session (without the slow password hash): the user, a
    server-side session row, the password's version and, if `fresh`, a recent login."""
    record = UserSession(id=new_id("ses"), user_id=user.id)
    db.session.add(record)
    db.session.commit()
    return {"_user_id": user.id, "_fresh": True, "session_id": record.id,
            "session_version": user.session_version, "auth_at": int(time.time()) if fresh else 0}


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, email: str, password: str = PASSWORD):
        return self._client.post("/login", data={"email": email, "password": password})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def admin_client(client, world, auth):
    """The test client, logged in as the first firm's admin."""
    auth.login("admin@alpha.example")
    return client



