"""Creating clients and contacts through the JSON API: 201 + Location + data, every validation
error (nothing written), and Idempotency-Key, also under parallel retries on a real server.

Failed creates write nothing, so one app and database serve the whole module; every test
compares row counts before and after.
"""

import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, update

from portal.accounts.models import Firm
from portal.crm import service as crm
from portal.crm.models import Client, Contact, IdempotencyRecord
from portal.diagnostics.models import ApiRequestLog
from portal.extensions import db
from portal.ids import utcnow
from tests.api_helpers import (
    API,
    api_config,
    assert_validation_error,
    live_server,
    make_pair,
    make_tenants,
    module_app,
    new_client,
    new_contact,
    pair_headers,
    row_counts,
)

CLIENT = {"name": "Northwind Traders", "client_initials": "nwt", "address_country_code": "EE"}
CLIENT_KEYS = {
    "id", "name", "client_initials", "address_country_code", "type", "status",
    "registration_code", "vat_number", "email", "phone", "fields", "group_ids", "contacts",
    "created_at", "updated_at",
}
CONTACT_KEYS = {
    "id", "client_id", "name", "surname", "email", "mobile_phone", "work_phone", "job_title",
    "birthday", "is_primary", "ext_contact_id", "created_at", "updated_at",
}
MIB = 1024 * 1024


class Seed:
    pass


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    return api_config(tmp_path_factory.mktemp("create"))


@pytest.fixture(scope="module")
def app(config):
    with module_app(config) as app:
        yield app


@pytest.fixture(scope="module")
def seed(app):
    s = Seed()
    t = s.tenants = make_tenants()
    firm, other = t.firm, t.other_firm
    s.group = crm.create_client_group(firm.id, "VIP")
    s.group2 = crm.create_client_group(firm.id, "Monthly")
    s.other_group = crm.create_client_group(other.id, "Beta group")
    for name, kind in (("employees", "number"), ("vip", "boolean"), ("year_end", "date"),
                       ("notes", "text")):
        crm.create_client_field(firm.id, name, name.title(), kind)
    crm.create_client_field(other.id, "beta_only", "Beta only", "text")
    db.session.commit()
    s.acme = new_client(firm, name="Acme")
    s.with_primary = new_client(firm, name="Has a primary contact")
    s.primary = new_contact(firm, s.with_primary, is_primary=True)
    s.other_client = new_client(other, name="Beta Client")

    # A firm with a required custom field.
    from tests.conftest import make_user

    gamma = Firm(name="Gamma Gauges")
    db.session.add(gamma)
    db.session.flush()
    gamma_admin = make_user(gamma, "admin@gamma.example", "admin")
    crm.create_client_field(gamma.id, "tax_id", "Tax id", "text", True)
    db.session.commit()
    s.gamma_pair = make_pair(gamma, gamma_admin)
    return s


@pytest.fixture
def post(client, seed):
    """POST JSON (or raw bytes) with firm A's key; returns the response."""

    def post(path, body=None, *, raw=None, content_type="application/json", headers=None):
        data = raw if raw is not None else json.dumps(body)
        return client.post(API + path, data=data, content_type=content_type,
                           headers={**seed.tenants.headers, **(headers or {})})

    return post


def refused(post, path, status, field=None, **kwargs) -> dict:
    """POST, expect a validation error naming `field`, and check that nothing was written."""
    before = row_counts()
    response = post(path, **kwargs)
    error = assert_validation_error(response, status, field)
    assert row_counts() == before
    return error


# --- success -------------------------------------------------------------------------------------


def test_create_client_answers_201_location_and_data(post, client, seed):
    before = row_counts()
    response = post("/clients", CLIENT)
    assert response.status_code == 201, response.text
    data = response.json["data"]
    assert set(response.json) == {"data"} and set(data) == CLIENT_KEYS
    assert response.headers["Location"] == f"{API}/clients/{data['id']}"
    assert data["client_initials"] == "NWT" and data["type"] == "company"
    assert data["status"] == "active" and data["fields"] == {} and data["group_ids"] == []
    assert data["contacts"] == [] and data["created_at"] == data["updated_at"]
    assert data["created_at"].endswith("Z")
    assert row_counts()["clients"] == before["clients"] + 1
    fetched = client.get(response.headers["Location"], headers=seed.tenants.headers)
    assert fetched.status_code == 200 and fetched.json == {"data": data}


