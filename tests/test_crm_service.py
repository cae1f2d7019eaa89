"""The CRM domain rules: validation needing the database, nothing written on failure, tenants."""

import re

import pytest

from portal.crm import service
from portal.crm.models import Client, Contact, client_group_members
from portal.crm.schemas import ClientCreate, ClientOut
from portal.crm.service import CrmValidationError
from portal.extensions import db
from tests.crm_helpers import CLIENT, contact_payload, count, make_client

ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


# --- clients -------------------------------------------------------------------------------


def test_create_client_and_its_output(world):
    group = service.create_client_group(world.firm.id, "Monthly bookkeeping")
    service.create_client_field(world.firm.id, "employees", "Employees", "number")
    payload = ClientCreate(**CLIENT, email="Mari.Tamm@Northwind.Example", group_ids=[group.id],
                           fields={"employees": 12})
    out = service.client_to_out(service.create_client(world.firm.id, payload))
    db.session.commit()
    # What the create answers is what a read of the stored client answers.
    db.session.expire_all()
    assert out == service.client_to_out(db.session.get(Client, out["id"]))
    assert out["id"].startswith("cli_")
    assert out["client_initials"] == "NWT" and out["email"] == "Mari.Tamm@northwind.example"
    assert out["group_ids"] == [group.id] and out["contacts"] == []
    assert out["fields"] == {"employees": 12}
    assert ISO_Z.match(out["created_at"]) and out["created_at"] == out["updated_at"]
    assert set(out) == set(ClientOut.model_fields)


@pytest.mark.parametrize(
    "kind, value, stored",
    [
        ("text", "  Annual  ", "Annual"),
        ("number", 3, 3),
        ("number", 2.5, 2.5),
        ("date", "2024-12-31", "2024-12-31"),
        ("boolean", False, False),
    ],
)
def test_custom_field_values_of_each_type_are_stored(world, kind, value, stored):
    service.create_client_field(world.firm.id, "extra", "Extra", kind)
    client = make_client(world.firm, fields={"extra": value})
    assert client.fields == {"extra": stored}


@pytest.mark.parametrize(
    "kind, value",
    [
        ("text", 5),
        ("text", "x" * 1001),
        ("number", "5"),
        ("number", True),
        ("number", float("nan")),
        ("date", "31.12.2024"),
        ("date", "2024-02-30"),
        ("date", 20241231),
        ("boolean", "yes"),
        ("boolean", 1),
        ("text", ["a"]),
    ],
)
def test_custom_field_values_of_the_wrong_type_are_refused(world, kind, value):
    service.create_client_field(world.firm.id, "extra", "Extra", kind)
    db.session.commit()
    with pytest.raises(CrmValidationError) as caught:
        service.create_client(world.firm.id, ClientCreate(**CLIENT, fields={"extra": value}))
    assert [d["field"] for d in caught.value.details] == ["fields.extra"]
    assert count(Client) == 0


@pytest.mark.parametrize("fields", [{}, {"year_end": None}, {"year_end": "  "}])
def test_required_custom_field_must_be_given(world, fields):
    service.create_client_field(world.firm.id, "year_end", "Year end", "text", True)
    db.session.commit()
    with pytest.raises(CrmValidationError) as caught:
        service.create_client(world.firm.id, ClientCreate(**CLIENT, fields=fields))
    assert caught.value.details == [{"field": "fields.year_end",
                                     "message": "“Year end” is required."}]


def test_unknown_and_other_firms_custom_fields_are_refused(world):
    service.create_client_field(world.other_firm.id, "theirs", "Theirs", "text")
    db.session.commit()
    with pytest.raises(CrmValidationError) as caught:
        service.create_client(world.firm.id, ClientCreate(**CLIENT, fields={"theirs": "x",
                                                                            "nope": 1}))
    assert [d["field"] for d in caught.value.details] == ["fields.theirs", "fields.nope"]
    assert count(Client) == 0


def test_group_ids_must_be_the_firms_own(world):
    mine = service.create_client_group(world.firm.id, "Mine")
    theirs = service.create_client_group(world.other_firm.id, "Theirs")
    db.session.commit()
    payload = ClientCreate(**CLIENT, group_ids=[mine.id, theirs.id, "grp_madeup"])
    with pytest.raises(CrmValidationError) as caught:
        service.create_client(world.firm.id, payload)
    assert [d["field"] for d in caught.value.details] == ["group_ids.1", "group_ids.2"]
    # another firm's group is indistinguishable from one that does not exist
    assert caught.value.details[0]["message"] == caught.value.details[1]["message"]
    db.session.rollback()
    assert count(Client) == 0 and count(client_group_members) == 0


def test_duplicate_group_ids_are_stored_once(world):
    group = service.create_client_group(world.firm.id, "Mine")
    client = make_client(world.firm, group_ids=[group.id, group.id])
    assert [g.id for g in client.groups] == [group.id]


def test_all_problems_are_reported_together(world):
    service.create_client_field(world.firm.id, "year_end", "Year end", "date", True)
    with pytest.raises(CrmValidationError) as caught:
        service.create_client(world.firm.id, ClientCreate(**CLIENT, group_ids=["grp_x"]))
    assert {d["field"] for d in caught.value.details} == {"fields.year_end", "group_ids.0"}


# --- contacts ------------------------------------------------------------------------------


def test_create_contact_and_its_output(world):
    client = make_client(world.firm)
    before = client.updated_at
    contact = service.create_contact(
        world.firm.id, contact_payload(client.id, birthday="1980-05-17", is_primary=True)
    )
    db.session.commit()
    out = service.contact_to_out(contact)
    assert out["client_id"] == client.id and out["birthday"] == "1980-05-17"
    assert out["is_primary"] is True and ISO_Z.match(out["created_at"])
    assert service.client_to_out(client)["contacts"] == [contact.id]
    assert client.updated_at >= before


@pytest.mark.parametrize("client_id", ["cli_doesnotexist", "OTHER"])
def test_contact_of_another_firms_client_is_like_a_missing_client(world, client_id):
    other = make_client(world.other_firm)
    client_id = other.id if client_id == "OTHER" else client_id
    with pytest.raises(CrmValidationError) as caught:
        service.create_contact(world.firm.id, contact_payload(client_id))
    assert caught.value.details == [{"field": "client_id",
                                     "message": "There is no client with this id."}]
    assert count(Contact) == 0


def test_at_most_one_primary_contact_per_client(world):
    client = make_client(world.firm)
    service.create_contact(world.firm.id, contact_payload(client.id, is_primary=True))
    db.session.commit()
    with pytest.raises(CrmValidationError) as caught:
        service.create_contact(world.firm.id, contact_payload(client.id, is_primary=True))
    assert [d["field"] for d in caught.value.details] == ["is_primary"]
    service.create_contact(world.firm.id, contact_payload(client.id, name="Second"))
    db.session.commit()
    assert count(Contact) == 2


def test_concurrent_primary_contact_is_refused_by_the_database(world, monkeypatch):
    client = make_client(world.firm)
    service.create_contact(world.firm.id, contact_payload(client.id, is_primary=True))
    db.session.commit()
    # As if another request's primary was committed between our check and our insert.
    monkeypatch.setattr(service, "has_primary", lambda client_id: False)
    with pytest.raises(CrmValidationError) as caught:
        service.create_contact(world.firm.id, contact_payload(client.id, is_primary=True))
    assert [d["field"] for d in caught.value.details] == ["is_primary"]
    db.session.commit()
    assert count(Contact) == 1
