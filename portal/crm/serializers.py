"""CRM objects as the API shows them: explicit allow-lists through the Out schemas."""

from sqlalchemy import select

from portal.accounts.models import User
from portal.crm.models import Client, ClientField, ClientGroup, Contact, client_group_members
from portal.crm.schemas import ClientFieldOut, ClientGroupOut, ClientOut, ContactOut, MemberOut
from portal.sql_json import json_array_of, json_embedded, json_row


def client_to_out(
    client: Client, group_ids: list[str] | None = None, contact_ids: list[str] | None = None
) -> dict:
    """A client as JSON-ready data (ids as strings, datetimes ISO 8601 with Z).

    Lists pass the linked ids they fetched for the whole page (see clients_to_out); a single
    client reads its relationships."""
    return ClientOut(
        id=client.id,
        name=client.name,
        client_initials=client.client_initials,
        address_country_code=client.address_country_code,
        type=client.type,
        status=client.status,
        registration_code=client.registration_code,
        vat_number=client.vat_number,
        email=client.email,
        phone=client.phone,
        fields=dict(client.fields or {}),
        group_ids=group_ids if group_ids is not None else [g.id for g in client.groups],
        contacts=contact_ids if contact_ids is not None else [c.id for c in client.contacts],
        created_at=client.created_at,
        updated_at=client.updated_at,
    ).model_dump(mode="json")


def contact_to_out(contact: Contact) -> dict:
    """A contact as JSON-ready data; birthday as YYYY-MM-DD."""
    return ContactOut(
        id=contact.id,
        client_id=contact.client_id,
        name=contact.name,
        surname=contact.surname,
        email=contact.email,
        mobile_phone=contact.mobile_phone,
        work_phone=contact.work_phone,
        job_title=contact.job_title,
        birthday=contact.birthday,
        is_primary=contact.is_primary,
        ext_contact_id=contact.ext_contact_id,
        created_at=contact.created_at,
        updated_at=contact.updated_at,
    ).model_dump(mode="json")


def member_to_out(user: User) -> dict:
    """A firm user for reporting: never password data."""
    return MemberOut(
        id=user.id, name=user.name, email=user.email, role=user.role, status=user.status
    ).model_dump(mode="json")


def client_group_to_out(group: ClientGroup) -> dict:
    """A client group as JSON-ready data."""
    return ClientGroupOut(
        id=group.id, name=group.name, created_at=group.created_at
    ).model_dump(mode="json")


def client_field_to_out(field: ClientField) -> dict:
    """A custom client field definition as JSON-ready data."""
    return ClientFieldOut(
        id=field.id, name=field.name, title=field.title, type=field.type,
        required=field.required, created_at=field.created_at,
    ).model_dump(mode="json")


# The same allow-lists for list pages, written by the database (see portal/sql_json.py).
_CLIENT = Client.__table__.c
_CONTACT = Contact.__table__.c
_GROUP = ClientGroup.__table__.c
_MEMBER = client_group_members.c

CLIENT_JSON = json_row(
    ClientOut, _CLIENT,
    fields=json_embedded(_CLIENT.fields),
    group_ids=json_array_of(
        select(_GROUP.id)
        .join_from(client_group_members, ClientGroup.__table__, _GROUP.id == _MEMBER.group_id)
        .where(_MEMBER.client_id == _CLIENT.id)
        .order_by(_GROUP.name, _GROUP.id)
    ),
    contacts=json_array_of(
        select(_CONTACT.id).where(_CONTACT.client_id == _CLIENT.id)
        .order_by(_CONTACT.created_at, _CONTACT.id)
    ),
)
CONTACT_JSON = json_row(ContactOut, _CONTACT)
