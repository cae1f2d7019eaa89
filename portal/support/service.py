"""What support staff may look up: a firm's API set-up and failures, never its data or secrets."""

from dataclasses import dataclass, field

from sqlalchemy import func, select

from portal.accounts.models import Firm, User
from portal.audit.models import AuditEvent
from portal.audit.service import actions_of, record_event
from portal.diagnostics.models import ApiRequestLog
from portal.diagnostics.service import (
    KeyUsage,
    firm_keys,
    flush_pending,
    key_usage,
    log_rows_query,
)
from portal.extensions import db
from portal.public_api.models import ApiKey
from portal.public_api.verification import API_KEY_LENGTH

LOOKUPS = {"request": "Request id", "key": "API key", "firm": "Firm name"}
RECENT = 20
# Only the Public API's own events: other entries could name the firm's clients or contacts.
AUDIT_ACTIONS = actions_of("app", "key", "firm", "support")


@dataclass
class FirmDossier:
    """One firm's API diagnostics as support sees them."""

    firm: Firm
    changed_by: User | None
    keys: list[ApiKey]
    usage: dict[str, KeyUsage]
    failures: list[ApiRequestLog]
    audit: list[AuditEvent]


@dataclass
class Lookup:
    """The answer to one look-up: matching log rows, firms' dossiers, or firm names to pick."""

    by: str
    query: str
    requests: list[ApiRequestLog] = field(default_factory=list)
    dossiers: list[FirmDossier] = field(default_factory=list)
    candidates: list[Firm] = field(default_factory=list)
    key: ApiKey | None = None

    @property
    def found(self) -> bool:
        return bool(self.requests or self.dossiers or self.candidates or self.key)

    @property
    def suggestion(self) -> str | None:
        """When nothing was found: the kind of look-up the query looks like, if another."""
        kind = _looks_like(self.query)
        return kind if not self.found and kind != self.by else None


def _looks_like(query: str) -> str:
    if query.startswith("req_"):
        return "request"
    if len(query) == API_KEY_LENGTH and query.isascii() and query.isalnum():
        return "key"
    return "firm"


def look_up(by: str, query: str) -> Lookup:
    """Find by request id, by public API key or by firm name (exact, else a list to pick)."""
    flush_pending()
    result = Lookup(by=by, query=query)
    if by == "request":
        result.requests = _rows(request_id=query)
        firm_ids = dict.fromkeys(row.firm_id for row in result.requests if row.firm_id)
        result.dossiers = [dossier(db.session.get(Firm, firm_id)) for firm_id in firm_ids]
    elif by == "key":
        result.key = _key(query)
        if result.key is not None:
            result.dossiers = [dossier(result.key.firm, key_id=result.key.id)]
    elif by == "firm":
        firm = _firm(query)
        if firm is not None:
            result.dossiers = [dossier(firm)]
        else:
            result.candidates = _firms_like(query)
    return result


def dossier(firm: Firm, key_id: str | None = None) -> FirmDossier:
    """The firm's app status, keys with usage, recent failures and API audit entries."""
    keys = firm_keys(firm.id)
    criteria = {"firm_id": firm.id} if key_id is None else {"key_id": key_id}
    return FirmDossier(
        firm=firm,
        changed_by=db.session.get(User, firm.api_app_changed_by_id)
        if firm.api_app_changed_by_id else None,
        keys=keys,
        usage=key_usage(firm.id, keys),
        failures=_rows(**criteria),
        audit=_audit(firm.id),
    )


def record_lookups(result: Lookup, actor: User) -> None:
    """Every firm shown goes into that firm's audit log, for its admins to see."""
    subject = f"{LOOKUPS[result.by]}: {result.query}"
    for one in result.dossiers:
        details = {"api_key": result.key.api_key} if result.key is not None else {}
        record_event(one.firm.id, actor, "support.viewed", subject, details)


def _rows(**criteria) -> list[ApiRequestLog]:
    return list(db.session.execute(log_rows_query(**criteria).limit(RECENT)).scalars())


def _key(api_key: str) -> ApiKey | None:
    query = select(ApiKey).where(ApiKey.api_key == api_key, ApiKey.saved_at.is_not(None))
    return db.session.execute(query).scalar_one_or_none()


def _firm(name: str) -> Firm | None:
    query = select(Firm).where(func.lower(Firm.name) == name.lower())
    return db.session.execute(query).scalars().first()


def _firms_like(name: str) -> list[Firm]:
    query = (
        select(Firm)
        .where(func.lower(Firm.name).contains(name.lower(), autoescape=True))
        .order_by(Firm.name)
        .limit(RECENT)
    )
    return list(db.session.execute(query).scalars())


def _audit(firm_id: str) -> list[AuditEvent]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.firm_id == firm_id, AuditEvent.action.in_(AUDIT_ACTIONS))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(RECENT)
    )
    return list(db.session.execute(query).scalars())
