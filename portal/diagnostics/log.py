"""The request log's filters and pages: key, status, reason, and a request id search."""

from dataclasses import asdict, dataclass

from portal.diagnostics.models import ApiRequestLog
from portal.diagnostics.service import flush_pending, log_rows_query
from portal.extensions import db

STATUS_CHOICES = ("4xx", "5xx", "400", "401", "403", "404", "405", "409", "413", "415", "422",
                  "429", "500", "503")
PER_PAGE = 25
MAX_PAGE = 100_000


@dataclass(frozen=True)
class LogFilter:
    """What the admin filters by; empty strings mean "any"."""

    key_id: str = ""
    status: str = ""
    reason: str = ""
    request_id: str = ""

    @classmethod
    def from_args(cls, args) -> "LogFilter":
        """Read the filter from a query string, trimmed and capped."""
        return cls(**{name: args.get(name, "").strip()[:64] for name in cls.__dataclass_fields__})

    def apply(self, query):
        """Narrow a select of ApiRequestLog rows to this filter."""
        if self.key_id:
            query = query.where(ApiRequestLog.key_id == self.key_id)
        if self.status in ("4xx", "5xx"):
            low = int(self.status[0]) * 100
            query = query.where(ApiRequestLog.status >= low, ApiRequestLog.status < low + 100)
        elif self.status in STATUS_CHOICES:  # isdigit() also takes "²", which int() refuses
            query = query.where(ApiRequestLog.status == int(self.status))
        if self.reason:
            query = query.where(ApiRequestLog.reason == self.reason)
        if self.request_id:
            query = query.where(ApiRequestLog.request_id.contains(self.request_id, autoescape=True))
        return query

    def args(self, **extra) -> dict:
        """The query-string arguments that reproduce this filter (for links and the pager)."""
        return {name: value for name, value in {**asdict(self), **extra}.items() if value}

    @property
    def active(self) -> bool:
        return any(asdict(self).values())


def log_page(firm_id: str, log_filter: LogFilter, page: int):
    """One page of the firm's failed requests, newest first; never another firm's rows."""
    flush_pending()
    query = log_filter.apply(log_rows_query(firm_id=firm_id))
    # Clamped: a huge page number would overflow the database's OFFSET (a 500, not a page).
    page = min(max(page, 1), MAX_PAGE)
    return db.paginate(query, page=page, per_page=PER_PAGE, error_out=False)

