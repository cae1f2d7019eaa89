"""Client groups and custom fields, and reading and serialising the CRM within one firm."""

import re

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.crm import service
from portal.crm.models import Client, ClientField, ClientGroup, client_group_members
from portal.crm.service import CrmValidationError
from portal.extensions import db
from tests.crm_helpers import contact_payload, count, make_client

ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


# --- groups and fields ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, message",
    [("", "cannot be empty"), ("   ", "cannot be empty"), ("x" * 101, "at most 100"),
     ("monthly  BOOKKEEPING", "already exists")],
)
def test_group_name_rules(world, name, message):
    service.create_client_group(world.firm.id, "Monthly bookkeeping")
    db.session.commit()
    with pytest.raises(CrmValidationError) as caught:
        service.create_client_group(world.firm.id, name)
    assert caught.value.details[0]["field"] == "name"
    assert message in caught.value.details[0]["message"]
    assert count(ClientGroup) == 1


def test_group_names_are_per_firm_and_squeezed(world):
    service.create_client_group(world.firm.id, "Annual report")
    group = service.create_client_group(world.other_firm.id, "  Annual   report ")
    assert group.name == "Annual report"


def test_group_create_and_delete_are_audited_and_membership_goes(world):
    group = service.create_client_group(world.firm.id, "Annual", actor=world.admin)
    client = make_client(world.firm, group_ids=[group.id])
    before = client.updated_at
    service.delete_client_group(group, actor=world.admin)
    db.session.commit()
    db.session.expire_all()
    assert client.groups == [] and count(client_group_members) == 0
    assert client.updated_at >= before and count(Client) == 1
    events = db.session.execute(select(AuditEvent.action, AuditEvent.subject)).all()
    assert events == [("client_group.created", "Annual"), ("client_group.deleted", "Annual")]


@pytest.mark.parametrize(
    "args, field",
    [
        (("", "Year end", "date"), "name"),
        (("year end", "Year end", "date"), "name"),
        (("year-end", "Year end", "date"), "name"),
        (("x" * 65, "Year end", "date"), "name"),
        (("YEAR_END", "Other", "text"), "name"),
        (("year_end2", "", "date"), "title"),
        (("year_end2", "x" * 101, "date"), "title"),
        (("year_end2", "Year end", "colour"), "type"),
    ],
)
def test_field_definition_rules(world, args, field):
    service.create_client_field(world.firm.id, "year_end", "Year end", "date")
    db.session.commit()
    with pytest.raises(CrmValidationError) as caught:
        service.create_client_field(world.firm.id, *args)
    assert [d["field"] for d in caught.value.details] == [field]
    assert count(ClientField) == 1


def test_deleting_a_field_deletes_its_values(world):
    field = service.create_client_field(world.firm.id, "employees", "Employees", "number",
                                        actor=world.admin)
    service.create_client_field(world.firm.id, "vat_period", "VAT period", "text")
    client = make_client(world.firm, fields={"employees": 4, "vat_period": "monthly"})
    service.delete_client_field(field, actor=world.admin)
    db.session.commit()
    db.session.expire_all()
    assert client.fields == {"vat_period": "monthly"}
    assert service.client_to_out(client)["fields"] == {"vat_period": "monthly"}
    actions = db.session.execute(select(AuditEvent.action)).scalars().all()
    assert actions == ["client_field.created", "client_field.created", "client_field.deleted"]


# --- reads and serializers -----------------------------------------------------------------


def test_reads_are_scoped_to_the_firm(world):
    theirs = make_client(world.other_firm)
    group = service.create_client_group(world.other_firm.id, "Theirs")
    field = service.create_client_field(world.other_firm.id, "theirs", "Theirs")
    contact = service.create_contact(world.other_firm.id, contact_payload(theirs.id))
    db.session.commit()
    assert service.get_client(world.firm.id, theirs.id) is None
    assert service.get_contact(world.firm.id, contact.id) is None
    assert service.get_client_group(world.firm.id, group.id) is None
    assert service.get_client_field(world.firm.id, field.id) is None
    assert service.get_client(world.firm.id, None) is None
    assert service.list_client_groups(world.firm.id) == []
    assert service.list_client_fields(world.firm.id) == []
    assert service.client_page(world.firm.id) == ([], None)
    assert service.get_client(world.other_firm.id, theirs.id) is theirs


def test_client_page_is_newest_first_with_keyset_and_search(world):
    names = ["Alpha 100%", "Beta", "Gamma", "Delta", "Alpha_B"]
    for name in names:
        make_client(world.firm, name=name)
    first, after = service.client_page(world.firm.id, limit=2)
    assert [c.name for c in first] == ["Alpha_B", "Delta"]
    second, after = service.client_page(world.firm.id, after=after, limit=2)
    third, last = service.client_page(world.firm.id, after=after, limit=2)
    assert [c.name for c in second + third] == ["Gamma", "Beta", "Alpha 100%"] and last is None
    assert [c.name for c in service.client_page(world.firm.id, q="alpha")[0]] == [
        "Alpha_B", "Alpha 100%"]
    # LIKE wildcards in the search are literal characters
    assert [c.name for c in service.client_page(world.firm.id, q="100%")[0]] == ["Alpha 100%"]
    assert service.client_page(world.firm.id, q="a_b")[0][0].name == "Alpha_B"
    assert len(service.client_page(world.firm.id, q="a_b")[0]) == 1


def test_member_group_and_field_output_is_an_allow_list(world):
    member = service.member_to_out(world.member)
    assert member == {"id": world.member.public_id, "name": world.member.name,
                      "email": "member@alpha.example", "role": "member", "status": "active"}
    group = service.client_group_to_out(service.create_client_group(world.firm.id, "G"))
    assert set(group) == {"id", "name", "created_at"} and ISO_Z.match(group["created_at"])
    field = service.client_field_to_out(
        service.create_client_field(world.firm.id, "year_end", "Year end", "date", True)
    )
    assert field["type"] == "date" and field["required"] is True
    assert set(field) == {"id", "name", "title", "type", "required", "created_at"}
