"""Faults: the database locked, unreachable or out of connections answers 503 (JSON with
Retry-After for the API, a friendly page for the portal) instead of a 500, and everything works
again once the database is back, without a restart. A crash in the middle of a create leaves
nothing half-written.

Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL: a lock is a second connection's
`BEGIN EXCLUSIVE` on SQLite and `LOCK TABLE` on PostgreSQL, and the app waits only briefly.
"""

import json
import logging
import socket
import sqlite3
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import OperationalError

from portal import create_app
from portal.accounts.models import Firm
from portal.crm import firm_data
from portal.crm import service as crm
from portal.extensions import db
from portal.public_api import views as public_api_views
from tests.api_helpers import API, make_pair, new_client, pair_headers, row_counts
from tests.conftest import IsolatedClient, make_user, session_of

CLIENT = {"name": "Northwind", "client_initials": "NW", "address_country_code": "EE"}
PAGE = "/settings/apps/public-api"
UNAVAILABLE = "The service is briefly unavailable. Please try again in a moment."
# How long the app waits for a lock before giving up: short, so a locked test is quick.
LOCK_WAIT_MS = 200


def is_sqlite(uri: str) -> bool:
    return uri.startswith("sqlite")


@pytest.fixture
def app_config(app_config, request):
    """The usual test config, waiting LOCK_WAIT_MS for a lock instead of SQLite's 15 s; a test
    may add settings (indirect parametrization)."""
    if is_sqlite(app_config["SQLALCHEMY_DATABASE_URI"]):
        options = {"connect_args": {"timeout": LOCK_WAIT_MS / 1000}}
    else:
        options = {"connect_args": {"options": f"-c lock_timeout={LOCK_WAIT_MS}"}}
    return {**app_config, "SQLALCHEMY_ENGINE_OPTIONS": options, **getattr(request, "param", {})}


