"""What the API remembers about its traffic: failed requests one by one, the rest as counts."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import Firm
from portal.diagnostics.reasons import explain
from portal.extensions import db
from portal.ids import utcnow
from portal.public_api.models import ApiKey


class ApiRequestLog(db.Model):
    """One failed API request (4xx/5xx): never a presented secret, not even a prefix."""

    __tablename__ = "api_request_log"
    __table_args__ = (
        Index("ix_api_request_log_firm_newest", "firm_id", "created_at", "id"),
        Index("ix_api_request_log_key_newest", "key_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    # Known when the presented API key exists, even if the secret was wrong or the key deleted.
    firm_id: Mapped[str | None] = mapped_column(ForeignKey("firms.id"))
    key_id: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id"))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(200))
    status: Mapped[int]
    reason: Mapped[str] = mapped_column(String(32))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    duration_ms: Mapped[float]
    # The answer's error details: [{"field", "message"}], our words (recorder.error_details).
    details: Mapped[list | None] = mapped_column(JSON)

    firm: Mapped[Firm | None] = relationship()
    key: Mapped[ApiKey | None] = relationship()

    @property
    def explanation(self) -> str:
        """What went wrong and what to do, in plain words."""
        return explain(self.reason, self.key)


class ApiUsageCounter(db.Model):
    """Requests of one key in one hour with one status class (2xx, 4xx, 5xx), as a count."""

    __tablename__ = "api_usage_counters"
    __table_args__ = (Index("ix_api_usage_counters_firm_hour", "firm_id", "hour"),)

    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id"), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    status_class: Mapped[str] = mapped_column(String(3), primary_key=True)
    firm_id: Mapped[str] = mapped_column(ForeignKey("firms.id"))
    count: Mapped[int] = mapped_column(default=0)
