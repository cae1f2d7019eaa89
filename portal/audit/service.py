"""Recording and reading audit events."""

from flask import has_request_context, request
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.extensions import db

ACTION_LABELS = {
    "app.activated": "Activated the Public API",
    "app.deactivated": "Deactivated the Public API",
    "key.generated": "Generated API key",
    "key.revealed": "Revealed API secret",
    "key.deleted": "Deleted API key",
    "key.rolled": "Rolled API key",
    "key.scope_changed": "Changed API key scope",
    "key.expiry_changed": "Changed API key expiry",
    "key.ip_allowlist_changed": "Changed API key IP allow-list",
    "firm.rate_limits_changed": "Changed API rate limits",
    "support.viewed": "Support viewed your API diagnostics",
    "client_group.created": "Added client group",
    "client_group.deleted": "Deleted client group",
    "client_field.created": "Added client field",
    "client_field.deleted": "Deleted client field",
}


def actions_of(*areas: str) -> tuple[str, ...]:
    """The known actions of these areas (the part before the dot), e.g. actions_of("key")."""
    return tuple(action for action in ACTION_LABELS if action.partition(".")[0] in areas)


def record_event(firm_id: str, actor, action: str, subject: str = "", details=None) -> AuditEvent:
    """Add an audit event to the session; the caller's transaction commits it."""
    event = AuditEvent(
        firm_id=firm_id,
        actor_id=getattr(actor, "id", None),
        actor_label=getattr(actor, "email", None) or str(actor or "system"),
        action=action,
        subject=subject[:200],
        details=details or {},
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    return event


def firm_events(firm_id: str, page: int, per_page: int):
    """One page of a firm's events, newest first."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.firm_id == firm_id)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    )
    return db.paginate(query, page=page, per_page=per_page, error_out=False)
