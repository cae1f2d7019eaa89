"""The firm's client groups and custom client fields: adding and deleting them (audit-logged)."""

from pydantic import BaseModel, ValidationError
from sqlalchemy import delete, func, select

from portal.audit.service import record_event
from portal.crm.errors import CrmValidationError, flush_or_refuse
from portal.crm.models import Client, ClientField, ClientGroup, client_group_members
from portal.crm.schemas import ClientFieldCreate, ClientGroupCreate
from portal.crm.serializers import store_client_json
from portal.extensions import db
from portal.ids import utcnow

CLIENT_BATCH = 500


def _validated(model: type[BaseModel], data: dict):
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise CrmValidationError.from_pydantic(error) from error


def _squeeze(value):
    """Collapse runs of whitespace in a typed name; anything that is not text is left to fail."""
    return " ".join(value.split()) if isinstance(value, str) else value


def _taken(model, firm_id: str, name: str) -> bool:
    # Case-insensitive, so "VAT" and "vat" cannot both exist and confuse people.
    query = select(model.id).where(model.firm_id == firm_id,
                                   func.lower(model.name) == name.lower())
    return db.session.execute(query).first() is not None


def create_client_group(firm_id: str, name: str, *, actor=None) -> ClientGroup:
    """Add a client group; the name is required, at most 100 characters, unique in the firm."""
    payload = _validated(ClientGroupCreate, {"name": _squeeze(name)})
    taken = f"A group named “{payload.name}” already exists."
    if _taken(ClientGroup, firm_id, payload.name):
        raise CrmValidationError.single("name", taken)
    group = ClientGroup(firm_id=firm_id, name=payload.name)
    db.session.add(group)
    record_event(firm_id, actor, "client_group.created", group.name)
    flush_or_refuse("name", taken)
    return group


def delete_client_group(group: ClientGroup, *, actor=None) -> None:
    """Delete a group; its clients stay, only their membership goes."""
    # Locked first, so a client being added to the group concurrently is either committed
    # (and found among the members below) or waits and then finds the group gone.
    db.session.execute(
        select(ClientGroup.id).where(ClientGroup.id == group.id).with_for_update()
    )
    member = client_group_members.c
    member_ids = list(db.session.scalars(
        select(member.client_id).where(member.group_id == group.id)))
    db.session.execute(delete(client_group_members).where(member.group_id == group.id))
    # Their group_ids change, so integrations syncing by updated_since must see them again.
    for start in range(0, len(member_ids), CLIENT_BATCH):
        batch = member_ids[start:start + CLIENT_BATCH]
        _changed(db.session.scalars(select(Client).where(Client.id.in_(batch))))
    record_event(group.firm_id, actor, "client_group.deleted", group.name)
    db.session.delete(group)
    db.session.flush()


def create_client_field(
    firm_id: str, name: str, title: str, type: str = "text", required: bool = False, *,
    actor=None,
) -> ClientField:
    """Add a custom client field: machine name, title, type (text/number/date/boolean)."""
    payload = _validated(ClientFieldCreate, {"name": name, "title": _squeeze(title),
                                             "type": type, "required": required})
    taken = f"A field named “{payload.name}” already exists."
    if _taken(ClientField, firm_id, payload.name):
        raise CrmValidationError.single("name", taken)
    field = ClientField(firm_id=firm_id, **payload.model_dump())
    db.session.add(field)
    record_event(firm_id, actor, "client_field.created", field.title, {"name": field.name})
    flush_or_refuse("name", taken)
    return field


def delete_client_field(field: ClientField, *, actor=None) -> None:
    """Delete a custom field and every client's value of it."""
    _purge_values(field.firm_id, field.name)
    record_event(field.firm_id, actor, "client_field.deleted", field.title, {"name": field.name})
    db.session.delete(field)
    db.session.flush()


def _purge_values(firm_id: str, name: str) -> None:
    """Drop a deleted field's values, so a new field of that name never inherits stale data."""
    # JSON containment differs per database, so walk the firm's clients in id-ordered batches.
    last_id = ""
    while True:
        query = (
            select(Client).where(Client.firm_id == firm_id, Client.id > last_id)
            .order_by(Client.id).limit(CLIENT_BATCH)
        )
        batch = list(db.session.execute(query).scalars())
        if not batch:
            return
        holders = [client for client in batch if name in (client.fields or {})]
        for client in holders:
            client.fields = {k: v for k, v in client.fields.items() if k != name}
        _changed(holders)
        last_id = batch[-1].id


def _changed(clients) -> None:
    """Clients whose JSON changed: updated_since finds them again, and lists send the new one."""
    clients = list(clients)
    now = utcnow()
    for client in clients:
        client.updated_at = now
    store_client_json(clients)
    db.session.flush()
