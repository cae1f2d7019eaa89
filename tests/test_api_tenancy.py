"""Tenant isolation on every endpoint: two firms, each with keys and data. Firm A's key with
firm B's ids answers 404 (422 for an id inside a create body) and changes nothing; lists never
include another firm's rows. Deactivating the app and deleting a key close every endpoint.
"""

import json

import pytest
from sqlalchemy import select

from portal.accounts.models import Firm
from portal.crm import service as crm
from portal.crm.models import Client, ClientField, ClientGroup, Contact
from portal.extensions import db
from portal.public_api import service
from portal.public_api.models import ApiKey
from tests.api_helpers import (
    API,
    api_config,
    assert_validation_error,
    basic,
    bearer,
    key_headers,
    make_tenants,
    module_app,
    new_client,
    new_contact,
    row_counts,
)

CLIENT = {"name": "Shared Name Ltd", "client_initials": "SN", "address_country_code": "EE"}
LISTS = ("/clients", "/contacts", "/members", "/client-groups", "/client-fields")
LIST_MODELS = {"/clients": Client, "/contacts": Contact, "/client-groups": ClientGroup,
               "/client-fields": ClientField}


class Data:
    """One firm's rows."""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with module_app(api_config(tmp_path_factory.mktemp("tenancy"))) as app:
        yield app


def _firm_data(firm) -> Data:
    d = Data()
    d.group = crm.create_client_group(firm.id, "Shared group")
    d.field = crm.create_client_field(firm.id, f"only_{firm.name.split()[0].lower()}",
                                      "Own field")
    db.session.commit()
    d.client = new_client(firm, name="Shared Name Ltd", group_ids=[d.group.id])
    d.contact = new_contact(firm, d.client, name="Shared Contact", is_primary=True)
    return d


@pytest.fixture(scope="module")
def tenants(app):
    t = make_tenants()
    t.a, t.b = _firm_data(t.firm), _firm_data(t.other_firm)
    return t


def _without_request_id(response) -> dict:
    body = json.loads(response.get_data())
    body["error"].pop("request_id")
    return body


def _snapshot(d: Data) -> dict:
    """What firm B's objects look like, to prove nothing changed."""
    db.session.expire_all()
    client = db.session.get(Client, d.client.id)
    return {
        "client": (client.name, client.updated_at, [g.id for g in client.groups],
                   [c.id for c in client.contacts], dict(client.fields)),
        "contact": db.session.get(Contact, d.contact.id).updated_at,
        "counts": row_counts(),
    }


# --- reads ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("resource", ["clients", "contacts"])
def test_another_firms_id_is_404_exactly_like_a_missing_one(client, tenants, resource):
    theirs = getattr(tenants.b, resource[:-1]).id
    ours = getattr(tenants.a, resource[:-1]).id
    headers = tenants.headers
    assert client.get(f"{API}/{resource}/{ours}", headers=headers).status_code == 200
    cross = client.get(f"{API}/{resource}/{theirs}", headers=headers)
    missing = client.get(f"{API}/{resource}/{theirs[:4]}{'0' * 20}", headers=headers)
    assert cross.status_code == missing.status_code == 404
    assert cross.json["error"]["code"] == "NOT_FOUND"
    assert _without_request_id(cross) == _without_request_id(missing)
    assert cross.headers.get("Content-Length") == missing.headers.get("Content-Length")
    # and the other way round
    back = client.get(f"{API}/{resource}/{ours}", headers=tenants.other_headers)
    assert back.status_code == 404


@pytest.mark.parametrize("path", LISTS)
def test_lists_hold_only_the_callers_firm(client, tenants, path):
    for headers, firm, other in ((tenants.headers, tenants.firm, tenants.other_firm),
                                 (tenants.other_headers, tenants.other_firm, tenants.firm)):
        response = client.get(f"{API}{path}", query_string={"limit": 100}, headers=headers)
        assert response.status_code == 200
        got = {item["id"] for item in response.json["data"]}
        assert got, path
        if path == "/members":
            from portal.accounts.models import User

            model = User
        else:
            model = LIST_MODELS[path]
        shown_id = model.public_id if path == "/members" else model.id
        own = set(db.session.execute(
            select(shown_id).where(model.firm_id == firm.id)).scalars())
        theirs = set(db.session.execute(
            select(shown_id).where(model.firm_id == other.id)).scalars())
        assert got == own and not got & theirs


@pytest.mark.parametrize("path", ["/clients", "/contacts", "/client-groups"])
def test_a_name_both_firms_use_finds_only_ones_own(client, tenants, path):
    response = client.get(f"{API}{path}", query_string={"q": "Shared"}, headers=tenants.headers)
    assert len(response.json["data"]) == 1


