"""PATCH /clients/{id} and /contacts/{id}: JSON merge patches of the fields create takes,
validated the same way, guarded by If-Match (428 without, 412 stale), write scope, idempotent
with an Idempotency-Key, audit-logged; and ETag on every single-object read and create."""

import pytest
from sqlalchemy import select, update

from portal.audit.models import AuditEvent
from portal.crm import service as crm
from portal.crm.models import Client
from portal.extensions import db
from portal.public_api.models import ApiKey, KeyScope
from tests.api_helpers import API, make_tenants, new_client, new_contact


@pytest.fixture
def tenants(app):
    return make_tenants()


@pytest.fixture
def api(client, tenants):
    def call(method, path, etag=None, headers=None, **kwargs):
        headers = {**tenants.headers, **(headers or {})}
        if etag is not None:
            headers["If-Match"] = etag
        return client.open(API + path, method=method, headers=headers, **kwargs)
    return call


def read(api, path):
    response = api("GET", path)
    assert response.status_code == 200
    return response.headers["ETag"], response.json["data"]


def test_create_and_get_give_the_same_etag(api):
    created = api("POST", "/clients", json={"name": "Northwind", "client_initials": "NW",
                                            "address_country_code": "EE"})
    etag, _ = read(api, f"/clients/{created.json['data']['id']}")
    assert created.headers["ETag"] == etag


def test_a_merge_patch_changes_only_what_it_names(api, tenants):
    group = crm.create_client_group(tenants.firm.id, "VIP")
    crm.create_client_field(tenants.firm.id, "employees", "Employees", "number")
    crm.create_client_field(tenants.firm.id, "notes", "Notes", "text")
    db.session.commit()
    client = new_client(tenants.firm, email="old@example.com",
                        fields={"employees": 3, "notes": "x"})
    etag, before = read(api, f"/clients/{client.id}")
    response = api("PATCH", f"/clients/{client.id}", etag, json={
        "email": None, "phone": "+372 5555", "fields": {"notes": None, "employees": 4},
        "group_ids": [group.id]})
    assert response.status_code == 200, response.json
    after = response.json["data"]
    assert after == {**before, "email": None, "phone": "+372 5555",
                     "fields": {"employees": 4}, "group_ids": [group.id],
                     "updated_at": after["updated_at"]}
    assert response.headers["ETag"] != etag
    assert read(api, f"/clients/{client.id}") == (response.headers["ETag"], after)
    event = db.session.execute(select(AuditEvent)).scalars().all()[-1]
    assert (event.action, event.firm_id) == ("client.updated", tenants.firm.id)
    assert event.details["changed"] == ["email", "fields", "group_ids", "phone"]
    assert "Integration" in event.actor_label


def test_without_if_match_it_is_428_and_stale_it_is_412(api, tenants):
    client = new_client(tenants.firm)
    response = api("PATCH", f"/clients/{client.id}", json={"name": "New"})
    assert (response.status_code, response.json["error"]["code"]) == (
        428, "PRECONDITION_REQUIRED")
    etag, _ = read(api, f"/clients/{client.id}")
    assert api("PATCH", f"/clients/{client.id}", etag, json={"name": "Mine"}).status_code == 200
    # The other system still holds the first ETag: its change would overwrite ours.
    stale = api("PATCH", f"/clients/{client.id}", etag, json={"name": "Theirs"})
    assert (stale.status_code, stale.json["error"]["code"]) == (412, "PRECONDITION_FAILED")
    assert read(api, f"/clients/{client.id}")[1]["name"] == "Mine"


