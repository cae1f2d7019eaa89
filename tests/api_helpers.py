"""Fixtures' helpers for JSON API tests: make a saved key pair and build auth headers."""

import base64
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from werkzeug.serving import make_server

from portal import create_app
from portal.accounts.models import Firm
from portal.crm import service as crm
from portal.crm.models import (
    Client,
    ClientField,
    ClientGroup,
    Contact,
    IdempotencyRecord,
    client_group_members,
)
from portal.crm.schemas import ClientCreate, ContactCreate
from portal.crm.serializers import store_client_json
from portal.extensions import db
from portal.public_api import service

API = "/api/v1"
# Generous limits for modules that send hundreds of requests with one key or from one IP.
NO_RATE_LIMITS = {
    "API_RATE_LIMIT_READS": 1_000_000,
    "API_RATE_LIMIT_WRITES": 1_000_000,
    "API_AUTH_FAILURES_PER_IP_AND_KEY": 1_000_000,
}
COUNTED = {
    "clients": Client,
    "contacts": Contact,
    "client_groups": ClientGroup,
    "client_fields": ClientField,
    "client_group_members": client_group_members,
    "idempotency_records": IdempotencyRecord,
}


def make_pair(firm, admin, name="Integration", active=True):
    """A saved key (and its secret) for `firm`, with the Public API app activated."""
    pair = service.generate_key_pair(firm, name, admin)
    service.save_key(pair.key, admin)
    if active:
        service.set_app_active(firm, True, admin)
    db.session.commit()
    return pair


def basic(api_key: str, api_secret: str) -> dict:
    raw = base64.b64encode(f"{api_key}:{api_secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def key_headers(api_key: str, api_secret: str) -> dict:
    return {"X-API-Key": api_key, "X-API-Secret": api_secret}


def bearer(client, api_key: str, api_secret: str) -> dict:
    response = client.post(f"{API}/auth/token",
                           json={"api_key": api_key, "api_secret": api_secret})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def pair_headers(pair) -> dict:
    return basic(pair.key.api_key, pair.secret)


# --- a module-wide app, for read-mostly modules that would otherwise rebuild it per test -----


def api_config(tmp_dir, **extra) -> dict:
    """The test app's config (as conftest's app_config) without the rate limits."""
    from tests.conftest import FERNET_KEY, database_url

    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        # no directory: an in-memory database, for an app that never touches it
        "SQLALCHEMY_DATABASE_URI": database_url(tmp_dir) if tmp_dir else "sqlite://",
        "WTF_CSRF_ENABLED": False,
        "SESSION_COOKIE_SECURE": False,
        "API_SECRET_HMAC_KEY": "test-hmac-key",
        "API_SECRET_FERNET_KEYS": FERNET_KEY,
        **NO_RATE_LIMITS,
        **extra,
    }


@contextmanager
def module_app(config: dict):
    """An app with a fresh database for a whole module, its context pushed, torn down after.

    A module that uses this must not also use the per-test `app` fixture: on PostgreSQL both
    share TEST_DATABASE_URL, and the per-test fixture drops the schema.
    """
    from tests.conftest import IsolatedClient, _drop_all, _reset_schema, assert_client_json_stored

    app = create_app(config)
    app.test_client_class = IsolatedClient
    with app.app_context():
        _reset_schema()
        try:
            yield app
            db.session.remove()
            assert_client_json_stored()
        finally:
            db.session.remove()
            if db.engine.dialect.name == "postgresql":
                _drop_all()
            db.engine.dispose()


@dataclass
class Tenants:
    """Two firms, each with an admin, a member and a working key."""

    firm: Firm
    admin: object
    member: object
    pair: object
    other_firm: Firm
    other_admin: object
    other_pair: object

    @property
    def headers(self) -> dict:
        return pair_headers(self.pair)

    @property
    def other_headers(self) -> dict:
        return pair_headers(self.other_pair)


def make_tenants() -> Tenants:
    """Seed two firms with users and keys (in the current app context)."""
    from tests.conftest import make_user

    firm = Firm(name="Alpha Accounting")
    other = Firm(name="Beta Books")
    db.session.add_all([firm, other])
    db.session.flush()
    admin = make_user(firm, "admin@alpha.example", "admin")
    member = make_user(firm, "member@alpha.example", "member")
    other_admin = make_user(other, "admin@beta.example", "admin")
    db.session.commit()
    return Tenants(
        firm=firm, admin=admin, member=member, pair=make_pair(firm, admin),
        other_firm=other, other_admin=other_admin, other_pair=make_pair(other, other_admin),
    )


# --- data -------------------------------------------------------------------------------------

CLIENT_BODY = {"name": "Northwind Traders", "client_initials": "nwt",
               "address_country_code": "EE"}


def new_client(firm, **overrides) -> Client:
    """A client of `firm`, created through the CRM service and committed."""
    client = crm.create_client(firm.id, ClientCreate(**{**CLIENT_BODY, **overrides}))
    db.session.commit()
    return client


def new_contact(firm, client, **overrides) -> Contact:
    data = {"client_id": client.id, "name": "Mari", "email": "mari@example.com", **overrides}
    contact = crm.create_contact(firm.id, ContactCreate(**data))
    db.session.commit()
    return contact


def bulk_clients(firm, count: int, *, name, created_at, updated_at, status="active") -> list:
    """Insert `count` clients directly (fast); name/created_at/updated_at are functions of i."""
    rows = [
        Client(
            firm_id=firm.id, name=name(i), client_initials="BK", address_country_code="EE",
            type="company", status=status(i) if callable(status) else status, fields={},
            created_at=created_at(i), updated_at=updated_at(i),
        )
        for i in range(count)
    ]
    db.session.add_all(rows)
    store_client_json(rows)
    db.session.commit()
    return rows


def row_counts() -> dict:
    """How many rows each CRM table holds: a create that fails must leave these unchanged."""
    db.session.expire_all()
    return {
        name: db.session.execute(select(func.count()).select_from(table)).scalar_one()
        for name, table in COUNTED.items()
    }


def assert_validation_error(response, status: int, field: str | None = None) -> dict:
    """The API's validation error shape, naming `field` in details when given."""
    assert response.status_code == status, (response.status_code, response.text)
    error = response.json["error"]
    assert error["code"] == ("UNSUPPORTED_MEDIA_TYPE" if status == 415 else "VALIDATION_ERROR")
    assert isinstance(error["message"], str) and error["message"]
    assert error["request_id"] == response.headers["X-Request-Id"]
    assert error["details"], error
    for item in error["details"]:
        assert set(item) == {"field", "message"} and item["message"], item
    if field is not None:
        fields = [item["field"] for item in error["details"]]
        assert field in fields, (field, fields)
    return error


def iso_z(value: datetime) -> str:
    return value.isoformat(timespec="seconds") + "Z"


# --- a real threaded HTTP server --------------------------------------------------------------


@contextmanager
def live_server(config: dict):
    """Serve an app built from `config` on 127.0.0.1 (a free port) in a thread of its own.

    The server's app has its own engine and app contexts; the test's context is never shared.
    """
    server_app = create_app(config)
    server = make_server("127.0.0.1", 0, server_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with server_app.app_context():
            # The diagnostics buffer's last write, while the database is still there.
            for name in ("api_traffic", "api_usage"):
                buffer = server_app.extensions.get(name)
                if buffer is not None and hasattr(buffer, "stop"):
                    buffer.stop()
            db.engine.dispose()
