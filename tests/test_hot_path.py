"""The API's hot path: the key cache (and that revocation stays immediate), plain-row lists
that say exactly what the single-object endpoints say, and the rate-limit storage."""

import dataclasses
import sqlite3
import time
from contextlib import contextmanager

import pytest
from flask import current_app
from sqlalchemy import event, text

from portal.crm import service as crm
from portal.crm.schemas import ClientOut
from portal.extensions import db
from portal.limiter_storage import SWEEP_EVERY, LazyMemoryStorage
from portal.public_api import service
from portal.public_api.key_cache import KeyRowCache
from portal.public_api.models import ApiKey
from tests.api_helpers import API, make_pair, new_client, new_contact, pair_headers

PING = f"{API}/ping"


@pytest.fixture
def app_config(app_config):
    # Usage counts are flushed after every request in tests; here, as in production, they
    # wait (a flush is a commit, and any commit rightly makes the next request re-read keys).
    return {**app_config, "DIAGNOSTICS_FLUSH_SECONDS": 3600}


@pytest.fixture(autouse=True)
def traffic_written_before_teardown(app):
    """Write the waiting counts while this test's database still exists (not at exit)."""
    yield
    app.extensions["api_traffic"].stop()
    app.extensions["api_traffic"].flush()


@pytest.fixture
def pair(world):
    return make_pair(world.firm, world.admin)


@contextmanager
def statements():
    """The SQL statements the app sends meanwhile, through its engine or the thread's plain
    SQLite connection (portal/plain_reads.py)."""
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        sent.append(statement)

    connections = current_app.extensions.get("plain_connections")
    try:
        watcher = connections.current().open() if sqlite_path(current_app) else None
    except sqlite3.Error:  # a test made it unusable: reads go through the engine
        watcher = None
    event.listen(db.engine, "before_cursor_execute", record)
    if watcher is not None:
        watcher.set_trace_callback(sent.append)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
        if watcher is not None:
            watcher.set_trace_callback(None)


def key_reads(sent: list[str]) -> list[str]:
    return [s for s in sent if "FROM api_keys" in s]


def sqlite_path(app) -> str | None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    return uri.removeprefix("sqlite:///") if uri.startswith("sqlite:///") else None


def commit_elsewhere(app, sql: str, params=()) -> None:
    """A commit through a connection of its own, as another worker process would make."""
    connection = sqlite3.connect(sqlite_path(app))
    with connection:
        connection.execute(sql, params)
    connection.close()


def test_cache_is_installed_only_for_a_sqlite_file(app):
    cache = app.extensions.get("api_key_cache")
    if sqlite_path(app):
        assert isinstance(cache, KeyRowCache)
    else:
        # PostgreSQL has no cheap change counter: every request reads the key.
        assert cache is None


def test_a_quiet_database_serves_the_key_from_the_cache(app, client, pair):
    if not sqlite_path(app):
        pytest.skip("SQLite only: the cache needs PRAGMA data_version")
    headers = pair_headers(pair)
    for _ in range(2):  # the first use commits "last used", so the second reads the key again
        assert client.get(PING, headers=headers).status_code == 200
    with statements() as sent:
        for _ in range(3):
            assert client.get(PING, headers=headers).status_code == 200
    assert key_reads(sent) == []


def test_a_commit_by_another_process_makes_the_next_request_read_the_key(app, client, pair):
    if not sqlite_path(app):
        pytest.skip("SQLite only: the cache needs PRAGMA data_version")
    headers = pair_headers(pair)
    assert client.get(PING, headers=headers).status_code == 200
    # Deleted elsewhere (another gunicorn worker): the very next request must see it.
    commit_elsewhere(app, "UPDATE api_keys SET deleted_at = CURRENT_TIMESTAMP, "
                          "secret_digest = NULL WHERE id = ?", (pair.key.id,))
    with statements() as sent:
        response = client.get(PING, headers=headers)
    assert response.status_code == 401
    assert len(key_reads(sent)) == 1