@pytest.mark.parametrize(("body", "field"), [
    ({"name": None}, "name"),
    ({"name": ""}, "name"),
    ({"address_country_code": "XX"}, "address_country_code"),
    ({"unknown": 1}, "unknown"),
    ({"fields": {"employees": "many"}}, "fields.employees"),
    ({"group_ids": ["grp_nope"]}, "group_ids.0"),
])
def test_a_patch_is_validated_as_create_is(api, tenants, body, field):
    crm.create_client_field(tenants.firm.id, "employees", "Employees", "number")
    db.session.commit()
    client = new_client(tenants.firm)
    etag, before = read(api, f"/clients/{client.id}")
    response = api("PATCH", f"/clients/{client.id}", etag, json=body)
    assert response.status_code == 422
    assert field in [item["field"] for item in response.json["error"]["details"]]
    assert read(api, f"/clients/{client.id}") == (etag, before)


def test_a_contact_patch_keeps_one_primary_per_client(api, tenants):
    client = new_client(tenants.firm)
    new_contact(tenants.firm, client, name="First", is_primary=True)
    second = new_contact(tenants.firm, client, name="Second", email="s@example.com")
    etag, _ = read(api, f"/contacts/{second.id}")
    refused = api("PATCH", f"/contacts/{second.id}", etag, json={"is_primary": True})
    assert refused.status_code == 422
    assert refused.json["error"]["details"][0]["field"] == "is_primary"
    moved_to = new_client(tenants.firm, name="Other")
    response = api("PATCH", f"/contacts/{second.id}", etag,
                   json={"client_id": moved_to.id, "is_primary": True, "job_title": "CFO"})
    assert response.status_code == 200, response.json
    assert response.json["data"]["client_id"] == moved_to.id
    assert read(api, f"/clients/{moved_to.id}")[1]["contacts"] == [second.id]
    assert read(api, f"/clients/{client.id}")[1]["contacts"] != [second.id]


def test_another_firms_object_is_404(api, tenants):
    theirs = new_client(tenants.other_firm)
    response = api("PATCH", f"/clients/{theirs.id}", '"x"', json={"name": "Mine"})
    assert response.status_code == 404


def test_a_patch_that_changes_nothing_leaves_updated_at(api, tenants):
    client = new_client(tenants.firm, email="same@example.com")
    db.session.execute(update(Client).values(updated_at=client.created_at))
    db.session.commit()
    etag, before = read(api, f"/clients/{client.id}")
    response = api("PATCH", f"/clients/{client.id}", etag, json={"email": "same@example.com"})
    assert (response.status_code, response.json["data"]) == (200, before)
    assert response.headers["ETag"] == etag


def test_a_retry_with_the_same_idempotency_key_replays(api, tenants):
    client = new_client(tenants.firm)
    etag, _ = read(api, f"/clients/{client.id}")
    first = api("PATCH", f"/clients/{client.id}", etag, {"Idempotency-Key": "sync-1"},
                json={"name": "Renamed"})
    again = api("PATCH", f"/clients/{client.id}", etag, {"Idempotency-Key": "sync-1"},
                json={"name": "Renamed"})
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (again.json, again.headers["ETag"]) == (first.json, first.headers["ETag"])
    assert [e.action for e in db.session.execute(select(AuditEvent)).scalars()].count(
        "client.updated") == 1


def test_a_read_key_cannot_patch(api, tenants):
    client = new_client(tenants.firm)
    etag, _ = read(api, f"/clients/{client.id}")
    db.session.execute(update(ApiKey).values(scope=KeyScope.READ.value))
    db.session.commit()
    response = api("PATCH", f"/clients/{client.id}", etag, json={"name": "x"})
    assert (response.status_code, response.json["error"]["code"]) == (403, "FORBIDDEN")


def test_the_request_log_explains_a_stale_update(api, tenants, app):
    from portal.diagnostics.models import ApiRequestLog

    client = new_client(tenants.firm)
    response = api("PATCH", f"/clients/{client.id}", '"stale"', json={"name": "x"})
    assert response.status_code == 412
    row = db.session.execute(select(ApiRequestLog)).scalar_one()
    assert (row.reason, row.firm_id) == ("PRECONDITION_FAILED", tenants.firm.id)
    assert "changed since you read it" in row.explanation and "If-Match" in row.explanation