def test_create_client_with_every_field(post, seed):
    body = {
        **CLIENT, "type": "private_person", "status": "inactive", "registration_code": "123",
        "vat_number": "EE100", "email": "Info@Example.com", "phone": "+372 5555 5555",
        "fields": {"employees": 12.5, "vip": True, "year_end": "2024-12-31", "notes": " hi "},
        "group_ids": [seed.group.id, seed.group2.id, seed.group.id],
    }
    response = post("/clients", body)
    assert response.status_code == 201, response.text
    data = response.json["data"]
    assert data["type"] == "private_person" and data["status"] == "inactive"
    assert data["registration_code"] == "123" and data["vat_number"] == "EE100"
    assert data["email"].lower() == "info@example.com" and data["phone"] == "+372 5555 5555"
    assert data["fields"] == {"employees": 12.5, "vip": True, "year_end": "2024-12-31",
                              "notes": "hi"}
    assert sorted(data["group_ids"]) == sorted([seed.group.id, seed.group2.id])


def test_blank_optional_strings_become_null(post):
    response = post("/clients", {**CLIENT, "vat_number": "  ", "email": "", "phone": None})
    assert response.status_code == 201, response.text
    data = response.json["data"]
    assert data["vat_number"] is None and data["email"] is None and data["phone"] is None


def test_create_contact_answers_201_and_touches_its_client(post, client, seed):
    before_client = client.get(f"{API}/clients/{seed.acme.id}", headers=seed.tenants.headers)
    body = {"client_id": seed.acme.id, "name": "Mari", "surname": "Maasikas",
            "email": "mari@example.com", "mobile_phone": "+372 5", "work_phone": "6",
            "job_title": "CFO", "birthday": "1990-02-28", "is_primary": False,
            "ext_contact_id": "crm-42"}
    response = post("/contacts", body)
    assert response.status_code == 201, response.text
    data = response.json["data"]
    assert set(data) == CONTACT_KEYS
    assert response.headers["Location"] == f"{API}/contacts/{data['id']}"
    assert {k: data[k] for k in body} == body
    after = client.get(f"{API}/clients/{seed.acme.id}", headers=seed.tenants.headers).json
    assert data["id"] in after["data"]["contacts"]
    assert after["data"]["updated_at"] >= before_client.json["data"]["updated_at"]
    fetched = client.get(response.headers["Location"], headers=seed.tenants.headers)
    assert fetched.json == {"data": data}


def test_first_primary_contact_is_accepted(post, seed):
    fresh = new_client(seed.tenants.firm, name="Fresh")
    response = post("/contacts", {"client_id": fresh.id, "name": "P", "email": "p@example.com",
                                  "is_primary": True})
    assert response.status_code == 201 and response.json["data"]["is_primary"] is True


@pytest.mark.parametrize("text", [
    "Ünïcödé 🚀🇪🇪 👩‍👩‍👧", "שלום עולם", "مرحبا بالعالم", "\u202eevil\u202c mixed עברית abc",
    "日本語のクライアント", "Z\u0301\u0327alg\u0336o",
])
def test_emoji_and_rtl_text_round_trip(post, client, seed, text):
    response = post("/clients", {**CLIENT, "name": text, "fields": {"notes": text}})
    assert response.status_code == 201, response.text
    fetched = client.get(response.headers["Location"], headers=seed.tenants.headers).json
    assert fetched["data"]["name"] == text and fetched["data"]["fields"]["notes"] == text
    contact = post("/contacts", {"client_id": fetched["data"]["id"], "name": text,
                                 "surname": text, "email": "rtl@example.com"})
    assert contact.status_code == 201, contact.text
    assert contact.json["data"]["name"] == text and contact.json["data"]["surname"] == text


def test_charset_parameter_is_fine(post):
    response = post("/clients", CLIENT, content_type="application/json; charset=utf-8")
    assert response.status_code == 201, response.text


def test_required_custom_field(client, seed):
    headers = pair_headers(seed.gamma_pair)
    before = row_counts()
    response = client.post(f"{API}/clients", json=CLIENT, headers=headers)
    assert_validation_error(response, 422, "fields.tax_id")
    response = client.post(f"{API}/clients", json={**CLIENT, "fields": {"tax_id": None}},
                           headers=headers)
    assert_validation_error(response, 422, "fields.tax_id")
    response = client.post(f"{API}/clients", json={**CLIENT, "fields": {"tax_id": "  "}},
                           headers=headers)
    assert_validation_error(response, 422, "fields.tax_id")
    assert row_counts() == before
    response = client.post(f"{API}/clients", json={**CLIENT, "fields": {"tax_id": "T-1"}},
                           headers=headers)
    assert response.status_code == 201 and response.json["data"]["fields"] == {"tax_id": "T-1"}


# --- validation errors: nothing written ----------------------------------------------------------


def _deep(levels: int) -> str:
    return '{"name": ' + "[" * levels + "]" * levels + "}"


