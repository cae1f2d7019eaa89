"""CRM objects as the API shows them: explicit allow-lists through the Out schemas."""

from sqlalchemy.orm import selectinload

from portal.accounts.models import User
from portal.crm.models import Client, ClientField, ClientGroup, Contact
from portal.crm.schemas import ClientFieldOut, ClientGroupOut, ClientOut, ContactOut, MemberOut

# What client_to_out reads of a client's groups and contacts, loaded for a whole list page in
# two queries (selectinload) rather than two per client.
CLIENT_LINKS = (
    selectinload(Client.groups).load_only(ClientGroup.id, ClientGroup.name),
    selectinload(Client.contacts).load_only(Contact.id, Contact.created_at),
)


def client_to_out(client: Client) -> dict:
    """A client as the API shows it, in a list or alone: the one definition of its JSON."""
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
        # Sorted here, whichever way the collections were loaded or changed in this session.
        group_ids=[group.id for group in sorted(client.groups, key=_by_name)],
        contacts=[contact.id for contact in sorted(client.contacts, key=_by_creation)],
        created_at=client.created_at,
        updated_at=client.updated_at,
    ).model_dump(mode="json")


def _by_name(group: ClientGroup) -> tuple:
    return group.name, group.id


def _by_creation(contact: Contact) -> tuple:
    return contact.created_at, contact.id


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
