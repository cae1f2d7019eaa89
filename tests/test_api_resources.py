"""Reading through the JSON API: list envelopes, every list parameter, filters, sorts, keyset
pagination over 1,000 rows, members without password data, reference lists, GET one / 404.

The data is read-only, so one app and database serve the whole module.
"""

import base64
import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from portal.accounts.models import Firm
from portal.crm import service as crm
from portal.crm.models import Client, ClientGroup, Contact
from portal.crm.serializers import store_client_json
from portal.extensions import db
from tests.api_helpers import (
    API,
    api_config,
    assert_validation_error,
    bulk_clients,
    iso_z,
    make_pair,
    make_tenants,
    module_app,
    new_client,
    new_contact,
    pair_headers,
)

CLIENT_KEYS = {
    "id", "name", "client_initials", "address_country_code", "type", "status",
    "registration_code", "vat_number", "email", "phone", "fields", "group_ids", "contacts",
    "created_at", "updated_at",
}
CONTACT_KEYS = {
    "id", "client_id", "name", "surname", "email", "mobile_phone", "work_phone", "job_title",
    "birthday", "is_primary", "ext_contact_id", "created_at", "updated_at",
}
MEMBER_KEYS = {"id", "name", "email", "role", "status"}
GROUP_KEYS = {"id", "name", "created_at"}
FIELD_KEYS = {"id", "name", "title", "type", "required", "created_at"}
LISTS = ("/clients", "/contacts", "/members", "/client-groups", "/client-fields")
BULK = 1000
T0 = datetime(2024, 1, 10, 8, 0, 0)


class Seed:
    """What the module's database holds; ids are filled in by the `seed` fixture."""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    # Diagnostics off: it writes a row per failed request, and hundreds of these fail on
    # purpose (tests/test_diagnostics*.py cover it).
    config = api_config(tmp_path_factory.mktemp("resources"), DIAGNOSTICS_ENABLED=False)
    with module_app(config) as app:
        yield app