CLIENT_ERRORS = [
    # unknown fields
    ("unknown-field", {**CLIENT, "colour": "red"}, "colour"),
    ("unknown-id", {**CLIENT, "id": "cli_x"}, "id"),
    ("unknown-created_at", {**CLIENT, "created_at": "2024-01-01T00:00:00Z"}, "created_at"),
    ("unknown-contacts", {**CLIENT, "contacts": []}, "contacts"),
    # missing required fields
    ("missing-name", {k: v for k, v in CLIENT.items() if k != "name"}, "name"),
    ("missing-initials", {k: v for k, v in CLIENT.items() if k != "client_initials"},
     "client_initials"),
    ("missing-country", {k: v for k, v in CLIENT.items() if k != "address_country_code"},
     "address_country_code"),
    ("null-name", {**CLIENT, "name": None}, "name"),
    # wrong types: numbers for strings, strings for booleans and numbers, objects, arrays
    ("number-name", {**CLIENT, "name": 123}, "name"),
    ("float-name", '{"name": 1e999, "client_initials": "AB", "address_country_code": "EE"}',
     "name"),
    ("bool-name", {**CLIENT, "name": True}, "name"),
    ("list-name", {**CLIENT, "name": ["a"]}, "name"),
    ("object-name", {**CLIENT, "name": {"a": 1}}, "name"),
    ("number-initials", {**CLIENT, "client_initials": 12}, "client_initials"),
    ("number-phone", {**CLIENT, "phone": 5551234}, "phone"),
    ("number-email", {**CLIENT, "email": 1}, "email"),
    ("bool-status", {**CLIENT, "status": True}, "status"),
    ("fields-list", {**CLIENT, "fields": ["employees"]}, "fields"),
    ("fields-string", {**CLIENT, "fields": "employees=1"}, "fields"),
    ("group_ids-string", {**CLIENT, "group_ids": "grp_x"}, "group_ids"),
    ("group_ids-number", {**CLIENT, "group_ids": [1]}, "group_ids.0"),
    # values
    ("empty-name", {**CLIENT, "name": ""}, "name"),
    ("blank-name", {**CLIENT, "name": "   "}, "name"),
    ("long-name", {**CLIENT, "name": "n" * 201}, "name"),
    ("long-initials", {**CLIENT, "client_initials": "ABCDE"}, "client_initials"),
    ("punctuated-initials", {**CLIENT, "client_initials": "A-B"}, "client_initials"),
    ("empty-initials", {**CLIENT, "client_initials": ""}, "client_initials"),
    ("unknown-country", {**CLIENT, "address_country_code": "XX"}, "address_country_code"),
    ("alpha3-country", {**CLIENT, "address_country_code": "EST"}, "address_country_code"),
    ("type", {**CLIENT, "type": "person"}, "type"),
    ("status", {**CLIENT, "status": "archived"}, "status"),
    ("email", {**CLIENT, "email": "not-an-email"}, "email"),
    ("long-vat", {**CLIENT, "vat_number": "v" * 65}, "vat_number"),
    ("nul-name", {**CLIENT, "name": "a\x00b"}, "name"),
    ("nul-note", {**CLIENT, "fields": {"notes": "\x00"}}, "fields.notes"),
    ("nul-key", {**CLIENT, "na\x00me": "x"}, "na\x00me"),
    ("too-many-groups", {**CLIENT, "group_ids": [f"grp_{i}" for i in range(101)]}, "group_ids"),
    # custom field values checked against their type
    ("field-unknown", {**CLIENT, "fields": {"colour": "red"}}, "fields.colour"),
    ("field-other-firm", {**CLIENT, "fields": {"beta_only": "x"}}, "fields.beta_only"),
    ("field-number-as-string", {**CLIENT, "fields": {"employees": "12"}}, "fields.employees"),
    ("field-number-as-bool", {**CLIENT, "fields": {"employees": True}}, "fields.employees"),
    ("field-number-infinite", '{"name": "A", "client_initials": "AB",'
     ' "address_country_code": "EE", "fields": {"employees": 1e999}}', "fields.employees"),
    ("field-boolean-as-string", {**CLIENT, "fields": {"vip": "true"}}, "fields.vip"),
    ("field-boolean-as-number", {**CLIENT, "fields": {"vip": 1}}, "fields.vip"),
    ("field-date-format", {**CLIENT, "fields": {"year_end": "31.12.2024"}}, "fields.year_end"),
    ("field-date-invalid", {**CLIENT, "fields": {"year_end": "2024-02-30"}}, "fields.year_end"),
    ("field-date-number", {**CLIENT, "fields": {"year_end": 20241231}}, "fields.year_end"),
    ("field-text-as-number", {**CLIENT, "fields": {"notes": 5}}, "fields.notes"),
    ("field-text-as-object", {**CLIENT, "fields": {"notes": {"a": 1}}}, "fields.notes"),
    ("field-text-too-long", {**CLIENT, "fields": {"notes": "x" * 1001}}, "fields.notes"),
    # groups must be the firm's own
    ("group-unknown", {**CLIENT, "group_ids": ["grp_nope"]}, "group_ids.0"),
]