def test_filtering_contacts_by_another_firms_client_is_empty(client, tenants):
    response = client.get(f"{API}/contacts", query_string={"client_id": tenants.b.client.id},
                          headers=tenants.headers)
    assert response.status_code == 200 and response.json["data"] == []


def test_another_firms_cursor_shows_only_ones_own_rows(client, tenants):
    """A cursor is a position, not a permission: B's cursor used by A pages A's rows."""
    theirs = client.get(f"{API}/clients", query_string={"limit": 1},
                        headers=tenants.other_headers).json["meta"]
    new_client(tenants.other_firm, name="Second B client")
    cursor = client.get(f"{API}/clients", query_string={"limit": 1},
                        headers=tenants.other_headers).json["meta"]["next_cursor"]
    assert theirs is not None and cursor
    response = client.get(f"{API}/clients", query_string={"limit": 100, "cursor": cursor},
                          headers=tenants.headers)
    assert response.status_code == 200
    own = {c.id for c in db.session.execute(
        select(Client).where(Client.firm_id == tenants.firm.id)).scalars()}
    assert {item["id"] for item in response.json["data"]} <= own


def test_ping_names_the_callers_firm(client, tenants):
    assert client.get(f"{API}/ping", headers=tenants.headers).json["data"]["firm"] == \
        "Alpha Accounting"
    assert client.get(f"{API}/ping", headers=tenants.other_headers).json["data"]["firm"] == \
        "Beta Books"


def test_a_bearer_token_is_scoped_like_its_key(client, tenants):
    headers = bearer(client, tenants.pair.key.api_key, tenants.pair.secret)
    assert client.get(f"{API}/clients/{tenants.b.client.id}", headers=headers).status_code == 404
    assert client.get(f"{API}/clients/{tenants.a.client.id}", headers=headers).status_code == 200


# --- writes --------------------------------------------------------------------------------------


def test_contact_for_another_firms_client_is_refused_and_changes_nothing(client, tenants):
    before = _snapshot(tenants.b)
    body = {"client_id": tenants.b.client.id, "name": "Intruder", "email": "i@example.com"}
    response = client.post(f"{API}/contacts", json=body, headers=tenants.headers)
    assert_validation_error(response, 422, "client_id")
    # also as a primary contact (B's client already has one: the answer must not tell)
    response = client.post(f"{API}/contacts", json={**body, "is_primary": True},
                           headers=tenants.headers)
    error = assert_validation_error(response, 422, "client_id")
    assert [d["field"] for d in error["details"]] == ["client_id"]
    assert _snapshot(tenants.b) == before


def test_client_with_another_firms_group_or_field_is_refused(client, tenants):
    before = _snapshot(tenants.b)
    response = client.post(f"{API}/clients", headers=tenants.headers,
                           json={**CLIENT, "group_ids": [tenants.b.group.id]})
    assert_validation_error(response, 422, "group_ids.0")
    response = client.post(f"{API}/clients", headers=tenants.headers,
                           json={**CLIENT, "fields": {tenants.b.field.name: "x"}})
    assert_validation_error(response, 422, f"fields.{tenants.b.field.name}")
    assert _snapshot(tenants.b) == before


def test_creates_land_in_the_callers_firm(client, tenants):
    response = client.post(f"{API}/clients", json=CLIENT, headers=tenants.other_headers)
    assert response.status_code == 201
    created = db.session.get(Client, response.json["data"]["id"])
    assert created.firm_id == tenants.other_firm.id
    # A cannot see it
    assert client.get(response.headers["Location"], headers=tenants.headers).status_code == 404
    contact = client.post(f"{API}/contacts", headers=tenants.other_headers, json={
        "client_id": created.id, "name": "B person", "email": "b@example.com"})
    assert contact.status_code == 201
    assert db.session.get(Contact, contact.json["data"]["id"]).firm_id == tenants.other_firm.id
    assert client.get(contact.headers["Location"], headers=tenants.headers).status_code == 404


def test_idempotency_keys_never_replay_another_firms_response(client, tenants):
    body = {**CLIENT, "name": "Keyed"}
    theirs = client.post(f"{API}/clients", json=body,
                         headers={**tenants.other_headers, "Idempotency-Key": "same-key"})
    ours = client.post(f"{API}/clients", json=body,
                       headers={**tenants.headers, "Idempotency-Key": "same-key"})
    assert theirs.status_code == ours.status_code == 201
    assert "Idempotent-Replayed" not in ours.headers
    assert db.session.get(Client, ours.json["data"]["id"]).firm_id == tenants.firm.id
    # a different body under B's key is no conflict for A either
    other = client.post(f"{API}/clients", json={**body, "name": "Other"},
                        headers={**tenants.headers, "Idempotency-Key": "only-b-used-this"})
    assert other.status_code == 201


# --- deactivate / reactivate, delete: every endpoint ------------------------------------------


