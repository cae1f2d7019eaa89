"""Updating clients and contacts with a JSON merge patch: the firm's rules of create apply to
the result, only what changes is written, and each update is audit-logged for the firm."""

from pydantic import BaseModel

from portal.audit.service import record_event
from portal.crm.custom_fields import clean_field_values
from portal.crm.errors import CrmValidationError, detail, flush_or_refuse
from portal.crm.models import Client, Contact
from portal.crm.queries import client_field_rules, get_client
from portal.crm.serializers import store_client_json
from portal.crm.service import PRIMARY_TAKEN, firm_groups, has_primary
from portal.ids import utcnow


def patch_client(firm_id: str, client: Client, patch: BaseModel, actor) -> bool:
    """Apply a ClientPatch; True when anything changed. Raises CrmValidationError (nothing
    changed) when the firm's rules refuse the result."""
    changes = _given(patch)
    details = []
    if "fields" in changes:
        merged = {**(client.fields or {}), **changes["fields"]}
        changes["fields"], details = clean_field_values(client_field_rules(firm_id), merged)
    if "group_ids" in changes:
        groups, group_details = firm_groups(firm_id, changes.pop("group_ids"))
        details += group_details
        if [g.id for g in client.groups] != [g.id for g in groups]:
            changes["groups"] = groups
    if details:
        raise CrmValidationError(details)
    changed = _apply(client, changes, actor, "client.updated", client.name)
    if changed:
        store_client_json([client])
    return changed


def patch_contact(firm_id: str, contact: Contact, patch: BaseModel, actor) -> bool:
    """Apply a ContactPatch; True when anything changed. Its client must be the firm's, and a
    client keeps at most one primary contact."""
    changes = _given(patch)
    client_id = changes.get("client_id", contact.client_id)
    client = get_client(firm_id, client_id)
    if client is None:
        raise CrmValidationError([detail("client_id", "There is no client with this id.")])
    becomes_primary = changes.get("is_primary", contact.is_primary)
    moved = client_id != contact.client_id or not contact.is_primary
    if becomes_primary and moved and has_primary(client_id):
        raise CrmValidationError([detail("is_primary", PRIMARY_TAKEN)])
    moved_from = contact.client if client_id != contact.client_id else None
    if moved_from is not None:
        # Both clients' contact lists change, so updated_since finds them.
        client.updated_at = moved_from.updated_at = utcnow()
    changed = _apply(contact, changes, actor, "contact.updated",
                     " ".join(filter(None, [contact.name, contact.surname])))
    flush_or_refuse("is_primary", PRIMARY_TAKEN)  # a concurrent primary contact
    if moved_from is not None:
        store_client_json([client, moved_from])
    return changed


def _given(patch: BaseModel) -> dict:
    """The fields the patch names, as create would store them."""
    return {name: getattr(patch, name) for name in patch.model_fields_set}


def _apply(obj, changes: dict, actor, action: str, subject: str) -> bool:
    changed = sorted(name for name, value in changes.items() if getattr(obj, name) != value)
    if not changed:
        return False
    for name in changed:
        setattr(obj, name, changes[name])
    obj.updated_at = utcnow()
    record_event(obj.firm_id, actor, action, subject,
                 {"id": obj.id, "changed": ["group_ids" if n == "groups" else n
                                            for n in changed]})
    return True