def test_deactivation_elsewhere_is_seen_by_the_next_request(app, client, pair, world):
    if not sqlite_path(app):
        pytest.skip("SQLite only: the cache needs PRAGMA data_version")
    headers = pair_headers(pair)
    assert client.get(PING, headers=headers).status_code == 200
    commit_elsewhere(app, "UPDATE firms SET api_app_active = 0 WHERE id = ?", (world.firm.id,))
    response = client.get(PING, headers=headers)
    assert response.status_code == 401 and response.json["error"]["code"] == "API_APP_INACTIVE"


def test_revocation_in_the_portal_is_immediate(client, pair, world):
    """Through the app's own connections too (the usual path), on every backend."""
    headers = pair_headers(pair)
    assert client.get(PING, headers=headers).status_code == 200
    service.delete_key(db.session.get(ApiKey, pair.key.id), world.admin)
    db.session.commit()
    assert client.get(PING, headers=headers).status_code == 401


def test_an_expiry_passing_needs_no_write_to_take_effect(app, client, pair, monkeypatch):
    """The cache keeps rows, not verdicts: time passing is checked on every request."""
    key = db.session.get(ApiKey, pair.key.id)
    key.expires_on = crm.utcnow().date()
    db.session.commit()
    headers = pair_headers(pair)
    assert client.get(PING, headers=headers).status_code == 200
    from datetime import timedelta

    from portal.public_api import verification
    tomorrow = crm.utcnow() + timedelta(days=1)
    monkeypatch.setattr(verification, "utcnow", lambda: tomorrow)
    assert client.get(PING, headers=headers).status_code == 401


def test_unknown_keys_are_not_remembered(app, client, pair):
    if not sqlite_path(app):
        pytest.skip("SQLite only")
    cache = app.extensions["api_key_cache"]
    for i in range(5):
        client.get(PING, headers={"X-API-Key": f"{i:0>32}", "X-API-Secret": "s" * 48})
    client.get(PING, headers=pair_headers(pair))
    assert set(cache.connections.current().remembered["key_rows"]) == {pair.key.api_key}


def test_an_unreadable_change_counter_falls_back_to_reading_the_key(app, client, pair):
    if not sqlite_path(app):
        pytest.skip("SQLite only")
    cache = app.extensions["api_key_cache"]
    headers = pair_headers(pair)
    client.get(PING, headers=headers)
    state = cache.connections.current()
    state.path = "/nonexistent/dir/db.sqlite3"
    state.close()
    with statements() as sent:
        assert client.get(PING, headers=headers).status_code == 200
    assert len(key_reads(sent)) == 1


def test_threads_that_end_leave_no_connection_behind(app, pair):
    """The development server runs each request in a thread of its own."""
    import gc
    import threading

    if not sqlite_path(app):
        pytest.skip("SQLite only")
    cache = app.extensions["api_key_cache"]

    def look_up():
        with app.app_context():
            cache.lookup(pair.key.api_key, lambda _key: "row")

    for _ in range(20):
        thread = threading.Thread(target=look_up)
        thread.start()
        thread.join()
    gc.collect()
    assert len(cache.connections._states) <= 1


# --- lists: rows written as JSON by the database say what the single endpoints say ---------


def single_object_bytes(client, path: str, headers) -> bytes:
    """The object of a single-object answer, exactly as sent ({"data":<object>})."""
    body = client.get(path, headers=headers).get_data().rstrip(b"\n")
    assert body.startswith(b'{"data":') and body.endswith(b"}")
    return body[len(b'{"data":'):-1]


# Everything JSON must escape, and what it must not: quotes, backslash, control characters,
# DEL and U+2028 beside right-to-left text and an emoji.
RICH_NAME = 'Ωmega "ﺵركة" \\ a/b\tc\nd\x01e\x7ff\u2028g 😀'