@pytest.mark.parametrize(("body", "field"), [c[1:] for c in CLIENT_ERRORS],
                         ids=[c[0] for c in CLIENT_ERRORS])
def test_client_validation_errors_name_the_field(post, body, field):
    if isinstance(body, str):  # JSON that json.dumps would not write
        refused(post, "/clients", 422, field, raw=body.encode())
    else:
        refused(post, "/clients", 422, field, body=body)


def test_group_of_another_firm_is_like_a_missing_one(post, seed):
    error = refused(post, "/clients", 422, "group_ids.1",
                    body={**CLIENT, "group_ids": [seed.group.id, seed.other_group.id]})
    assert [d["field"] for d in error["details"]] == ["group_ids.1"]
    unknown = refused(post, "/clients", 422, "group_ids.0", body={**CLIENT,
                                                                  "group_ids": ["grp_nope"]})
    assert error["details"][0]["message"] == unknown["details"][0]["message"]


def test_every_problem_is_reported_at_once(post):
    error = refused(post, "/clients", 422, body={"colour": "red", "type": "x"})
    assert {d["field"] for d in error["details"]} >= {
        "name", "client_initials", "address_country_code", "type", "colour"}


def test_the_firms_own_rules_are_reported_with_the_schemas_problems(post, client, seed):
    """One answer lists every problem: the caller need not fix the schema's first to learn that
    a custom field or a group is wrong too."""
    body = {"client_initials": "AB", "address_country_code": "EE",
            "fields": {"colour": "red", "employees": "12"}, "group_ids": ["grp_nope"]}
    error = refused(post, "/clients", 422, body=body)
    assert {d["field"] for d in error["details"]} == {
        "name", "fields.colour", "fields.employees", "group_ids.0"}
    # A required custom field missing, with a schema problem beside it.
    before = row_counts()
    response = client.post(f"{API}/clients", json={**CLIENT, "type": "x"},
                           headers=pair_headers(seed.gamma_pair))
    details = assert_validation_error(response, 422)["details"]
    assert {d["field"] for d in details} == {"type", "fields.tax_id"}
    assert row_counts() == before


def test_a_problem_both_find_is_reported_once(post):
    error = refused(post, "/clients", 422, body={**CLIENT, "name": "", "group_ids": ["g" * 200]})
    fields = [d["field"] for d in error["details"]]
    assert sorted(fields) == ["group_ids.0", "name"]


def test_parts_are_read_as_the_schema_reads_them(post, seed):
    """Padded ids and field names are what the schema strips them to: not "no such group"."""
    body = {**CLIENT, "type": "x", "group_ids": [f" {seed.group.id} ", seed.other_group.id],
            "fields": {" employees ": 5}}
    error = refused(post, "/clients", 422, body=body)
    assert [d["field"] for d in error["details"]] == ["type", "group_ids.1"]


def test_parts_the_schema_refused_are_not_checked_again(post):
    """Too many groups or fields: the schema's one detail says so, and nothing is looked up for
    each of them (which a 1 MiB body could make a great many)."""
    many = [f"grp_{n}" for n in range(5000)]
    error = refused(post, "/clients", 422, body={**CLIENT, "type": "x", "group_ids": many})
    assert sorted(d["field"] for d in error["details"]) == ["group_ids", "type"]
    fields = {f"f{n}": 1 for n in range(5000)}
    error = refused(post, "/clients", 422, body={**CLIENT, "type": "x", "fields": fields})
    assert sorted(d["field"] for d in error["details"]) == ["fields", "type"]
    error = refused(post, "/clients", 422, body={**CLIENT, "type": "x", "fields": {"": 1}})
    assert [d["field"] for d in error["details"]].count("fields.") == 0


def test_a_contacts_client_is_checked_with_the_schemas_problems(post, seed):
    error = refused(post, "/contacts", 422, body={
        "client_id": seed.other_client.id, "name": "Mari", "email": "mari@"})
    assert {d["field"] for d in error["details"]} == {"email", "client_id"}
    error = refused(post, "/contacts", 422, body={
        "client_id": seed.with_primary.id, "email": "two@example.com", "is_primary": True})
    assert {d["field"] for d in error["details"]} == {"name", "is_primary"}


def test_missing_field_message(post):
    error = refused(post, "/clients", 422, "name", body={})
    assert {"field": "name", "message": "This field is required."} in error["details"]


def test_unknown_field_message(post):
    error = refused(post, "/clients", 422, "colour", body={**CLIENT, "colour": 1})
    assert error["details"] == [{"field": "colour", "message": "Unknown field."}]