@contextmanager
def database_locked(app, *, writes_only=False):
    """Hold a lock from a second connection: every access blocks, or (writes_only) writes."""
    db.session.remove()  # the test's own session must hold no lock or open transaction
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if is_sqlite(uri):
        connection = sqlite3.connect(uri.removeprefix("sqlite:///"), isolation_level=None)
        if not writes_only:
            # In WAL mode readers pass a writer's lock; exclusive locking mode shuts them out,
            # and it needs the app's pooled connections closed to take hold.
            db.engine.dispose()
            connection.execute("PRAGMA locking_mode=EXCLUSIVE")
        connection.execute("BEGIN IMMEDIATE" if writes_only else "BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()
        return
    engine = create_engine(uri)
    tables = ", ".join(table.name for table in db.metadata.sorted_tables)
    mode = "EXCLUSIVE" if writes_only else "ACCESS EXCLUSIVE"  # EXCLUSIVE still lets reads in
    try:
        with engine.connect() as connection:
            connection.execute(text(f"LOCK TABLE {tables} IN {mode} MODE"))
            yield
            connection.rollback()
    finally:
        engine.dispose()


def assert_api_unavailable(response) -> None:
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert response.is_json
    error = response.json["error"]
    assert error["code"] == "SERVICE_UNAVAILABLE" and error["message"] == UNAVAILABLE
    assert error["request_id"] == response.headers["X-Request-Id"]
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Cache-Control"] == "no-store"


def assert_page_unavailable(response) -> None:
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert response.mimetype == "text/html"
    assert UNAVAILABLE in response.text and "<h1>Unavailable</h1>" in response.text
    assert "Traceback" not in response.text and "OperationalError" not in response.text
    assert response.headers["Retry-After"] == "5"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def log_in_as(client, user) -> None:
    with client.session_transaction() as session:
        session.update(session_of(user))


def post_client(client, headers, body=None, **extra):
    return client.post(f"{API}/clients", data=json.dumps(body or CLIENT),
                       content_type="application/json", headers={**headers, **extra})


# --- locked ----------------------------------------------------------------------------------


def test_api_answers_503_while_the_database_is_locked_then_recovers(app, client, world):
    headers = pair_headers(make_pair(world.firm, world.admin))
    assert client.get(f"{API}/ping", headers=headers).status_code == 200
    before = row_counts()
    with database_locked(app):
        assert_api_unavailable(client.get(f"{API}/ping", headers=headers))
        assert_api_unavailable(client.get(f"{API}/clients", headers=headers))
        assert_api_unavailable(post_client(client, headers))
        assert_api_unavailable(post_client(client, headers, **{"Idempotency-Key": "k-1"}))
    assert row_counts() == before
    assert client.get(f"{API}/ping", headers=headers).status_code == 200
    created = post_client(client, headers, **{"Idempotency-Key": "k-1"})
    assert created.status_code == 201, created.text
    assert row_counts()["clients"] == before["clients"] + 1


@pytest.mark.parametrize("app_config", [{}, {"API_KEY_CACHE": False}], indirect=True,
                         ids=["key cache", "no key cache"])
def test_a_locked_database_is_waited_for_once_by_the_key_lookup(app, client, world):
    """The key cache's probe failing on a lock answers 503 at once: it does not try (and wait
    out the lock) again to read the key, so it costs what a plain read costs."""
    if not is_sqlite(app.config["SQLALCHEMY_DATABASE_URI"]):
        pytest.skip("SQLite only: the key cache is")
    headers = pair_headers(make_pair(world.firm, world.admin))
    attempts = []
    event.listen(db.engine, "do_connect", lambda *_args: attempts.append(1))
    with database_locked(app):  # closes the pooled connections: each use connects anew
        assert_api_unavailable(client.get(f"{API}/ping", headers=headers))
    # The key lookup, then the request log's own look-up of the key it could not record.
    assert len(attempts) == 2


def test_portal_shows_a_friendly_page_while_the_database_is_locked(app, client, world):
    log_in_as(client, world.admin)
    world.firm.api_app_active = True
    db.session.commit()
    firm_id = world.firm.id
    assert client.get(PAGE).status_code == 200
    with database_locked(app):
        assert_page_unavailable(client.get(PAGE))
        fragment = client.post(f"{PAGE}/deactivate", headers={"HX-Request": "true"})
        assert fragment.status_code == 503 and fragment.mimetype == "text/plain"
        assert fragment.text == UNAVAILABLE  # portal.js shows it in a banner
        anonymous = app.test_client()
        assert anonymous.get("/login").status_code == 200  # needs no database
        assert_page_unavailable(anonymous.post("/login", data={
            "email": "admin@alpha.example", "password": "whatever it is"}))
    assert client.get(PAGE).status_code == 200
    db.session.expire_all()
    assert db.session.get(Firm, firm_id).api_app_active is True  # not deactivated


def test_reads_go_on_while_writes_are_locked(app, client, world):
    """A lock on writes only: GET answers (its "last used" stamp waits), a create is 503."""
    headers = pair_headers(make_pair(world.firm, world.admin))
    new_client(world.firm, name="Acme")
    before = row_counts()
    with database_locked(app, writes_only=True):
        ping = client.get(f"{API}/ping", headers=headers)
        assert ping.status_code == 200, ping.text
        listed = client.get(f"{API}/clients", headers=headers)
        assert listed.status_code == 200 and len(listed.json["data"]) == 1
        assert_api_unavailable(post_client(client, headers))
    assert row_counts() == before
    assert post_client(client, headers).status_code == 201


def test_portal_503_after_the_user_was_already_loaded(client, world, monkeypatch):
    """The page is rendered as for a visitor: the user's rolled-back record is never read."""
    log_in_as(client, world.admin)

    def lost_connection(firm):
        raise OperationalError("SELECT ...", {}, sqlite3.OperationalError("disk I/O error"))

    monkeypatch.setattr(public_api_views.service, "live_keys", lost_connection)
    response = client.get(PAGE)
    assert_page_unavailable(response)
    assert 'class="whoami"' not in response.text
    monkeypatch.undo()
    assert client.get(PAGE).status_code == 200


# --- unreachable, dropped, exhausted ----------------------------------------------------------


def closed_port() -> int:
    """A loopback port nobody listens on: bound, read, released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_database_is_503_and_back_without_a_restart(app_config, tmp_path):
    sqlite_db = is_sqlite(app_config["SQLALCHEMY_DATABASE_URI"])
    missing = tmp_path / "not-yet" / "portal.sqlite3"
    unreachable = f"sqlite:///{missing}" if sqlite_db else (
        f"postgresql+psycopg://portal@127.0.0.1:{closed_port()}/portal?connect_timeout=2")
    app = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": unreachable})
    app.test_client_class = IsolatedClient
    client = app.test_client()
    with app.app_context():
        try:
            assert_api_unavailable(client.get(f"{API}/ping", headers={
                "X-API-Key": "a" * 32, "X-API-Secret": "b" * 48}))
            assert_page_unavailable(client.post("/login", data={
                "email": "a@b.example", "password": "whatever it is"}))
            assert client.get("/readyz").status_code == 503
            if not sqlite_db:
                return  # a PostgreSQL server coming back: test_dropped_connections_...
            missing.parent.mkdir()  # the volume is back
            db.create_all()
            firm = Firm(name="Alpha Accounting")
            db.session.add(firm)
            db.session.flush()
            pair = make_pair(firm, make_user(firm, "admin@alpha.example", "admin"))
            assert client.get("/readyz").status_code == 200
            assert client.get(f"{API}/ping", headers=pair_headers(pair)).status_code == 200
        finally:
            db.session.remove()
            db.engine.dispose()


def test_an_outage_logs_one_line_per_request_without_a_traceback(app_config, tmp_path, caplog):
    """The request recorder cannot look up the key a failed request named: it says so in one
    line with the cause; the traceback is for debugging only."""
    unreachable = (f"sqlite:///{tmp_path / 'not-yet' / 'portal.sqlite3'}"
                   if is_sqlite(app_config["SQLALCHEMY_DATABASE_URI"]) else
                   f"postgresql+psycopg://portal@127.0.0.1:{closed_port()}/portal")
    app = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": unreachable})
    caplog.set_level(logging.DEBUG, logger=app.logger.name)
    client = app.test_client()
    with app.app_context():
        try:
            for _ in range(3):
                assert_api_unavailable(client.get(f"{API}/ping", headers={
                    "X-API-Key": "a" * 32, "X-API-Secret": "b" * 48}))
            traffic = app.extensions["api_traffic"]
            with pytest.raises(OperationalError):
                traffic.add("key_1", "firm_1", 200, None)  # kept for the next try
            traffic._flush_logged()  # the background writer's next try
        finally:
            db.session.remove()
            db.engine.dispose()
    writer = [r for r in caplog.records if r.getMessage().startswith("Could not write")]
    assert [r.levelno for r in writer if r.exc_info is None] == [logging.WARNING]
    recorder = [r for r in caplog.records if r.getMessage().startswith("Could not record")]
    lines = [r for r in recorder if r.levelno == logging.WARNING]
    assert len(lines) == 3 and all("OperationalError" in r.getMessage() for r in lines)
    assert all(r.exc_info is None for r in lines)
    assert [r.levelno for r in recorder if r.exc_info] == [logging.DEBUG] * 3
    assert not [r for r in caplog.records if r.levelno > logging.DEBUG and r.exc_info]


def test_dropped_connections_are_replaced_before_use(app, client, world, monkeypatch):
    """A database restart kills every pooled connection; pool_pre_ping replaces them before
    use."""
    if is_sqlite(app.config["SQLALCHEMY_DATABASE_URI"]):
        pytest.skip("PostgreSQL only: SQLite has no server to restart")
    headers = pair_headers(make_pair(world.firm, world.admin))
    admin_id = world.admin.id
    assert client.get(f"{API}/ping", headers=headers).status_code == 200
    db.session.remove()
    killer = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with killer.connect() as connection:
            killed = connection.execute(text(
                # With a timeout, pg_terminate_backend waits until the backend has exited (as
                # after a restart): without it, the next request could race a dying backend.
                "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )).scalar_one()
    finally:
        killer.dispose()
    assert killed >= 1
    assert client.get(f"{API}/ping", headers=headers).status_code == 200
    log_in_as(client, db.session.get(type(world.admin), admin_id))
    assert client.get(PAGE).status_code == 200


def test_an_exhausted_connection_pool_is_503(app, app_config, world):
    """Every connection busy for longer than pool_timeout: 503, then fine once one is free."""
    headers = pair_headers(make_pair(world.firm, world.admin))
    options = {**app_config["SQLALCHEMY_ENGINE_OPTIONS"], "pool_size": 1, "max_overflow": 0,
               "pool_timeout": LOCK_WAIT_MS / 1000}
    small = create_app({**app_config, "SQLALCHEMY_ENGINE_OPTIONS": options})
    client = small.test_client()
    with small.app_context():
        try:
            assert client.get(f"{API}/ping", headers=headers).status_code == 200
            held = db.engine.connect()
            for path in ("/members", "/ping", "/clients"):
                assert_api_unavailable(client.get(API + path, headers=headers))
            held.close()
            for path in ("/members", "/ping", "/clients"):
                assert client.get(API + path, headers=headers).status_code == 200
        finally:
            db.engine.dispose()


# --- crashes mid-request ----------------------------------------------------------------------


def crash(*args, **kwargs):
    raise RuntimeError("crashed after the row was added")


def database_gone(*args, **kwargs):
    raise OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))


@pytest.mark.parametrize("failure, status", [(crash, 500), (database_gone, 503)])
@pytest.mark.parametrize("idempotency_key", [None, "retry-me"])
def test_a_crash_mid_create_leaves_no_half_created_client(client, world, monkeypatch,
                                                          failure, status, idempotency_key):
    headers = pair_headers(make_pair(world.firm, world.admin))
    group = crm.create_client_group(world.firm.id, "VIP")
    db.session.commit()
    body = {**CLIENT, "group_ids": [group.id]}
    extra = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    before = row_counts()
    # stored_client_out runs after create_client() inserted the client and its groups.
    monkeypatch.setattr(crm, "stored_client_out", failure)
    response = post_client(client, headers, body, **extra)
    assert response.status_code == status and response.is_json
    assert "Traceback" not in response.text and "crashed" not in response.text
    assert row_counts() == before
    monkeypatch.undo()
    retried = post_client(client, headers, body, **extra)
    assert retried.status_code == 201, retried.text
    after = row_counts()
    assert after["clients"] == before["clients"] + 1
    assert after["client_group_members"] == before["client_group_members"] + 1


@pytest.mark.parametrize("failure, status", [(crash, 500), (database_gone, 503)])
def test_a_crash_mid_create_leaves_no_half_created_contact(client, world, monkeypatch,
                                                           failure, status):
    headers = pair_headers(make_pair(world.firm, world.admin))
    owner = new_client(world.firm, name="Acme")
    body = {"client_id": owner.id, "name": "Anna", "email": "anna@example.com",
            "is_primary": True}
    updated_at = owner.updated_at
    before = row_counts()
    monkeypatch.setattr(crm, "contact_to_out", failure)
    response = client.post(f"{API}/contacts", json=body, headers=headers)
    assert response.status_code == status and response.is_json
    assert row_counts() == before
    db.session.expire_all()
    assert db.session.get(type(owner), owner.id).updated_at == updated_at  # rolled back too
    monkeypatch.undo()
    # The primary-contact slot was not left taken by a ghost row.
    assert client.post(f"{API}/contacts", json=body, headers=headers).status_code == 201


def test_a_crash_mid_form_leaves_no_half_created_group(client, world, monkeypatch):
    log_in_as(client, world.admin)
    before = row_counts()
    audit_before = db.session.execute(text("SELECT count(*) FROM audit_events")).scalar_one()
    def flush_then_crash(*args, **kwargs):
        db.session.flush()  # the group and its audit event are in the database's transaction
        raise RuntimeError("crashed after the flush")

    monkeypatch.setattr(firm_data, "flush_or_refuse", flush_then_crash)
    response = client.post("/settings/client-groups", data={"name": "VIP"})
    assert response.status_code == 500 and "Nothing was saved" in response.text
    assert row_counts() == before
    assert db.session.execute(text("SELECT count(*) FROM audit_events")).scalar_one() \
        == audit_before