def test_client_list_items_equal_the_single_client(client, pair, world):
    group_b = crm.create_client_group(world.firm.id, "Beta")
    group_a = crm.create_client_group(world.firm.id, "Alpha")
    for name, kind in (("employees", "number"), ("rate", "number"), ("founded", "date"),
                       ("vip", "boolean"), ("note", "text")):
        crm.create_client_field(world.firm.id, name, name.title(), kind)
    db.session.commit()
    rich = new_client(
        world.firm, name=RICH_NAME, group_ids=[group_b.id, group_a.id],
        fields={"employees": 12, "rate": 2.5, "founded": "2001-02-03", "vip": True,
                "note": 'line\ttab "quoted" ü'},
        email="a@b.example", vat_number="EE1",
    )
    new_contact(world.firm, rich, name="First", is_primary=True)
    new_contact(world.firm, rich, name="Second", email="second@example.com")
    new_client(world.firm, name="Plain")
    headers = pair_headers(pair)
    answer = client.get(f"{API}/clients?limit=100", headers=headers)
    listed = answer.json["data"]
    assert len(listed) == 2
    for item in listed:
        single = single_object_bytes(client, f"{API}/clients/{item['id']}", headers)
        # Alike byte for byte: the schema's field order, the same escapes, UTF-8 rather than
        # \u escapes, datetimes to the second with Z.
        assert single in answer.get_data()
        assert list(item) == list(ClientOut.model_fields)
    by_name = {item["name"]: item for item in listed}
    rich_item = by_name[RICH_NAME]
    assert rich_item["group_ids"] == [group_a.id, group_b.id]  # by group name
    assert len(rich_item["contacts"]) == 2
    assert rich_item["fields"]["vip"] is True and rich_item["fields"]["rate"] == 2.5
    assert rich_item["created_at"].endswith("Z") and len(rich_item["created_at"]) == 20
    assert by_name["Plain"]["group_ids"] == [] and by_name["Plain"]["contacts"] == []
    assert by_name["Plain"]["fields"] == {}


def test_contact_list_items_equal_the_single_contact(client, pair, world):
    owner = new_client(world.firm, name="Owner")
    new_contact(world.firm, owner, name="Ann", birthday="1990-02-03", job_title="CFO",
                is_primary=True)
    new_contact(world.firm, owner, name="Bob", email="bob@example.com")
    headers = pair_headers(pair)
    answer = client.get(f"{API}/contacts", headers=headers)
    listed = answer.json["data"]
    assert len(listed) == 2
    for item in listed:
        assert single_object_bytes(client, f"{API}/contacts/{item['id']}", headers) in (
            answer.get_data()
        )
    assert sorted(item["is_primary"] for item in listed) == [False, True]


def test_links_of_the_row_beyond_the_page_are_not_shown(client, pair, world):
    """The link queries select by the page's own query, which reads one row more."""
    for i in range(3):
        new_contact(world.firm, new_client(world.firm, name=f"C{i}"), name=f"P{i}")
    headers = pair_headers(pair)
    page = client.get(f"{API}/clients?limit=2", headers=headers).json
    assert page["meta"]["has_more"] and len(page["data"]) == 2
    assert all(len(item["contacts"]) == 1 for item in page["data"])


def test_keys_and_list_pages_are_read_without_a_pooled_connection(app, client, pair, world):
    """The key's and the page's SELECTs run on the thread's plain connection
    (portal/plain_reads.py), on SQLite and on PostgreSQL."""
    new_client(world.firm, name="Owner")
    headers = pair_headers(pair)
    assert client.get(f"{API}/clients", headers=headers).status_code == 200  # last use written
    checkouts = []

    def checked_out(*args):
        checkouts.append(args)

    event.listen(db.engine, "checkout", checked_out)
    try:
        for path in ("/ping", "/clients", "/contacts", "/clients?q=own&sort=name"):
            assert client.get(API + path, headers=headers).status_code == 200
    finally:
        event.remove(db.engine, "checkout", checked_out)
    assert checkouts == []


def test_an_unusable_plain_connection_falls_back_to_the_session(app, client, pair, world,
                                                                 monkeypatch):
    if not sqlite_path(app):
        pytest.skip("SQLite only")
    owner = new_client(world.firm, name="Owner")
    new_contact(world.firm, owner, name="Ann")
    headers = pair_headers(pair)
    expected = [client.get(API + path, headers=headers).get_data()
                for path in ("/clients?limit=1", "/contacts")]

    def locked(*_args):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(app.extensions["plain_connections"], "fetch_all", locked)
    with statements() as sent:
        answers = [client.get(API + path, headers=headers) for path in ("/clients?limit=1",
                                                                         "/contacts")]
    assert [answer.get_data() for answer in answers] == expected
    assert any("FROM clients" in statement for statement in sent)