def contact_errors(seed):
    base = {"client_id": seed.acme.id, "name": "Mari", "email": "mari@example.com"}
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    return [
        ("unknown-field", {**base, "phone": "1"}, "phone"),
        ("missing-client_id", {k: v for k, v in base.items() if k != "client_id"}, "client_id"),
        ("missing-name", {k: v for k, v in base.items() if k != "name"}, "name"),
        ("missing-email", {k: v for k, v in base.items() if k != "email"}, "email"),
        ("bool-as-string", {**base, "is_primary": "true"}, "is_primary"),
        ("bool-as-number", {**base, "is_primary": 1}, "is_primary"),
        ("bool-as-null", {**base, "is_primary": None}, "is_primary"),
        ("number-name", {**base, "name": 5}, "name"),
        ("number-surname", {**base, "surname": 5}, "surname"),
        ("number-client_id", {**base, "client_id": 5}, "client_id"),
        ("empty-client_id", {**base, "client_id": ""}, "client_id"),
        ("email", {**base, "email": "mari@"}, "email"),
        ("empty-email", {**base, "email": ""}, "email"),
        ("birthday-format", {**base, "birthday": "28.02.1990"}, "birthday"),
        ("birthday-invalid", {**base, "birthday": "1990-02-30"}, "birthday"),
        ("birthday-datetime", {**base, "birthday": "1990-02-28T00:00:00"}, "birthday"),
        ("birthday-number", {**base, "birthday": 19900228}, "birthday"),
        ("birthday-future", {**base, "birthday": tomorrow}, "birthday"),
        ("long-job-title", {**base, "job_title": "j" * 201}, "job_title"),
        ("nul-email", {**base, "email": "a\x00@example.com"}, "email"),
        ("unknown-client", {**base, "client_id": "cli_00000000000000000000"}, "client_id"),
        ("other-firms-client", {**base, "client_id": seed.other_client.id}, "client_id"),
        ("second-primary", {**base, "client_id": seed.with_primary.id, "is_primary": True},
         "is_primary"),
    ]


CONTACT_ERROR_IDS = [
    "unknown-field", "missing-client_id", "missing-name", "missing-email", "bool-as-string",
    "bool-as-number", "bool-as-null", "number-name", "number-surname", "number-client_id",
    "empty-client_id", "email", "empty-email", "birthday-format", "birthday-invalid",
    "birthday-datetime", "birthday-number", "birthday-future", "long-job-title", "nul-email",
    "unknown-client", "other-firms-client", "second-primary",
]


@pytest.mark.parametrize("case", CONTACT_ERROR_IDS)
def test_contact_validation_errors_name_the_field(post, seed, case):
    (body, field), = [c[1:] for c in contact_errors(seed) if c[0] == case]
    refused(post, "/contacts", 422, field, body=body)


def test_another_firms_client_reads_like_a_missing_one(post, seed):
    base = {"name": "Mari", "email": "mari@example.com"}
    other = refused(post, "/contacts", 422, "client_id",
                    body={**base, "client_id": seed.other_client.id})
    missing = refused(post, "/contacts", 422, "client_id",
                      body={**base, "client_id": "cli_00000000000000000000"})
    assert other["details"] == missing["details"]
    assert other["message"] == missing["message"]


def test_second_primary_contact_message(post, seed):
    error = refused(post, "/contacts", 422, "is_primary", body={
        "client_id": seed.with_primary.id, "name": "Two", "email": "two@example.com",
        "is_primary": True})
    assert "primary" in error["details"][0]["message"]
    # a non-primary second contact is fine
    response = post("/contacts", {"client_id": seed.with_primary.id, "name": "Two",
                                  "email": "two@example.com", "is_primary": False})
    assert response.status_code == 201