@pytest.fixture(scope="module")
def seed(app):
    s = Seed()
    t = s.tenants = make_tenants()
    firm, other = t.firm, t.other_firm
    from tests.conftest import make_user

    s.gone = make_user(firm, "gone@alpha.example", "member")
    s.gone.is_active_member = False
    s.support = make_user(None, "support@uku.example", "member", support=True)
    db.session.commit()

    s.groups = [crm.create_client_group(firm.id, name) for name in ("VIP", "Monthly")]
    s.fields = [
        crm.create_client_field(firm.id, "employees", "Employees", "number"),
        crm.create_client_field(firm.id, "year_end", "Year end", "date", required=False),
    ]
    db.session.commit()

    times = {}

    def client(name, status, created, updated, **extra):
        row = new_client(firm, name=name, status=status, **extra)
        times[row.id] = (created, updated)
        return row

    s.alder = client("Alder Ltd", "active", T0, T0 + timedelta(days=120),
                     group_ids=[s.groups[0].id], fields={"employees": 12})
    s.birch = client("birch & Co", "inactive", T0 + timedelta(days=31), T0 + timedelta(days=31))
    s.cedar = client("Cedar 100%_done", "active", T0 + timedelta(days=60),
                     T0 + timedelta(days=61))
    s.elan = client("Élan Zürich", "active", T0 + timedelta(days=91), T0 + timedelta(days=170))
    s.annex = client("alder annex", "inactive", T0 + timedelta(days=91), T0 + timedelta(days=91))
    s.twins = [client("Twin", "active", T0 + timedelta(days=200), T0 + timedelta(days=200))
               for _ in range(3)]
    s.clients = [s.alder, s.birch, s.cedar, s.elan, s.annex, *s.twins]

    s.mari = new_contact(firm, s.alder, name="Mari", is_primary=True)
    s.jaan = new_contact(firm, s.alder, name="Jaan", email="jaan@example.com")
    s.kadri = new_contact(firm, s.cedar, name="Kadri", email="kadri@example.com")
    s.contacts = [s.mari, s.jaan, s.kadri]
    # Set after the contacts, since adding a contact touches its client's updated_at.
    for row in s.clients:
        row.created_at, row.updated_at = times[row.id]
    store_client_json(s.clients)
    db.session.commit()

    # The other firm has data of its own that must never show up.
    s.other_group = crm.create_client_group(other.id, "Beta group")
    s.other_field = crm.create_client_field(other.id, "beta_field", "Beta field")
    db.session.commit()
    s.other_client = new_client(other, name="Alder Beta")
    s.other_contact = new_contact(other, s.other_client, name="Mari Beta")

    # A third firm holds the 1,000 rows for the pagination walks.
    bulk_firm = Firm(name="Gamma Bulk")
    db.session.add(bulk_firm)
    db.session.flush()
    bulk_admin = make_user(bulk_firm, "admin@gamma.example", "admin")
    db.session.commit()
    s.bulk_pair = make_pair(bulk_firm, bulk_admin)
    s.bulk_firm_id = bulk_firm.id
    bulk_clients(
        bulk_firm, BULK,
        # Names repeat (ties) and differ in case only (collation); 20 of each.
        name=lambda i: ("client " if i % 2 else "Client ") + f"{i % 50:02d}",
        # Half the rows share a created_at with six others, half are distinct to the
        # microsecond, so ties straddle page boundaries and the cursor keeps precision.
        created_at=lambda i: (T0 + timedelta(minutes=i // 7) if i < BULK // 2
                              else T0 + timedelta(days=1, minutes=i, microseconds=i * 37)),
        # Only three distinct values: whole pages inside one tie.
        updated_at=lambda i: T0 + timedelta(days=i % 3),
        status=lambda i: "inactive" if i % 10 == 0 else "active",
    )
    return s


@pytest.fixture
def get(client, seed):
    """GET with firm A's key; returns the response."""

    def get(path, headers=None, **params):
        return client.get(API + path, query_string=params,
                          headers=headers or pair_headers(seed.tenants.pair))

    return get


def ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json["data"]]


# --- envelope and meta -------------------------------------------------------------------------


def test_list_envelope_and_default_meta(get, seed):
    response = get("/clients")
    assert response.status_code == 200
    assert set(response.json) == {"data", "meta"}
    assert response.json["meta"] == {"limit": 25, "has_more": False, "next_cursor": None}
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    items = response.json["data"]
    assert {item["id"] for item in items} == {c.id for c in seed.clients}
    assert all(set(item) == CLIENT_KEYS for item in items)


@pytest.mark.parametrize("path", LISTS)
def test_every_list_has_the_envelope(get, path):
    response = get(path)
    assert response.status_code == 200, response.text
    assert set(response.json) == {"data", "meta"} and isinstance(response.json["data"], list)
    assert set(response.json["meta"]) == {"limit", "has_more", "next_cursor"}


def test_limit_one_and_a_hundred(get, seed):
    response = get("/clients", limit=1)
    assert len(response.json["data"]) == 1
    meta = response.json["meta"]
    assert meta["limit"] == 1 and meta["has_more"] is True and isinstance(meta["next_cursor"], str)
    response = get("/clients", limit=100)
    assert response.json["meta"] == {"limit": 100, "has_more": False, "next_cursor": None}
    assert len(response.json["data"]) == len(seed.clients)


def test_default_limit_is_25(client, seed):
    response = client.get(f"{API}/clients", headers=pair_headers(seed.bulk_pair))
    assert len(response.json["data"]) == 25 and response.json["meta"]["limit"] == 25
    assert response.json["meta"]["has_more"] is True


def test_limit_equal_to_the_rows_left_has_no_next_page(get, seed):
    response = get("/clients", limit=len(seed.clients))
    assert response.json["meta"] == {"limit": len(seed.clients), "has_more": False,
                                     "next_cursor": None}


