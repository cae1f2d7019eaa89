"""CRM objects as the API shows them: explicit allow-lists through the Out schemas."""

from pydantic import TypeAdapter

from portal.accounts.models import User
from portal.crm.models import Client, ClientField, ClientGroup, Contact
from portal.crm.schemas import ClientFieldOut, ClientGroupOut, ClientOut, ContactOut, MemberOut


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


_CLIENT_PAGE = TypeAdapter(list[ClientOut])
_CONTACT_PAGE = TypeAdapter(list[ContactOut])


def clients_json(clients: list[dict]) -> bytes:
    """A page of clients (column values plus linked ids) as a JSON array.

    The Out schema is still the allow-list (other keys are dropped), but pydantic validates
    and serialises the whole page in one call each instead of a model per client: the
    difference is most of the cost of a list of 100."""
    return _CLIENT_PAGE.dump_json(_CLIENT_PAGE.validate_python(clients))


def contacts_json(contacts: list) -> bytes:
    """A page of contact rows as a JSON array (see clients_json)."""
    return _CONTACT_PAGE.dump_json(_CONTACT_PAGE.validate_python(contacts, from_attributes=True))
