"""The CRM input schemas: every rule names its field; the JSON schema documents the same rules."""

import json
from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from portal.crm.countries import COUNTRY_CODES
from portal.crm.schemas import ClientCreate, ClientOut, ContactCreate, validation_details

CLIENT = {"name": "Northwind Traders", "client_initials": "nwt", "address_country_code": "EE"}


def fields_of(model, data: dict, as_json: bool = True) -> list[str]:
    """The fields named by validation errors, validating as the API does (JSON, strict)."""
    with pytest.raises(ValidationError) as caught:
        if as_json:
            model.model_validate_json(json.dumps(data), strict=True)
        else:
            model.model_validate(data)
    return [item["field"] for item in validation_details(caught.value)]


def contact_payload(client_id: str, **overrides) -> ContactCreate:
    data = {"client_id": client_id, "name": "Mari", "email": "mari@example.com", **overrides}
    return ContactCreate.model_validate_json(json.dumps(data), strict=True)

def test_client_defaults_strip_and_upper_case_initials():
    payload = ClientCreate.model_validate_json(
        json.dumps({**CLIENT, "name": "  Northwind  ", "registration_code": "  "}), strict=True
    )
    assert payload.name == "Northwind" and payload.client_initials == "NWT"
    assert payload.type == "company" and payload.status == "active"
    assert payload.registration_code is None and payload.fields == {} and payload.group_ids == []


@pytest.mark.parametrize(
    "change, field",
    [
        ({"name": None}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": 5}, "name"),
        ({"client_initials": None}, "client_initials"),
        ({"client_initials": ""}, "client_initials"),
        ({"client_initials": "ABCDE"}, "client_initials"),
        ({"client_initials": "A-B"}, "client_initials"),
        ({"client_initials": "ÄB"}, "client_initials"),
        ({"address_country_code": None}, "address_country_code"),
        ({"address_country_code": "XX"}, "address_country_code"),
        ({"address_country_code": "UK"}, "address_country_code"),
        ({"address_country_code": "EST"}, "address_country_code"),
        ({"address_country_code": "ee"}, "address_country_code"),
        ({"type": "person"}, "type"),
        ({"status": "archived"}, "status"),
        ({"status": True}, "status"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "x" * 250 + "@example.com"}, "email"),
        ({"registration_code": "x" * 65}, "registration_code"),
        ({"vat_number": 123}, "vat_number"),
        ({"phone": "1" * 65}, "phone"),
        ({"fields": ["employees"]}, "fields"),
        ({"group_ids": "grp_1"}, "group_ids"),
        ({"group_ids": ["grp_1", 2]}, "group_ids.1"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_client_input_rules_name_the_field(change, field):
    data = {**CLIENT, **change}
    data = {key: value for key, value in data.items() if value is not None}
    assert fields_of(ClientCreate, data) == [field]


def test_missing_required_client_fields_are_all_named():
    assert fields_of(ClientCreate, {}) == ["name", "client_initials", "address_country_code"]
    assert fields_of(ClientCreate, {}, as_json=False)[0] == "name"


def test_every_assigned_country_code_is_accepted_and_only_those():
    assert len(COUNTRY_CODES) == 249 and {"EE", "FI", "GB", "US", "AX"} <= COUNTRY_CODES
    assert not {"EU", "UK", "XK", "ZZ"} & COUNTRY_CODES


@pytest.mark.parametrize(
    "change, field",
    [
        ({"client_id": None}, "client_id"),
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"email": None}, "email"),
        ({"email": "mari@"}, "email"),
        ({"surname": "x" * 201}, "surname"),
        ({"mobile_phone": 5551234}, "mobile_phone"),
        ({"work_phone": "1" * 65}, "work_phone"),
        ({"job_title": "x" * 201}, "job_title"),
        ({"birthday": "17.05.1980"}, "birthday"),
        ({"birthday": "1980-02-30"}, "birthday"),
        ({"birthday": 327801600}, "birthday"),
        ({"birthday": (date.today() + timedelta(days=1)).isoformat()}, "birthday"),
        ({"is_primary": "true"}, "is_primary"),
        ({"is_primary": 1}, "is_primary"),
        ({"ext_contact_id": "x" * 201}, "ext_contact_id"),
        ({"id": "con_1"}, "id"),
    ],
)
def test_contact_input_rules_name_the_field(change, field):
    data = {"client_id": "cli_1", "name": "Mari", "email": "mari@example.com", **change}
    data = {key: value for key, value in data.items() if value is not None}
    assert fields_of(ContactCreate, data) == [field]


def test_contact_birthday_is_an_iso_date_in_json_and_python():
    assert contact_payload("cli_1", birthday="1980-05-17").birthday == date(1980, 5, 17)
    python = ContactCreate.model_validate(
        {"client_id": "c", "name": "M", "email": "m@example.com", "birthday": "1980-05-17"}
    )
    assert python.birthday == date(1980, 5, 17)


def test_json_schema_documents_the_same_rules():
    schema = ClientCreate.model_json_schema()
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["name", "client_initials", "address_country_code"]
    props = schema["properties"]
    assert props["name"]["maxLength"] == 200
    assert props["client_initials"]["pattern"] == "^[A-Za-z0-9]{1,4}$"
    assert len(props["address_country_code"]["enum"]) == 249
    assert props["type"]["enum"] == ["company", "private_person"]
    contact = ContactCreate.model_json_schema()
    assert contact["properties"]["email"]["format"] == "email"
    assert {"client_id", "name", "email"} == set(contact["required"])
    out = ClientOut.model_json_schema()
    assert out["properties"]["created_at"]["format"] == "date-time"
    assert "contacts" in out["required"] and "group_ids" in out["required"]