def test_client_output_values(get, seed):
    item = next(c for c in get("/clients").json["data"] if c["id"] == seed.alder.id)
    assert item == {
        "id": seed.alder.id, "name": "Alder Ltd", "client_initials": "NWT",
        "address_country_code": "EE", "type": "company", "status": "active",
        "registration_code": None, "vat_number": None, "email": None, "phone": None,
        "fields": {"employees": 12}, "group_ids": [seed.groups[0].id],
        "contacts": [seed.mari.id, seed.jaan.id],
        "created_at": iso_z(T0), "updated_at": iso_z(T0 + timedelta(days=120)),
    }


# --- bad parameters ------------------------------------------------------------------------------


def _cursor(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


BAD_PARAMS = [
    ("limit", "0"), ("limit", "101"), ("limit", "abc"), ("limit", "-1"), ("limit", "1.5"),
    ("limit", ""), ("limit", " 5"), ("limit", "²"), ("limit", "٣"), ("limit", "1e2"),
    ("limit", "9" * 400),
    ("cursor", "!!!"), ("cursor", ""), ("cursor", "bm90IGpzb24"), ("cursor", _cursor([1, 2])),
    ("cursor", _cursor({"a": 1})), ("cursor", _cursor(["created_at", None, "cli_x"])),
    ("cursor", _cursor(["created_at", {"t": "not a time"}, "cli_x"])),
    ("cursor", _cursor(["created_at", {"x": 1}, "cli_x"])),
    ("cursor", _cursor(["created_at", {"t": "2024-01-01T00:00:00"}, 5])),
    # a value of the wrong type for the sort: a string where a time belongs
    ("cursor", _cursor(["created_at", "2024-01-01", "cli_x"])),
    ("cursor", "\u00e9t\u00e9"),
    # nesting deep enough to exhaust the JSON decoder's stack; a cursor longer than any made
    ("cursor", base64.urlsafe_b64encode(b"[" * 1100).decode()),
    ("cursor", _cursor(["created_at", {"t": "2024-01-01T00:00:00"}, "cli_" + "x" * 5000])),
    ("sort", "size"), ("sort", "-size"), ("sort", "--name"), ("sort", ""), ("sort", "id"),
    ("created_since", "yesterday"), ("created_since", "2024-13-01"), ("created_since", ""),
    ("created_since", "0001-01-01T00:00:00+01:00"), ("created_since", "9999-12-31T23:59:59-01:00"),
    ("created_since", "2024-01-01T00:00:00+25:00"),
    ("q", ""), ("q", "   "), ("q", "x" * 201), ("q", "a\x00b"),
    ("nope", "1"), ("api_key", "x"), ("Limit", "5"),
]


@pytest.mark.parametrize("path", ["/clients", "/contacts"])
@pytest.mark.parametrize(("name", "value"), BAD_PARAMS,
                         ids=[f"{n}={v[:12]!r}" for n, v in BAD_PARAMS])
def test_bad_parameters_are_named(get, path, name, value):
    response = get(path, **{name: value})
    error = assert_validation_error(response, 400, name)
    assert name in error["message"]


@pytest.mark.parametrize("path", ["/members", "/client-groups", "/client-fields"])
def test_bad_parameters_of_reference_lists_are_named(get, path):
    # The same parser as above; a sample of each kind of mistake.
    for name, value in [("limit", "0"), ("limit", "101"), ("limit", "abc"), ("cursor", "!!!"),
                        ("sort", "size"), ("created_since", "yesterday"), ("q", ""),
                        ("nope", "1"), ("q", "a\x00b"),
                        ("cursor", base64.urlsafe_b64encode(b"[" * 1100).decode()),
                        ("created_since", "0001-01-01T00:00:00+01:00")]:
        assert_validation_error(get(path, **{name: value}), 400, name)


@pytest.mark.parametrize("path", ["/clients", "/contacts"])
@pytest.mark.parametrize("value", ["whenever", "2024-02-30", "0001-01-01T00:00:00+00:01"])
def test_bad_updated_since_is_named(get, path, value):
    assert_validation_error(get(path, updated_since=value), 400, "updated_since")


@pytest.mark.parametrize("path", ["/members", "/client-groups", "/client-fields"])
def test_reference_lists_have_no_updated_at(get, path):
    assert_validation_error(get(path, updated_since="2024-01-01"), 400, "updated_since")
    assert_validation_error(get(path, sort="updated_at"), 400, "sort")


@pytest.mark.parametrize(("path", "value"), [
    ("/clients", "deleted"), ("/clients", "ACTIVE"), ("/members", "blocked"),
    ("/contacts", "active"), ("/client-groups", "active"), ("/client-fields", "active"),
])
def test_bad_status_is_named(get, path, value):
    assert_validation_error(get(path, status=value), 400, "status")


@pytest.mark.parametrize("path", ["/clients", "/members", "/client-groups", "/client-fields"])
def test_client_id_is_only_a_contacts_filter(get, seed, path):
    assert_validation_error(get(path, client_id=seed.alder.id), 400, "client_id")


@pytest.mark.parametrize("path", LISTS)
def test_repeated_parameter_is_named(client, seed, path):
    for name in ["limit", "sort", "cursor", "q", "created_since"]:
        response = client.get(f"{API}{path}?{name}=1&{name}=2", headers=seed.tenants.headers)
        assert_validation_error(response, 400, name)


@pytest.mark.parametrize("path", LISTS)
def test_cursor_of_another_sort_is_refused(get, seed, path):
    cursor = get(path, limit=1, sort="name").json["meta"]["next_cursor"]
    assert cursor is not None
    assert get(path, limit=1, sort="name", cursor=cursor).status_code == 200
    assert_validation_error(get(path, limit=1, sort="created_at", cursor=cursor), 400, "cursor")
    assert_validation_error(get(path, limit=1, sort="-created_at", cursor=cursor), 400, "cursor")


def test_name_cursor_with_a_time_value_is_refused(get):
    cursor = _cursor(["name", {"t": "2024-01-01T00:00:00"}, "cli_x"])
    assert_validation_error(get("/clients", sort="name", cursor=cursor), 400, "cursor")


def test_contacts_client_id_must_look_like_an_id(get):
    assert_validation_error(get("/contacts", client_id=""), 400, "client_id")
    assert_validation_error(get("/contacts", client_id="c" * 65), 400, "client_id")
    assert_validation_error(get("/contacts", client_id="cli\x00x"), 400, "client_id")


def test_unknown_parameter_on_a_single_object_is_ignored(get, seed):
    # Single-object reads take no parameters; lists are where a typo would mislead.
    assert get(f"/clients/{seed.alder.id}").status_code == 200


# --- q, created_since, updated_since, status ---------------------------------------------------


@pytest.mark.parametrize(("q", "names"), [
    ("alder", {"Alder Ltd", "alder annex"}),
    ("  ALDER ", {"Alder Ltd", "alder annex"}),
    ("%", {"Cedar 100%_done"}),
    ("_", {"Cedar 100%_done"}),
    ("0%_", {"Cedar 100%_done"}),
    ("&", {"birch & Co"}),
    ("/", set()),  # the escape character itself is matched literally too
    ("Zürich", {"Élan Zürich"}),
    ("nothing like it", set()),
])
def test_q_searches_names_case_insensitively_and_literally(get, seed, q, names):
    response = get("/clients", q=q)
    assert {item["name"] for item in response.json["data"]} == names


def test_q_on_contacts_members_groups_fields(get, seed):
    assert {c["name"] for c in get("/contacts", q="RI").json["data"]} == {"Mari", "Kadri"}
    assert {m["email"] for m in get("/members", q="gone").json["data"]} == {"gone@alpha.example"}
    assert [g["name"] for g in get("/client-groups", q="vi").json["data"]] == ["VIP"]
    assert [f["name"] for f in get("/client-fields", q="year").json["data"]] == ["year_end"]


@pytest.mark.parametrize("since", [
    "2024-04-10", "2024-04-10T00:00:00", "2024-04-10T00:00:00Z", "2024-04-10T02:00:00+02:00",
    "2024-04-10T08:00:00Z", "2024-04-09T23:00:00-09:00",
])
def test_created_since_is_inclusive_and_time_zone_aware(get, seed, since):
    names = {item["name"] for item in get("/clients", created_since=since).json["data"]}
    assert names == {"Élan Zürich", "alder annex", "Twin"}


def test_created_since_after_a_row_excludes_it(get, seed):
    since = iso_z(T0 + timedelta(days=91, seconds=1))
    assert {c["name"] for c in get("/clients", created_since=since).json["data"]} == {"Twin"}


def test_created_since_with_a_plus_sign_sent_unencoded(client, seed):
    # "+02:00" in a raw query string arrives as " 02:00"; it is still understood.
    response = client.get(f"{API}/clients?created_since=2024-04-10T02:00:00+02:00",
                          headers=seed.tenants.headers)
    assert {c["name"] for c in response.json["data"]} == {"Élan Zürich", "alder annex", "Twin"}


def test_updated_since(get, seed):
    since = iso_z(T0 + timedelta(days=120))
    names = {item["name"] for item in get("/clients", updated_since=since).json["data"]}
    assert names == {"Alder Ltd", "Élan Zürich", "Twin"}


def test_filters_combine(get, seed):
    response = get("/clients", q="alder", status="inactive", created_since="2024-02-01")
    assert [item["name"] for item in response.json["data"]] == ["alder annex"]


def test_status_filter(get, seed):
    inactive = {item["id"] for item in get("/clients", status="inactive").json["data"]}
    assert inactive == {seed.birch.id, seed.annex.id}
    active = {item["id"] for item in get("/clients", status="active").json["data"]}
    assert active == {c.id for c in seed.clients} - inactive


# Every combination of sort, cursor and filters selects exactly the rows a query written out by
# hand with the same conditions selects.
SHAPE_FILTERS = {"q": "al", "created_since": iso_z(T0 + timedelta(days=31)),
                 "updated_since": iso_z(T0 + timedelta(days=61)), "status": "active"}


@pytest.mark.parametrize("sort", ["created_at", "-created_at", "name", "-name", "updated_at",
                                  "-updated_at"])
def test_every_list_shape_selects_what_the_orm_query_selects(get, seed, sort):
    import itertools

    from werkzeug.datastructures import MultiDict

    from portal.api.list_query import parse_list_params
    from portal.api.pagination import apply_keyset, encode_cursor
    from portal.api.resources import ClientListQuery

    column = sort.lstrip("-")
    start = _db_order(Client, seed.tenants.firm.id, getattr(Client, column),
                      sort.startswith("-"))[1]
    start_row = db.session.get(Client, start)
    cursor = encode_cursor(sort, getattr(start_row, column), start_row.id)
    names = [*SHAPE_FILTERS, "cursor"]
    for given in itertools.chain.from_iterable(
        itertools.combinations(names, n) for n in range(len(names) + 1)
    ):
        params = {name: SHAPE_FILTERS.get(name, cursor) for name in given}
        parsed = parse_list_params(MultiDict(params | {"sort": sort, "limit": "100"}),
                                   ClientListQuery)
        query = select(Client.id).where(Client.firm_id == seed.tenants.firm.id)
        if parsed.q:
            query = query.where(Client.name.icontains(parsed.q, autoescape=True))
        if parsed.created_since:
            query = query.where(Client.created_at >= parsed.created_since)
        if parsed.updated_since:
            query = query.where(Client.updated_at >= parsed.updated_since)
        if parsed.status:
            query = query.where(Client.status == parsed.status)
        expected = list(db.session.execute(apply_keyset(query, Client, parsed)).scalars())
        assert ids(get("/clients", sort=sort, limit=100, **params)) == expected, given


def test_contacts_of_one_client_with_a_cursor(get, seed):
    first = get("/contacts", client_id=seed.alder.id, limit=1)
    assert ids(first) == [seed.mari.id]
    rest = get("/contacts", client_id=seed.alder.id, limit=1,
               cursor=first.json["meta"]["next_cursor"])
    assert ids(rest) == [seed.jaan.id] and rest.json["meta"]["has_more"] is False


# --- sorts --------------------------------------------------------------------------------------


def _db_order(model, firm_id, column, descending=False) -> list[str]:
    """The database's own order for (column, id): the ground truth under its collation."""
    order = (column.desc(), model.id.desc()) if descending else (column, model.id)
    query = select(model.id).where(model.firm_id == firm_id).order_by(*order)
    return list(db.session.execute(query).scalars())


def _walk(get, path, **params) -> list[str]:
    """Every id of a list, following next_cursor; checks meta on the way."""
    seen, cursor = [], None
    for _ in range(10_000):
        response = get(path, **params, **({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.text
        meta = response.json["meta"]
        seen += [item["id"] for item in response.json["data"]]
        assert meta["has_more"] is (meta["next_cursor"] is not None)
        if not meta["has_more"]:
            return seen
        assert len(response.json["data"]) == meta["limit"]
        cursor = meta["next_cursor"]
    raise AssertionError("pagination did not end")


def test_sort_created_at_with_a_tie_broken_by_id(get, seed):
    tie = sorted([seed.elan.id, seed.annex.id])
    twins = sorted(t.id for t in seed.twins)
    expected = [seed.alder.id, seed.birch.id, seed.cedar.id, *tie, *twins]
    assert ids(get("/clients")) == expected
    assert ids(get("/clients", sort="created_at")) == expected
    assert ids(get("/clients", sort="-created_at")) == expected[::-1]
    assert _walk(get, "/clients", limit=1) == expected
    assert _walk(get, "/clients", limit=2, sort="-created_at") == expected[::-1]


def test_sort_updated_at(get, seed):
    expected = [c.id for c in sorted(seed.clients, key=lambda c: (c.updated_at, c.id))]
    assert ids(get("/clients", sort="updated_at")) == expected
    assert _walk(get, "/clients", limit=2, sort="updated_at") == expected


def test_sort_name_with_ties(get, seed):
    expected = _db_order(Client, seed.tenants.firm.id, Client.name)
    assert ids(get("/clients", sort="name")) == expected
    assert _walk(get, "/clients", limit=1, sort="name") == expected
    positions = sorted(expected.index(t.id) for t in seed.twins)
    assert positions == list(range(positions[0], positions[0] + 3))
    assert [expected[p] for p in positions] == sorted(t.id for t in seed.twins)


@pytest.mark.parametrize("path", ["/contacts", "/members", "/client-groups", "/client-fields"])
@pytest.mark.parametrize("sort", ["created_at", "-created_at", "name", "-name"])
def test_other_lists_sort_and_walk(get, seed, path, sort):
    everything = ids(get(path, sort=sort, limit=100))
    assert len(everything) == len(set(everything)) >= 2
    assert _walk(get, path, limit=1, sort=sort) == everything


def test_contacts_sort_updated_at(get, seed):
    expected = _db_order(Contact, seed.tenants.firm.id, Contact.updated_at)
    assert ids(get("/contacts", sort="updated_at")) == expected


def test_group_names_sort(get, seed):
    expected = _db_order(ClientGroup, seed.tenants.firm.id, ClientGroup.name)
    assert ids(get("/client-groups", sort="name")) == expected


# --- walking 1,000 rows -------------------------------------------------------------------------


@pytest.mark.parametrize(("sort", "limit"), [
    ("created_at", 100), ("-created_at", 100), ("name", 100), ("updated_at", 100),
    ("created_at", 33), ("name", 33), ("-created_at", 41), ("-name", 37), ("-updated_at", 100),
])
def test_walking_a_thousand_clients_loses_and_repeats_nothing(client, seed, sort, limit):
    headers = pair_headers(seed.bulk_pair)

    def get(path, **params):
        return client.get(API + path, query_string=params, headers=headers)

    walked = _walk(get, "/clients", limit=limit, sort=sort)
    assert len(walked) == BULK and len(set(walked)) == BULK
    column = getattr(Client, sort.lstrip("-"))
    assert walked == _db_order(Client, seed.bulk_firm_id, column, sort.startswith("-"))


def test_walking_with_a_filter(client, seed):
    headers = pair_headers(seed.bulk_pair)

    def get(path, **params):
        return client.get(API + path, query_string=params, headers=headers)

    walked = _walk(get, "/clients", limit=30, sort="name", status="inactive")
    expected = list(db.session.execute(
        select(Client.id).where(Client.firm_id == seed.bulk_firm_id, Client.status == "inactive")
        .order_by(Client.name, Client.id)
    ).scalars())
    assert len(expected) == BULK // 10 and walked == expected


def test_a_new_row_during_a_walk_does_not_shift_pages(client, seed, app):
    """Keyset pages: rows added before the cursor's position never repeat a row."""
    headers = pair_headers(seed.bulk_pair)
    first = client.get(f"{API}/clients", query_string={"limit": 50, "sort": "-created_at"},
                       headers=headers).json
    later = client.get(f"{API}/clients", headers=headers, query_string={
        "limit": 50, "sort": "-created_at", "cursor": first["meta"]["next_cursor"]}).json
    assert not {i["id"] for i in first["data"]} & {i["id"] for i in later["data"]}


# --- contacts, members, groups, fields -----------------------------------------------------------


def test_contacts_list_and_client_id_filter(get, seed):
    items = get("/contacts").json["data"]
    assert {c["id"] for c in items} == {c.id for c in seed.contacts}
    assert all(set(c) == CONTACT_KEYS for c in items)
    assert set(ids(get("/contacts", client_id=seed.alder.id))) == {seed.mari.id, seed.jaan.id}
    assert ids(get("/contacts", client_id=seed.cedar.id)) == [seed.kadri.id]
    assert ids(get("/contacts", client_id=seed.birch.id)) == []
    assert ids(get("/contacts", client_id="cli_doesnotexist")) == []
    # another firm's client is just as empty
    assert ids(get("/contacts", client_id=seed.other_client.id)) == []


def test_contacts_client_id_with_paging(get, seed):
    walked = _walk(get, "/contacts", limit=1, client_id=seed.alder.id)
    assert walked == sorted([seed.mari.id, seed.jaan.id],
                            key=lambda i: (db.session.get(Contact, i).created_at, i))


def test_contact_output_values(get, seed):
    item = get(f"/contacts/{seed.mari.id}").json["data"]
    assert set(item) == CONTACT_KEYS
    assert item["client_id"] == seed.alder.id and item["is_primary"] is True
    assert item["email"] == "mari@example.com" and item["birthday"] is None


def test_members_never_expose_password_data(get, seed):
    response = get("/members", limit=100)
    items = response.json["data"]
    assert all(set(item) == MEMBER_KEYS for item in items)
    assert {m["email"] for m in items} == {
        "admin@alpha.example", "member@alpha.example", "gone@alpha.example"}
    body = response.get_data(as_text=True)
    assert "password" not in body and "pbkdf2" not in body and "scrypt" not in body
    admin = next(m for m in items if m["email"] == "admin@alpha.example")
    assert admin == {"id": seed.tenants.admin.public_id, "name": "Admin",
                     "email": "admin@alpha.example", "role": "admin", "status": "active"}


def test_members_status_filter(get, seed):
    inactive = get("/members", status="inactive").json["data"]
    assert [m["email"] for m in inactive] == ["gone@alpha.example"]
    active = {m["email"] for m in get("/members", status="active").json["data"]}
    assert active == {"admin@alpha.example", "member@alpha.example"}


def test_client_groups_list(get, seed):
    items = get("/client-groups", sort="name").json["data"]
    assert all(set(g) == GROUP_KEYS for g in items)
    assert {g["name"] for g in items} == {"VIP", "Monthly"}
    assert {g["id"] for g in items} == {g.id for g in seed.groups}


def test_client_fields_list(get, seed):
    items = get("/client-fields").json["data"]
    assert [{k: f[k] for k in ("id", "name", "title", "type", "required")} for f in items] == [
        {"id": seed.fields[0].id, "name": "employees", "title": "Employees", "type": "number",
         "required": False},
        {"id": seed.fields[1].id, "name": "year_end", "title": "Year end", "type": "date",
         "required": False},
    ]
    assert all(set(f) == FIELD_KEYS for f in items)


# --- GET one ---------------------------------------------------------------------------------


def test_get_one_client_matches_the_list(get, seed):
    listed = next(c for c in get("/clients").json["data"] if c["id"] == seed.cedar.id)
    response = get(f"/clients/{seed.cedar.id}")
    assert response.status_code == 200 and response.json == {"data": listed}


def test_get_one_contact(get, seed):
    response = get(f"/contacts/{seed.kadri.id}")
    assert response.status_code == 200
    assert response.json["data"]["id"] == seed.kadri.id


@pytest.mark.parametrize("resource", ["clients", "contacts"])
@pytest.mark.parametrize("object_id", [
    "cli_00000000000000000000", "con_00000000000000000000", "1", "x" * 300, "%C3%A9",
    "%00", "a%00b", "null", "..%2F..",
])
def test_unknown_id_is_404_not_found(get, resource, object_id):
    response = get(f"/{resource}/{object_id}")
    assert response.status_code == 404, response.text
    error = response.json["error"]
    assert error["code"] == "NOT_FOUND" and error["request_id"] == response.headers["X-Request-Id"]
    # An integration reads about resources, not the portal's pages.
    assert error["message"].startswith("No such resource") and "page" not in error["message"]


def test_a_contact_id_is_not_a_client(get, seed):
    assert get(f"/clients/{seed.mari.id}").status_code == 404
    assert get(f"/contacts/{seed.alder.id}").status_code == 404


def test_ids_are_opaque_strings(get, seed):
    for item in get("/clients").json["data"]:
        assert isinstance(item["id"], str) and not item["id"].isdigit()
        assert item["id"].startswith("cli_") and len(item["id"]) == 24


@pytest.mark.parametrize("path", ["/clients", "/contacts", "/members", "/client-groups",
                                  "/client-fields"])
def test_each_list_refuses_exactly_what_its_reference_refuses(client, get, path):
    """The reference's parameters come from the model that checks them: its bounds, its enums
    and its names are what the list accepts."""
    document = client.get(f"{API}/openapi.json").json
    schemas = document["components"]["schemas"]
    params = {param["name"]: schemas.get(param["schema"].get("$ref", "").split("/")[-1],
                                         param["schema"])
              for param in document["paths"][path]["get"]["parameters"] if param["in"] == "query"}
    limit = params["limit"]
    assert get(path, limit=limit["maximum"]).status_code == 200
    assert get(path, limit=limit["maximum"] + 1).status_code == 400
    assert get(path, limit=limit["minimum"] - 1).status_code == 400
    assert get(path, q="x" * params["q"]["maxLength"]).status_code == 200
    assert get(path, q="x" * (params["q"]["maxLength"] + 1)).status_code == 400
    for sort in params["sort"]["enum"]:
        assert get(path, sort=sort).status_code == 200, sort
    assert get(path, sort="id").status_code == 400
    for name in ("status", "updated_since", "client_id"):
        given = {"status": "active", "updated_since": "2026-01-01", "client_id": "cli_x"}[name]
        answer = get(path, **{name: given})
        assert answer.status_code == (200 if name in params else 400), (name, answer.json)
