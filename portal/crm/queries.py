"""Reading the CRM, always within one firm: another firm's id finds nothing, like a missing one."""

from sqlalchemy import bindparam, func, select, tuple_

from portal.crm.models import Client, ClientField, ClientGroup, Contact, client_group_members
from portal.extensions import db


def _in_firm(model, firm_id: str, object_id):
    if not isinstance(object_id, str) or not object_id:
        return None
    query = select(model).where(model.id == object_id, model.firm_id == firm_id)
    return db.session.execute(query).scalar_one_or_none()


def get_client(firm_id: str, client_id: str) -> Client | None:
    """The firm's client, or None (also for another firm's id)."""
    return _in_firm(Client, firm_id, client_id)


def get_contact(firm_id: str, contact_id: str) -> Contact | None:
    """The firm's contact, or None (also for another firm's id)."""
    return _in_firm(Contact, firm_id, contact_id)


def get_client_group(firm_id: str, group_id: str) -> ClientGroup | None:
    """The firm's client group, or None."""
    return _in_firm(ClientGroup, firm_id, group_id)


def get_client_field(firm_id: str, field_id: str) -> ClientField | None:
    """The firm's custom client field definition, or None."""
    return _in_firm(ClientField, firm_id, field_id)


def list_client_groups(firm_id: str) -> list[ClientGroup]:
    """The firm's client groups by name."""
    query = (
        select(ClientGroup).where(ClientGroup.firm_id == firm_id)
        .order_by(ClientGroup.name, ClientGroup.id)
    )
    return list(db.session.execute(query).scalars())


def list_client_fields(firm_id: str) -> list[ClientField]:
    """The firm's custom client fields in the order they were added."""
    query = (
        select(ClientField).where(ClientField.firm_id == firm_id)
        .order_by(ClientField.created_at, ClientField.id)
    )
    return list(db.session.execute(query).scalars())


_FIELD = ClientField.__table__.c
_FIELD_RULES = (
    select(_FIELD.name, _FIELD.title, _FIELD.type, _FIELD.required)
    .where(_FIELD.firm_id == bindparam("firm_id"))
    .order_by(_FIELD.created_at, _FIELD.id)
)


def client_field_rules(firm_id: str) -> list:
    """What a client's custom field values are checked against (name, title, type, required):
    plain rows, read on every create."""
    return db.session.connection().execute(_FIELD_RULES, {"firm_id": firm_id}).all()


def group_client_counts(firm_id: str) -> dict[str, int]:
    """How many clients each of the firm's groups has."""
    query = (
        select(ClientGroup.id, func.count(client_group_members.c.client_id))
        .join(client_group_members, client_group_members.c.group_id == ClientGroup.id)
        .where(ClientGroup.firm_id == firm_id)
        .group_by(ClientGroup.id)
    )
    return {group_id: total for group_id, total in db.session.execute(query)}


def client_page(
    firm_id: str, q: str | None = None, after: str | None = None, limit: int = 25
) -> tuple[list[Client], str | None]:
    """Newest clients first, optionally by name; keyset after a client id; and the next one."""
    query = select(Client).where(Client.firm_id == firm_id)
    if q:
        query = query.where(Client.name.icontains(q, autoescape=True))
    last = get_client(firm_id, after) if after else None
    if last is not None:
        position = tuple_(Client.created_at, Client.id)
        query = query.where(position < tuple_(last.created_at, last.id))
    query = query.order_by(Client.created_at.desc(), Client.id.desc()).limit(limit + 1)
    clients = list(db.session.execute(query).scalars())
    if len(clients) <= limit:
        return clients, None
    return clients[:limit], clients[limit - 1].id
