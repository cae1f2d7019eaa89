"""The API's hot path: revocation is immediate (with SQLite's key cache too), lists say exactly
what the single-object endpoints say, and the rate-limit storage."""

import dataclasses
import sqlite3
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from portal import create_app
from portal.crm import service as crm
from portal.crm.schemas import ClientOut
from portal.extensions import db
from portal.limiter_storage import SWEEP_EVERY, LazyMemoryStorage
from portal.public_api import key_cache, service
from portal.public_api.models import ApiKey
from tests.api_helpers import (
    API,
    bearer,
    key_headers,
    make_pair,
    new_client,
    new_contact,
    pair_headers,
)

PING = f"{API}/ping"
PAGE = "/settings/apps/public-api"
# After a commit, each pooled connection reads the key once before it remembers it.
WARM_UP = 5


@pytest.fixture
def app_config(app_config, request, monkeypatch):
    """Traffic counts are written every 30 s, not after each request as elsewhere in the tests:
    a commit after every request would make every request read its key again. A test may add
    settings (indirect parametrization) and PORTAL_ environment variables ("env")."""
    extra = dict(getattr(request, "param", {}))
    for name, value in extra.pop("env", {}).items():
        monkeypatch.setenv(name, value)
    return {**app_config, "DIAGNOSTICS_FLUSH_SECONDS": 30, **extra}


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
    """The SQL statements the app sends meanwhile."""
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


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


def needs_the_cache(app) -> None:
    if not sqlite_path(app):
        pytest.skip("SQLite only: other backends read the key on every request")


def warm_up(client, headers) -> None:
    for _ in range(WARM_UP):
        assert client.get(PING, headers=headers).status_code == 200


@pytest.mark.parametrize("form", ["basic", "bearer"])
def test_a_key_nothing_changed_is_not_read_again(app, client, pair, form):
    needs_the_cache(app)
    headers = pair_headers(pair) if form == "basic" else bearer(
        client, pair.key.api_key, pair.secret)
    warm_up(client, headers)
    with statements() as sent:
        for _ in range(WARM_UP):
            assert client.get(PING, headers=headers).status_code == 200
    assert key_reads(sent) == []


def test_a_key_is_remembered_whichever_pooled_connection_is_probed(app, client, pair):
    """The pool hands out its connections in turn: a hit must not depend on getting the one
    that read the row before."""
    needs_the_cache(app)
    headers = pair_headers(pair)
    db.session.remove()
    held = [db.engine.connect() for _ in range(3)]
    for connection in held:
        connection.close()  # back in the pool: three connections, handed out in turn
    warm_up(client, headers)
    with statements() as sent:
        for _ in range(WARM_UP):
            assert client.get(PING, headers=headers).status_code == 200
    assert key_reads(sent) == []


@pytest.mark.parametrize("app_config", [
    {"API_KEY_CACHE": False}, {"env": {"PORTAL_API_KEY_CACHE": "0"}}], indirect=True)
def test_without_the_cache_every_ping_reads_its_key(client, pair):
    headers = pair_headers(pair)
    warm_up(client, headers)
    for _ in range(3):
        with statements() as sent:
            assert client.get(PING, headers=headers).status_code == 200
        assert len(key_reads(sent)) == 1


def test_a_probe_that_fails_falls_back_to_reading_the_key(app, client, pair, monkeypatch):
    needs_the_cache(app)
    headers = pair_headers(pair)
    warm_up(client, headers)
    monkeypatch.setattr(key_cache, "DATA_VERSION", "PRAGMA no_such_table.data_version")
    with statements() as sent:
        assert client.get(PING, headers=headers).status_code == 200
    assert len(key_reads(sent)) == 1


def test_an_unknown_key_is_not_remembered(app, client, pair):
    needs_the_cache(app)
    unknown = key_headers("Q" * 32, pair.secret)
    warm_up(client, pair_headers(pair))
    with statements() as sent:
        for _ in range(WARM_UP):
            assert client.get(PING, headers=unknown).status_code == 401
    # Authentication's read (the failure's log entry looks the key up on its own).
    assert len([s for s in sent if "FROM api_keys JOIN firms" in s]) == WARM_UP


def test_a_fresh_app_holds_no_pooled_connection(app_config):
    """gunicorn forks its workers before they load the app; even with --preload, a child gets
    no connection (and so no remembered key rows) from its parent."""
    fresh = create_app(app_config)
    with fresh.app_context():
        assert db.engine.pool.checkedin() == 0 and db.engine.pool.checkedout() == 0


# Changed through the portal: a commit on a pooled connection, whose own data_version does not
# change. Every pooled connection has the key remembered, and each is used by one of the
# requests after the change.
PORTAL_CHANGES = {
    "deleted": (lambda key: (f"{PAGE}/keys/{key.id}/delete", {}), "get", 401),
    "deactivated": (lambda key: (f"{PAGE}/deactivate", {}), "get", 401),
    "allow-list": (lambda key: (f"{PAGE}/keys/{key.id}/settings", {
        "scope": "read_write", "expires_on": "", "ip_allowlist": "203.0.113.7"}), "get", 403),
    "read scope": (lambda key: (f"{PAGE}/keys/{key.id}/settings", {
        "scope": "read", "expires_on": "", "ip_allowlist": ""}), "post", 403),
}