def broken_read(app):
    from portal.plain_reads import PlainQuery
    from portal.public_api.verification import KEY_BY_API_KEY

    query = PlainQuery(KEY_BY_API_KEY, db.engine.dialect)
    query.sql = query.sql.replace("api_keys", "no_such_table", 1)
    return query


def test_a_driver_error_in_an_autocommit_read_is_wrapped_as_sqlalchemy_wraps_it(app):
    """PostgreSQL's plain reads run on the driver's cursor; the 503 handler and the logs must
    still get SQLAlchemy's errors, and a healthy connection stays in the pool."""
    from sqlalchemy.exc import ProgrammingError

    from portal.plain_reads import PlainQuery, fetch_all
    from portal.public_api.verification import KEY_BY_API_KEY

    if app.extensions.get("autocommit_engine") is None:
        pytest.skip("PostgreSQL only: SQLite reads on its own connection")
    invalidated = []

    def on_invalidate(*args):
        invalidated.append(args)

    event.listen(db.engine, "invalidate", on_invalidate)
    try:
        with pytest.raises(ProgrammingError, match="no_such_table") as raised:
            fetch_all(broken_read(app), {"value": "k" * 32})
        assert raised.value.connection_invalidated is False and invalidated == []
        # The same pooled connection serves the next read.
        assert fetch_all(PlainQuery(KEY_BY_API_KEY, db.engine.dialect),
                         {"value": "k" * 32}) == []
    finally:
        event.remove(db.engine, "invalidate", on_invalidate)


def test_a_lost_connection_in_an_autocommit_read_is_dropped_from_the_pool(app, monkeypatch):
    from sqlalchemy.exc import DBAPIError

    from portal.plain_reads import fetch_all

    if app.extensions.get("autocommit_engine") is None:
        pytest.skip("PostgreSQL only: SQLite reads on its own connection")
    monkeypatch.setattr(db.engine.dialect, "is_disconnect", lambda *args: True)
    invalidated = []

    def on_invalidate(*args):
        invalidated.append(args)

    event.listen(db.engine, "invalidate", on_invalidate)
    try:
        with pytest.raises(DBAPIError) as raised:
            fetch_all(broken_read(app), {"value": "k" * 32})
    finally:
        event.remove(db.engine, "invalidate", on_invalidate)
    assert raised.value.connection_invalidated is True and len(invalidated) == 1


def server_connection(app):
    """The thread's plain connection to PostgreSQL, opened by a read."""
    if app.extensions.get("autocommit_engine") is None:
        pytest.skip("PostgreSQL only")
    return app.extensions["plain_connections"].current().open()


def test_the_plain_connection_to_postgresql_holds_no_transaction(app, client, pair):
    """Between reads it must not keep a snapshot open: that would hold back VACUUM and keep
    every later read on rows it has to skip."""
    import psycopg

    connection = server_connection(app)
    for path in ("/ping", "/clients"):
        assert client.get(API + path, headers=pair_headers(pair)).status_code == 200
        assert app.extensions["plain_connections"].current().open() is connection
        status = connection.info.transaction_status
        if status != psycopg.pq.TransactionStatus.IDLE:
            connection.close()  # its locks would block the teardown's DROP SCHEMA
        assert status == psycopg.pq.TransactionStatus.IDLE and connection.autocommit


def test_a_plain_connection_closed_by_the_server_is_replaced_before_use(app, client, pair):
    """A server restart or an idle timeout must not fail the next request."""
    connection = server_connection(app)
    backend = connection.info.backend_pid
    with db.engine.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": backend})
    assert client.get(f"{API}/ping", headers=pair_headers(pair)).status_code == 200
    replacement = app.extensions["plain_connections"].current().open()
    assert replacement is not connection and replacement.info.backend_pid != backend


