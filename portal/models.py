"""Every model, imported in one place so the metadata (and so migrations) sees them all."""

from portal.accounts.models import Firm, Role, User, UserSession
from portal.audit.models import AuditEvent
from portal.crm.models import Client, ClientField, ClientGroup, Contact, IdempotencyRecord
from portal.diagnostics.models import ApiRequestLog, ApiUsageCounter
from portal.public_api.models import ApiKey

__all__ = [
    "ApiKey", "AuditEvent", "Client", "ClientField", "ClientGroup", "Contact", "Firm",
    "IdempotencyRecord", "Role", "User", "UserSession",
]
__all__ += ["ApiRequestLog", "ApiUsageCounter"]
