"""The audit log: who did what, when, and from where."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.ids import utcnow


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_firm_newest", "firm_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[str] = mapped_column(ForeignKey("firms.id"))
    actor_id: Mapped[str | None] = mapped_column(String(32))
    # Kept as text so the log still reads right after the user is gone.
    actor_label: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
