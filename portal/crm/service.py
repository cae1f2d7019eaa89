"""The CRM's domain rules, shared by the portal and the JSON API: views own the commit."""

from sqlalchemy import select

from portal.crm.custom_fields import clean_field_values
from portal.crm.errors import CrmValidationError, detail, flush_or_refuse
from portal.crm.firm_data import (
    create_client_field,
    create_client_group,
    delete_client_field,
    delete_client_group,
)
from portal.crm.models import Client, ClientGroup, Contact
from portal.crm.queries import (
    client_field_rules,
    client_page,
    get_client,
    get_client_field,
    get_client_group,
    get_contact,
    group_client_counts,
    list_client_fields,
    list_client_groups,
)
from portal.crm.schemas import ClientCreate, ContactCreate
from portal.crm.serializers import (
    client_field_to_out,
    client_group_to_out,
    client_to_out,
    clients_to_out,
    contact_to_out,
    member_to_out,
    store_client_json,
    stored_client_out,
    stored_clients_json,
)
from portal.extensions import db
from portal.ids import utcnow

__all__ = [
    "CrmValidationError", "client_field_to_out", "client_group_to_out",
    "client_page", "client_to_out", "clients_to_out", "contact_to_out",
    "client_rule_problems", "contact_rule_problems",
    "create_client", "create_client_field", "create_client_group", "create_contact",
    "delete_client_field", "delete_client_group", "get_client", "get_client_field",
    "get_client_group", "get_contact", "group_client_counts",
    "list_client_fields", "list_client_groups", "member_to_out", "stored_client_out",
    "stored_clients_json",
]

PRIMARY_TAKEN = "This client already has a primary contact."


def create_client(firm_id: str, payload: ClientCreate) -> Client:
    """Add a client of the firm; raises CrmValidationError (nothing added) when the firm's
    rules refuse it."""
    fields, details = clean_field_values(client_field_rules(firm_id), payload.fields)
    groups, group_details = firm_groups(firm_id, payload.group_ids)
    details += group_details
    if details:
        raise CrmValidationError(details)
    now = utcnow()
    client = Client(
        firm_id=firm_id, fields=fields, created_at=now, updated_at=now,
        groups=groups, contacts=[],
        **payload.model_dump(exclude={"fields", "group_ids"}),
    )
    db.session.add(client)
    store_client_json([client])
    return client


def client_rule_problems(firm_id: str, parts: dict) -> list[dict]:
    """The firm's own rules (custom fields, groups) applied to the parts of a client body that
    the schema accepted when it refused the body as a whole (api.body.accepted_parts), so that
    a caller learns every problem in one answer."""
    details = []
    if "fields" in parts:
        details += clean_field_values(client_field_rules(firm_id), parts["fields"])[1]
    if "group_ids" in parts:
        details += firm_groups(firm_id, parts["group_ids"])[1]
    return details


def contact_rule_problems(firm_id: str, parts: dict) -> list[dict]:
    """As client_rule_problems, for a contact body: its client, and a primary contact taken."""
    if "client_id" not in parts:
        return []
    return _contact_client(firm_id, parts["client_id"], parts.get("is_primary", False))[1]


def _contact_client(firm_id: str, client_id: str,
                    is_primary: bool) -> tuple[Client | None, list[dict]]:
    """The firm's client a new contact is for, and what the firm's rules refuse about it."""
    client = get_client(firm_id, client_id)
    if client is None:
        return None, [detail("client_id", "There is no client with this id.")]
    if is_primary and has_primary(client.id):
        return client, [detail("is_primary", PRIMARY_TAKEN)]
    return client, []


def firm_groups(firm_id: str, group_ids: list[str]) -> tuple[list[ClientGroup], list[dict]]:
    """The firm's groups for these ids; another firm's group is as unknown as a made-up id."""
    wanted = list(dict.fromkeys(group_ids))
    if not wanted:
        return [], []
    query = select(ClientGroup).where(ClientGroup.firm_id == firm_id, ClientGroup.id.in_(wanted))
    found = {group.id: group for group in db.session.execute(query).scalars()}
    details = [
        detail(f"group_ids.{index}", "There is no client group with this id.")
        for index, group_id in enumerate(group_ids)
        if group_id not in found
    ]
    return [found[group_id] for group_id in wanted if group_id in found], details


def create_contact(firm_id: str, payload: ContactCreate) -> Contact:
    """Add a contact to one of the firm's clients; at most one primary contact per client."""
    client, details = _contact_client(firm_id, payload.client_id, payload.is_primary)
    if details:
        raise CrmValidationError(details)
    now = utcnow()
    contact = Contact(firm_id=firm_id, created_at=now, updated_at=now, **payload.model_dump())
    # The client's contact list changed, so integrations syncing by updated_since see it.
    client.updated_at = now
    db.session.add(contact)
    # The unique index settles a race between two concurrent primary contacts.
    flush_or_refuse("is_primary", PRIMARY_TAKEN)
    store_client_json([client])
    return contact


def has_primary(client_id: str) -> bool:
    """Whether the client already has a primary contact (the unique index has the last word)."""
    query = select(Contact.id).where(Contact.client_id == client_id, Contact.is_primary)
    return db.session.execute(query).first() is not None