BODY_ERRORS = [
    # (id, raw body, content type, status)
    ("not-json", b"name=Northwind", "application/json", 400),
    ("empty", b"", "application/json", 400),
    ("truncated", b'{"name": "Northwind"', "application/json", 400),
    ("array", b"[]", "application/json", 400),
    ("string", b'"Northwind"', "application/json", 400),
    ("null", b"null", "application/json", 400),
    ("number", b"42", "application/json", 400),
    ("duplicate-keys", b'{"name": "A", "name": "B", "client_initials": "AB",'
     b' "address_country_code": "EE"}', "application/json", 400),
    ("duplicate-nested-keys", b'{"name": "A", "client_initials": "AB", "address_country_code":'
     b' "EE", "fields": {"notes": "a", "notes": "b"}}', "application/json", 400),
    ("nan", b'{"name": NaN}', "application/json", 400),
    ("infinity", b'{"name": "A", "fields": {"employees": Infinity}}', "application/json", 400),
    ("minus-infinity", b'{"fields": {"employees": -Infinity}}', "application/json", 400),
    ("nested-21", _deep(21).encode(), "application/json", 400),
    ("nested-100000", _deep(100_000).encode(), "application/json", 400),
    ("invalid-utf8", b'{"name": "\xff\xfe", "client_initials": "AB",'
     b' "address_country_code": "EE"}', "application/json", 400),
    ("latin1", '{"name": "Ämber", "client_initials": "AB", "address_country_code": "EE"}'
     .encode("latin-1"), "application/json", 400),
    ("lone-surrogate", b'{"name": "\\ud800", "client_initials": "AB",'
     b' "address_country_code": "EE"}', "application/json", 400),
    ("trailing-garbage", b'{"name": "A"} x', "application/json", 400),
    # more digits than Python reads as an int (4,300)
    ("number-of-5000-digits", b'{"fields": {"employees": 1' + b"0" * 5000 + b"}}",
     "application/json", 400),
    ("single-quotes", b"{'name': 'A'}", "application/json", 400),
    ("text-plain", json.dumps(CLIENT).encode(), "text/plain", 415),
    ("form", b"name=Northwind&client_initials=NW&address_country_code=EE",
     "application/x-www-form-urlencoded", 415),
    ("multipart", b"--x--", "multipart/form-data; boundary=x", 415),
    ("json-lookalike", json.dumps(CLIENT).encode(), "application/jsonx", 415),
    ("no-content-type", json.dumps(CLIENT).encode(), None, 415),
    ("over-1-mib", json.dumps({**CLIENT, "name": "x" * MIB}).encode(), "application/json",
     413),
    ("ten-mb-string", json.dumps({**CLIENT, "fields": {"notes": "x" * 10_000_000}}).encode(),
     "application/json", 413),
    ("ten-mb-not-json", b"x" * 10_000_000, "application/json", 413),
]


@pytest.mark.parametrize("path", ["/clients", "/contacts"])
@pytest.mark.parametrize(("raw", "content_type", "status"), [c[1:] for c in BODY_ERRORS],
                         ids=[c[0] for c in BODY_ERRORS])
def test_bodies_that_cannot_be_read(post, path, raw, content_type, status):
    field = "body" if status != 422 else None
    refused(post, path, status, field, raw=raw, content_type=content_type)


def test_duplicate_key_message_names_the_key(post):
    error = refused(post, "/clients", 400, "body", raw=b'{"name": "A", "name": "B"}')
    assert "'name'" in error["details"][0]["message"]


def test_just_under_one_mib_is_read(post):
    # the limit is on the body, and a body just under it is parsed (and its name refused)
    body = json.dumps({**CLIENT, "name": "x" * (MIB - 200)}).encode()
    assert len(body) < MIB
    refused(post, "/clients", 422, "name", raw=body)


def test_nested_twenty_levels_is_not_a_parse_error(post):
    refused(post, "/clients", 422, "name", raw=_deep(19).encode())


# --- Idempotency-Key ----------------------------------------------------------------------------


def _idem(key: str) -> dict:
    return {"Idempotency-Key": key}


def test_replay_returns_the_first_response_and_creates_nothing(post, client, seed):
    first = post("/clients", {**CLIENT, "name": "Replay Ltd"}, headers=_idem("replay-1"))
    assert first.status_code == 201
    before = row_counts()
    for _ in range(3):
        again = post("/clients", {**CLIENT, "name": "Replay Ltd"}, headers=_idem("replay-1"))
        assert again.status_code == 201
        assert again.json == first.json
        assert again.headers["Location"] == first.headers["Location"]
        assert again.headers.get("Idempotent-Replayed") == "true"
    assert row_counts() == before


def test_replay_of_a_contact(post, seed):
    body = {"client_id": seed.acme.id, "name": "Idem", "email": "idem@example.com"}
    first = post("/contacts", body, headers=_idem("contact-1"))
    before = row_counts()
    again = post("/contacts", body, headers=_idem("contact-1"))
    assert again.status_code == 201 and again.json["data"]["id"] == first.json["data"]["id"]
    assert row_counts() == before


