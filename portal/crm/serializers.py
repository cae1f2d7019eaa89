"""CRM objects as the API shows them: explicit allow-lists through the Out schemas."""

from collections import defaultdict
from collections.abc import Iterable

from flask import current_app
from sqlalchemy import bindparam, select

from portal.accounts.models import User
from portal.crm.models import Client, ClientField, ClientGroup, Contact, client_group_members
from portal.crm.schemas import ClientFieldOut, ClientGroupOut, ClientOut, ContactOut, MemberOut
from portal.extensions import db


def clients_to_out(clients: list[Client]) -> list[dict]:
    """Clients as the API shows them, in a list or alone. Their groups and contacts are read
    for all of them at once (two queries, not two each)."""
    group_ids, contact_ids = _linked_ids([client.id for client in clients])
    return [client_out(client, group_ids[client.id], contact_ids[client.id])
            for client in clients]


def client_out(client: Client, group_ids: list[str], contact_ids: list[str]) -> dict:
    """The one definition of a client's JSON."""
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
        group_ids=group_ids,
        contacts=contact_ids,
        created_at=client.created_at,
        updated_at=client.updated_at,
    ).model_dump(mode="json")


def client_to_out(client: Client) -> dict:
    """One client as the API shows it."""
    return clients_to_out([client])[0]


def client_json(out: dict) -> str:
    """A client's JSON as stored and as a list sends it: the app's own JSON settings."""
    return current_app.json.dumps(out, separators=(",", ":"))


def store_client_json(clients: Iterable[Client]) -> None:
    """Keep each client's stored JSON (what lists send) equal to clients_to_out. Called beside
    every write that changes what a client shows: its own values, its contacts, its groups."""
    clients = list(clients)
    if not clients:
        return
    db.session.flush()  # the serializer reads their contacts and groups from the database
    for client, out in zip(clients, clients_to_out(clients), strict=True):
        client.api_json = client_json(out)


def stored_client_out(client: Client) -> dict:
    """A client just written, as the API shows it: what store_client_json made of it (without
    reading its groups and contacts again)."""
    return current_app.json.loads(client.api_json)


def stored_clients_json(rows: list) -> list[str]:
    """A page's stored JSON, in order; a row stored before there was any (NULL until
    `flask store-client-json`) is serialized here instead."""
    missing = [row.id for row in rows if row.api_json is None]
    computed = {}
    if missing:
        clients = db.session.scalars(select(Client).where(Client.id.in_(missing)))
        computed = {out["id"]: client_json(out) for out in clients_to_out(list(clients))}
    return [row.api_json or computed[row.id] for row in rows]


_MEMBER = client_group_members.c
# Built once: the list's busiest statements only bind the page's client ids.
_GROUP_IDS = (
    select(_MEMBER.client_id, ClientGroup.id)
    .join(ClientGroup, ClientGroup.id == _MEMBER.group_id)
    .where(_MEMBER.client_id.in_(bindparam("ids", expanding=True)))
    .order_by(ClientGroup.name, ClientGroup.id)
)
_CONTACT_IDS = (
    select(Contact.client_id, Contact.id)
    .where(Contact.client_id.in_(bindparam("ids", expanding=True)))
    .order_by(Contact.created_at, Contact.id)
)


def _linked_ids(client_ids: list[str]) -> tuple[dict, dict]:
    """Each client's group ids (by group name) and contact ids (oldest first)."""
    groups, contacts = defaultdict(list), defaultdict(list)
    for client_id, group_id in db.session.execute(_GROUP_IDS, {"ids": client_ids}):
        groups[client_id].append(group_id)
    for client_id, contact_id in db.session.execute(_CONTACT_IDS, {"ids": client_ids}):
        contacts[client_id].append(contact_id)
    return groups, contacts


def contact_to_out(contact: Contact) -> dict:
    """A contact as JSON-ready data; birthday as YYYY-MM-DD."""
    return ContactOut.model_validate(contact, from_attributes=True).model_dump(mode="json")


def member_to_out(user: User) -> dict:
    """A firm user for reporting: never password data."""
    return MemberOut(
        id=user.public_id, name=user.name, email=user.email, role=user.role, status=user.status
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