def endpoints(t) -> list[tuple[str, str, dict | None]]:
    """Every authenticated operation, with a body that would succeed."""
    return [
        ("GET", "/ping", None),
        ("GET", "/clients", None),
        ("GET", f"/clients/{t.a.client.id}", None),
        ("POST", "/clients", {**CLIENT, "name": "Closed door"}),
        ("GET", "/contacts", None),
        ("PATCH", f"/clients/{t.a.client.id}", {"phone": "+372 5555 0100"}),
        ("GET", f"/contacts/{t.a.contact.id}", None),
        ("PATCH", f"/contacts/{t.a.contact.id}", {"job_title": "Accountant"}),
        ("POST", "/contacts", {"client_id": t.a.client.id, "name": "Closed door",
                               "email": "closed@example.com"}),
        ("GET", "/members", None),
        ("GET", "/client-groups", None),
        ("GET", "/client-fields", None),
    ]


def test_every_documented_operation_is_in_the_list(client, tenants):
    paths = client.get(f"{API}/openapi.json").json["paths"]
    documented = {(method.upper(), path) for path, ops in paths.items() for method in ops
                  if ops[method].get("security") != []}
    listed = {(method, path.replace(tenants.a.client.id, "{client_id}")
               .replace(tenants.a.contact.id, "{contact_id}"))
              for method, path, _ in endpoints(tenants)}
    assert documented == listed


def _call(client, method, path, body, headers):
    if method == "PATCH":
        headers = {**headers, "If-Match": "*"}  # whatever version is current
    return client.open(f"{API}{path}", method=method, json=body, headers=headers)


def _auth_forms(client, pair) -> dict:
    return {
        "basic": basic(pair.key.api_key, pair.secret),
        "headers": key_headers(pair.key.api_key, pair.secret),
        "bearer": bearer(client, pair.key.api_key, pair.secret),
    }


def _set_active(firm_id: str, active: bool, actor) -> None:
    firm = db.session.get(Firm, firm_id)
    service.set_app_active(firm, active, db.session.merge(actor))
    db.session.commit()


def test_deactivate_closes_every_endpoint_and_reactivate_reopens_it(client, tenants):
    forms = _auth_forms(client, tenants.pair)
    _set_active(tenants.firm.id, False, tenants.admin)
    try:
        before = row_counts()
        for method, path, body in endpoints(tenants):
            for form, headers in forms.items():
                response = _call(client, method, path, body, headers)
                assert response.status_code == 401, (method, path, form)
                assert response.json["error"]["code"] == "API_APP_INACTIVE", (path, form)
                assert "Settings and Apps" in response.json["error"]["message"]
                assert response.headers["WWW-Authenticate"].startswith("Basic")
        assert row_counts() == before
        # the token exchange says the same
        response = client.post(f"{API}/auth/token", json={
            "api_key": tenants.pair.key.api_key, "api_secret": tenants.pair.secret})
        assert response.status_code == 401
        assert response.json["error"]["code"] == "API_APP_INACTIVE"
        # the other firm is not affected
        assert client.get(f"{API}/clients", headers=tenants.other_headers).status_code == 200
    finally:
        _set_active(tenants.firm.id, True, tenants.admin)
    for method, path, body in endpoints(tenants):
        for form, headers in forms.items():
            if method == "POST":
                body = {**body, "name": f"Reopened {form}"}
            response = _call(client, method, path, body, headers)
            assert response.status_code == (201 if method == "POST" else 200), (path, form)


def test_deleted_key_is_401_on_every_endpoint(client, tenants):
    from tests.api_helpers import make_pair

    admin = db.session.merge(tenants.admin)
    doomed = make_pair(db.session.get(Firm, tenants.firm.id), admin, name="Doomed")
    forms = _auth_forms(client, doomed)
    for headers in forms.values():
        assert client.get(f"{API}/ping", headers=headers).status_code == 200
    reference = _without_request_id(client.get(f"{API}/ping"))
    service.delete_key(db.session.get(ApiKey, doomed.key.id), admin)
    db.session.commit()
    before = row_counts()
    for method, path, body in endpoints(tenants):
        for form, headers in forms.items():
            response = _call(client, method, path, body, headers)
            assert response.status_code == 401, (method, path, form)
            if form == "bearer":  # a token we signed may say it no longer works
                assert response.json["error"]["code"] == "TOKEN_INVALID"
            else:
                assert _without_request_id(response) == reference, (path, form)
    assert row_counts() == before
    response = client.post(f"{API}/auth/token", json={"api_key": doomed.key.api_key,
                                                      "api_secret": doomed.secret})
    assert response.status_code == 401 and _without_request_id(response) == reference
    # the firm's other key still works
    assert client.get(f"{API}/clients", headers=tenants.headers).status_code == 200