def test_same_key_with_a_different_body_is_409(post):
    first = post("/clients", {**CLIENT, "name": "First"}, headers=_idem("reuse-1"))
    assert first.status_code == 201
    before = row_counts()
    response = post("/clients", {**CLIENT, "name": "Second"}, headers=_idem("reuse-1"))
    assert response.status_code == 409
    error = response.json["error"]
    assert error["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert error["request_id"] == response.headers["X-Request-Id"]
    # the same key on the other endpoint is a different request too
    response = post("/contacts", {**CLIENT, "name": "First"}, headers=_idem("reuse-1"))
    assert response.status_code in (409, 422)
    response = post("/contacts", {"client_id": "x", "name": "n", "email": "a@example.com"},
                    headers=_idem("reuse-1"))
    assert response.status_code == 409
    assert row_counts() == before


def test_a_replay_and_a_reused_key_are_recorded_without_waiting(post, caplog):
    """Their answers end the transaction that claimed the key: on SQLite its write lock made
    the log write (at once in tests, on a connection of its own) wait 15 s, then fail."""
    first = post("/clients", {**CLIENT, "name": "Logged"}, headers=_idem("logged-1"))
    assert first.status_code == 201
    started = time.monotonic()
    assert post("/clients", {**CLIENT, "name": "Logged"},
                headers=_idem("logged-1")).headers["Idempotent-Replayed"] == "true"
    reused = post("/clients", {**CLIENT, "name": "Other"}, headers=_idem("logged-1"))
    assert reused.status_code == 409
    assert "Could not record API request" not in caplog.text
    logged = db.session.execute(select(ApiRequestLog).filter_by(
        request_id=reused.headers["X-Request-Id"])).scalar_one()
    assert (logged.status, logged.reason) == (409, "IDEMPOTENCY_KEY_REUSED")
    assert time.monotonic() - started < 5


def test_the_same_key_in_another_firm_is_independent(client, seed):
    body = {**CLIENT, "name": "Shared key"}
    ours = client.post(f"{API}/clients", json=body,
                       headers={**seed.tenants.headers, **_idem("shared-key")})
    theirs = client.post(f"{API}/clients", json=body,
                         headers={**seed.tenants.other_headers, **_idem("shared-key")})
    assert ours.status_code == theirs.status_code == 201
    assert ours.json["data"]["id"] != theirs.json["data"]["id"]
    assert db.session.get(Client, theirs.json["data"]["id"]).firm_id == seed.tenants.other_firm.id


@pytest.mark.parametrize("key", ["k" * 256, "", "   ", "a\x00b", "tab\there", "\x7f"])
def test_bad_idempotency_keys_are_400(post, key):
    error = refused(post, "/clients", 400, "Idempotency-Key", body=CLIENT, headers=_idem(key))
    assert "Idempotency-Key" in error["message"]


def test_a_255_character_key_works(post):
    key = "k" * 255
    first = post("/clients", {**CLIENT, "name": "Long key"}, headers=_idem(key))
    assert first.status_code == 201
    again = post("/clients", {**CLIENT, "name": "Long key"}, headers=_idem(key))
    assert again.json["data"]["id"] == first.json["data"]["id"]


def _age(key: str, hours: float) -> None:
    db.session.execute(
        update(IdempotencyRecord).where(IdempotencyRecord.idempotency_key == key)
        .values(created_at=utcnow() - timedelta(hours=hours))
    )
    db.session.commit()


def test_after_24_hours_the_key_creates_again(post):
    body = {**CLIENT, "name": "Day old"}
    first = post("/clients", body, headers=_idem("day-old"))
    _age("day-old", 23.9)
    assert post("/clients", body, headers=_idem("day-old")).json == first.json
    _age("day-old", 24.1)
    before = row_counts()
    second = post("/clients", body, headers=_idem("day-old"))
    assert second.status_code == 201 and "Idempotent-Replayed" not in second.headers
    assert second.json["data"]["id"] != first.json["data"]["id"]
    assert row_counts()["clients"] == before["clients"] + 1
    assert row_counts()["idempotency_records"] == before["idempotency_records"]
    # and the new record is the one replayed from now on
    assert post("/clients", body, headers=_idem("day-old")).json == second.json


def test_after_24_hours_a_different_body_is_no_conflict(post):
    post("/clients", {**CLIENT, "name": "Old body"}, headers=_idem("day-old-2"))
    _age("day-old-2", 25)
    response = post("/clients", {**CLIENT, "name": "New body"}, headers=_idem("day-old-2"))
    assert response.status_code == 201 and response.json["data"]["name"] == "New body"


@pytest.mark.parametrize("bad", [
    {"raw": b"{not json"},
    {"body": {"name": "No initials"}},
    {"body": {**CLIENT, "group_ids": ["grp_nope"]}},  # refused by the CRM, inside the create
    {"body": CLIENT, "content_type": "text/plain"},
])
def test_a_failed_create_does_not_burn_the_key(post, bad):
    key = f"retry-after-fix-{json.dumps(bad, default=str)[:100]}"
    before = row_counts()
    assert post("/clients", headers=_idem(key), **bad).status_code in (400, 415, 422)
    assert row_counts() == before
    fixed = post("/clients", {**CLIENT, "name": "Fixed"}, headers=_idem(key))
    assert fixed.status_code == 201, fixed.text
    again = post("/clients", {**CLIENT, "name": "Fixed"}, headers=_idem(key))
    assert again.json["data"]["id"] == fixed.json["data"]["id"]


def test_a_failed_contact_create_does_not_burn_the_key(post, seed):
    body = {"client_id": seed.with_primary.id, "name": "P2", "email": "p2@example.com",
            "is_primary": True}
    assert post("/contacts", body, headers=_idem("primary-retry")).status_code == 422
    body["is_primary"] = False
    assert post("/contacts", body, headers=_idem("primary-retry")).status_code == 201


def test_creates_without_a_key_are_not_deduplicated(post):
    before = row_counts()
    first = post("/clients", {**CLIENT, "name": "Twice"})
    second = post("/clients", {**CLIENT, "name": "Twice"})
    assert first.json["data"]["id"] != second.json["data"]["id"]
    assert row_counts()["clients"] == before["clients"] + 2
    assert row_counts()["idempotency_records"] == before["idempotency_records"]


# --- parallel retries on a real server --------------------------------------------------------


def _send(base_url: str, path: str, body: bytes, headers: dict) -> tuple[int, dict, dict]:
    """One POST over a fresh connection; retries a 409 IDEMPOTENCY_IN_PROGRESS."""
    url = urlsplit(base_url)
    for _ in range(60):
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        try:
            connection.request("POST", API + path, body=body,
                               headers={"Content-Type": "application/json", **headers})
            response = connection.getresponse()
            status, payload = response.status, json.loads(response.read() or b"null")
            response_headers = dict(response.getheaders())
        finally:
            connection.close()
        in_progress = (status == 409
                       and payload["error"]["code"] == "IDEMPOTENCY_IN_PROGRESS")
        if not in_progress:
            return status, payload, response_headers
        assert int(response_headers["Retry-After"]) >= 1
        time.sleep(0.2)
    raise AssertionError("still in progress after a minute")


@pytest.fixture(scope="module")
def server(app, config, seed):
    db.session.commit()
    # Production-like: usage counts are buffered, not written on every request as in tests.
    with live_server({**config, "DIAGNOSTICS_FLUSH_SECONDS": 60}) as base_url:
        yield base_url


@pytest.mark.parametrize("parallel", [30])
def test_parallel_retries_create_exactly_one_client(server, seed, parallel):
    body = json.dumps({**CLIENT, "name": "Parallel Ltd"}).encode()
    headers = {**seed.tenants.headers, "Idempotency-Key": "parallel-1"}
    before = row_counts()
    db.session.commit()  # hold no transaction while the server writes
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        results = list(pool.map(lambda _: _send(server, "/clients", body, headers),
                                range(parallel)))
    statuses = [status for status, _, _ in results]
    assert statuses == [201] * parallel, statuses
    assert len({payload["data"]["id"] for _, payload, _ in results}) == 1
    assert len({h["Location"] for _, _, h in results}) == 1
    after = row_counts()
    assert after["clients"] == before["clients"] + 1
    assert after["idempotency_records"] == before["idempotency_records"] + 1
    (client_id,) = {payload["data"]["id"] for _, payload, _ in results}
    rows = db.session.execute(select(Client).where(Client.name == "Parallel Ltd")).scalars()
    assert [row.id for row in rows] == [client_id]


def test_parallel_retries_with_different_bodies(server, seed):
    """One body wins the key; the others are told the key was reused; never a 500."""
    headers = {**seed.tenants.headers, "Idempotency-Key": "parallel-2"}
    bodies = [json.dumps({**CLIENT, "name": f"Racer {i % 2}"}).encode() for i in range(20)]
    before = row_counts()
    db.session.commit()
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda b: _send(server, "/clients", b, headers), bodies))
    statuses = sorted(status for status, _, _ in results)
    assert set(statuses) <= {201, 409}, statuses
    winners = {payload["data"]["name"] for status, payload, _ in results if status == 201}
    assert len(winners) == 1
    assert all(payload["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
               for status, payload, _ in results if status == 409)
    assert row_counts()["clients"] == before["clients"] + 1


def test_parallel_primary_contacts_leave_one_primary(server, seed):
    fresh = new_client(seed.tenants.firm, name="Race for primary")
    bodies = [json.dumps({"client_id": fresh.id, "name": f"P{i}", "email": f"p{i}@example.com",
                          "is_primary": True}).encode() for i in range(20)]
    headers = seed.tenants.headers  # read here: the worker threads have no app context
    db.session.commit()
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda b: _send(server, "/contacts", b, headers), bodies))
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [201] + [422] * 19, statuses
    assert all(payload["error"]["details"][0]["field"] == "is_primary"
               for status, payload, _ in results if status == 422)
    primaries = db.session.execute(
        select(Contact).where(Contact.client_id == fresh.id, Contact.is_primary)).scalars()
    assert len(list(primaries)) == 1