@pytest.mark.parametrize("change", PORTAL_CHANGES)
def test_a_change_in_the_portal_is_seen_by_every_next_request(admin_client, pair, change):
    form, method, refused = PORTAL_CHANGES[change]
    headers = pair_headers(pair)
    call = {"get": lambda: admin_client.get(PING, headers=headers),
            "post": lambda: admin_client.post(f"{API}/clients", json={}, headers=headers)}[method]
    warm_up(admin_client, headers)
    assert call().status_code != refused
    url, data = form(pair.key)
    assert admin_client.post(url, data=data).status_code in (200, 302)
    assert [call().status_code for _ in range(WARM_UP)] == [refused] * WARM_UP


def test_a_commit_by_another_process_makes_the_next_request_read_the_key(app, client, pair):
    needs_the_cache(app)
    headers = pair_headers(pair)
    warm_up(client, headers)
    # Deleted elsewhere (another gunicorn worker): the very next request must see it.
    commit_elsewhere(app, "UPDATE api_keys SET deleted_at = CURRENT_TIMESTAMP, "
                          "secret_digest = NULL WHERE id = ?", (pair.key.id,))
    with statements() as sent:
        assert [client.get(PING, headers=headers).status_code
                for _ in range(WARM_UP)] == [401] * WARM_UP
    assert len(key_reads(sent)) >= 1


def test_deactivation_elsewhere_is_seen_by_the_next_request(app, client, pair, world):
    needs_the_cache(app)
    headers = pair_headers(pair)
    warm_up(client, headers)
    commit_elsewhere(app, "UPDATE firms SET api_app_active = 0 WHERE id = ?", (world.firm.id,))
    for _ in range(WARM_UP):
        response = client.get(PING, headers=headers)
        assert response.status_code == 401
        assert response.json["error"]["code"] == "API_APP_INACTIVE"


def test_revocation_in_the_portal_is_immediate(client, pair, world):
    """On every backend."""
    headers = pair_headers(pair)
    assert client.get(PING, headers=headers).status_code == 200
    service.delete_key(db.session.get(ApiKey, pair.key.id), world.admin)
    db.session.commit()
    assert client.get(PING, headers=headers).status_code == 401


def test_an_expiry_passing_needs_no_write_to_take_effect(app, client, pair, monkeypatch):
    """Time passing is checked on every request."""
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


# --- lists say what the single endpoints say -------------------------------------------


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


def test_a_listed_client_follows_its_contacts_groups_and_fields(client, pair, world):
    group = crm.create_client_group(world.firm.id, "Monthly")
    field = crm.create_client_field(world.firm.id, "employees", "Employees", "number")
    db.session.commit()
    made = new_client(world.firm, group_ids=[group.id], fields={"employees": 4})
    contact = new_contact(world.firm, made, name="Ann")
    headers = pair_headers(pair)
    (item,) = client.get(f"{API}/clients", headers=headers).json["data"]
    assert item["contacts"] == [contact.id] and item["group_ids"] == [group.id]
    crm.delete_client_group(db.session.get(type(group), group.id))
    crm.delete_client_field(db.session.get(type(field), field.id))
    db.session.commit()
    (item,) = client.get(f"{API}/clients", headers=headers).json["data"]
    assert item["group_ids"] == [] and item["fields"] == {}
    assert single_object_bytes(client, f"{API}/clients/{made.id}", headers) in client.get(
        f"{API}/clients", headers=headers).get_data()


def test_links_of_the_row_beyond_the_page_are_not_shown(client, pair, world):
    """The link queries select by the page's own query, which reads one row more."""
    for i in range(3):
        new_contact(world.firm, new_client(world.firm, name=f"C{i}"), name=f"P{i}")
    headers = pair_headers(pair)
    page = client.get(f"{API}/clients?limit=2", headers=headers).json
    assert page["meta"]["has_more"] and len(page["data"]) == 2
    assert all(len(item["contacts"]) == 1 for item in page["data"])


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


def test_a_key_row_holds_every_value_typed(app, pair, world):
    """The request's KeyRow holds what the ORM holds: dates, datetimes, booleans, limits."""
    from datetime import timedelta

    from portal.public_api.verification import read_key_row

    key = db.session.get(ApiKey, pair.key.id)
    now = crm.utcnow()
    key.last_used_at, key.retires_at = now, now + timedelta(hours=1)
    key.expires_on, key.ip_allowlist = now.date() + timedelta(days=9), "10.0.0.0/8"
    world.firm.api_read_limit, world.firm.api_write_limit = 120, 60
    db.session.commit()
    row = read_key_row(pair.key.api_key)
    assert dataclasses.asdict(row) == {
        **{name: getattr(key, name) for name in dataclasses.asdict(row) if name != "firm"},
        "firm": {name: getattr(world.firm, name) for name in dataclasses.asdict(row.firm)},
    }
    assert row.firm.api_app_active is True and row.expires_on == key.expires_on
    assert row.retires_at == key.retires_at and row.saved_at is not None