def test_a_failed_plain_read_is_made_again_on_a_pooled_connection(app, client, pair,
                                                                   monkeypatch):
    """If the thread's connection fails mid-read (a server gone between the check and the
    read), the read is made through the pool, which reports a lasting problem as a 503."""
    import psycopg

    connection = server_connection(app)

    def lost(*_args):
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(connection, "execute", lost)
    checkouts = []

    def checked_out(*args):
        checkouts.append(args)

    event.listen(db.engine, "checkout", checked_out)
    try:
        answer = client.get(f"{API}/ping", headers=pair_headers(pair))
    finally:
        event.remove(db.engine, "checkout", checked_out)
    assert answer.status_code == 200 and checkouts
    assert connection.closed
    assert app.extensions["plain_connections"].current().open() is not connection


# --- the rate-limit storage -------------------------------------------------------------------


def test_lazy_storage_counts_within_a_window_and_restarts_after_it():
    storage = LazyMemoryStorage()
    assert [storage.incr("k", expiry=60) for _ in range(3)] == [1, 2, 3]
    assert storage.get("k") == 3 and storage.get_expiry("k") > time.time()
    storage.expirations["k"] = time.time() - 1  # the window has passed
    assert storage.get("k") == 0
    assert storage.incr("k", expiry=60) == 1


def test_lazy_storage_sweeps_counters_nobody_reads_again():
    storage = LazyMemoryStorage()
    for i in range(10):
        storage.incr(f"ip-{i}", expiry=60)
        storage.expirations[f"ip-{i}"] = time.time() - 1
    for _ in range(SWEEP_EVERY):
        storage.incr("busy", expiry=60)
    assert set(storage.storage) == {"busy"}


def test_lazy_storage_starts_no_timer_thread_per_hit():
    import threading

    storage = LazyMemoryStorage()
    time.sleep(0.05)  # MemoryStorage's one initial timer has run out
    before = threading.active_count()
    for _ in range(200):
        storage.incr("k", expiry=60)
    assert threading.active_count() == before


def test_the_app_uses_the_lazy_storage(app):
    from portal.extensions import limiter

    assert isinstance(limiter.limiter.storage, LazyMemoryStorage)


def test_a_rolled_key_after_its_grace_period_is_named_rolled_even_with_a_wrong_secret(
        client, pair, world):
    from datetime import timedelta

    from portal.public_api.controls import roll_key
    from portal.public_api.verification import AuthFailure, verify_credentials

    key = db.session.get(ApiKey, pair.key.id)
    roll_key(key, timedelta(0), world.admin)
    db.session.commit()
    wrong = ("x" if pair.secret[0] != "x" else "y") + pair.secret[1:]
    assert verify_credentials(pair.key.api_key, wrong).failure is AuthFailure.KEY_ROLLED
    assert verify_credentials(pair.key.api_key, pair.secret).failure is AuthFailure.KEY_ROLLED


def test_a_plain_key_read_equals_the_sessions_read(app, pair, world):
    """Keys are read as plain SQL (portal/plain_reads.py) with the same compiled query; every
    value must come out typed as SQLAlchemy types it (dates, datetimes, booleans)."""
    from datetime import timedelta

    from portal.public_api.verification import KEY_BY_API_KEY, read_key_row

    key = db.session.get(ApiKey, pair.key.id)
    now = crm.utcnow()
    key.last_used_at, key.retires_at = now, now + timedelta(hours=1)
    key.expires_on, key.ip_allowlist = now.date() + timedelta(days=9), "10.0.0.0/8"
    world.firm.api_read_limit, world.firm.api_write_limit = 120, 60
    db.session.commit()
    through_session = db.session.execute(KEY_BY_API_KEY, {"value": pair.key.api_key}).one()
    with statements() as sent:
        plain = read_key_row(pair.key.api_key)
    assert [*dataclasses.astuple(plain)[:-1], *dataclasses.astuple(plain.firm)] == list(
        through_session)
    assert plain.firm.api_app_active is True and plain.expires_on == key.expires_on
    assert plain.retires_at == key.retires_at and plain.saved_at is not None
    if sqlite_path(app):  # PostgreSQL's plain reads use the driver's cursor: no engine events
        assert len(key_reads(sent)) == 1


