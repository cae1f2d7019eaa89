"""API keys: a public API key, and a secret kept only as an HMAC digest and a ciphertext."""

import enum
import hashlib
import unicodedata
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, and_, column
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from portal.accounts.models import Firm, User
from portal.extensions import db
from portal.ids import new_id, utcnow


class KeyStatus(enum.StrEnum):
    ACTIVE = "Active"
    INACTIVE = "Inactive"


# A live key: saved, not deleted, not replaced by a roll (a replaced key works until it retires,
# but its successor holds the name). The one definition, for the unique index of names below
# and every query for live keys.
LIVE_KEY = and_(column("saved_at").is_not(None), column("deleted_at").is_(None),
                column("replaced_by_id").is_(None))


def folded_key_name(name: str) -> str:
    """What key names are compared by: names that differ only in case or in compatibility
    forms (a fullwidth "Ｚapier" is "Zapier") would not tell keys apart in the list, the audit
    log or support's look-ups."""
    return unicodedata.normalize("NFKC", name).casefold()


def key_name_fold(name: str) -> str:
    """The indexed form of a folded name: a digest, since NFKC can make a 100-character name up
    to 18 times longer, more than a PostgreSQL index entry may hold."""
    return hashlib.sha256(folded_key_name(name).encode()).hexdigest()


def refused_by_live_name_index(error: IntegrityError) -> bool:
    """Whether a flush failed on the unique index of live key names (uq_api_keys_live_name_fold):
    another admin's save or roll of the same name committed first. SQLite and PostgreSQL both
    name the column or the index in the message."""
    return "name_fold" in str(error.orig)


class KeyScope(enum.StrEnum):
    READ = "read"
    READ_WRITE = "read_write"

    @property
    def label(self) -> str:
        return "Read only" if self is KeyScope.READ else "Read & write"


class ApiKey(db.Model):
    __tablename__ = "api_keys"
    __table_args__ = (
        # One live key per name (compared folded) in a firm; drafts, deleted keys and keys
        # replaced by a roll (which share their successor's name during the grace period) do
        # not count. The service checks first, for a readable message; this index holds when
        # two admins save at the same moment.
        Index(
            "uq_api_keys_live_name_fold",
            "firm_id",
            "name_fold",
            unique=True,
            sqlite_where=LIVE_KEY,
            postgresql_where=LIVE_KEY,
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("key"))
    firm_id: Mapped[str] = mapped_column(ForeignKey("firms.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # key_name_fold(name), set with the name. Keys that shared a folded name before names were
    # compared folded keep a fold of their own (migration c3e1f0a9d2b4) and pass it to their
    # successor on a roll.
    name_fold: Mapped[str] = mapped_column(String(64))
    api_key: Mapped[str] = mapped_column(String(64), unique=True)
    # Both are wiped when the key is deleted; the api_key stays so a deleted key is recognised.
    secret_digest: Mapped[str | None] = mapped_column(String(64))
    secret_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    # NULL while the generated pair is a draft that the admin has not saved yet.
    saved_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    deleted_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    last_used_at: Mapped[datetime | None]
    scope: Mapped[str] = mapped_column(String(16), default=KeyScope.READ_WRITE.value,
                                       server_default=KeyScope.READ_WRITE.value)
    # The last day (UTC) the key works; NULL means it never expires.
    expires_on: Mapped[date | None]
    # Normalised networks, one a line; NULL or empty means any address may call.
    ip_allowlist: Mapped[str | None] = mapped_column(Text)
    # Set by a roll: the successor's id, and when this (old) pair stops working.
    replaced_by_id: Mapped[str | None] = mapped_column(String(32))
    retires_at: Mapped[datetime | None]

    firm: Mapped[Firm] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    @validates("name")
    def _fold_name(self, _attribute: str, name: str) -> str:
        self.name_fold = key_name_fold(name)
        return name

    @property
    def status(self) -> KeyStatus:
        """Derived from the app's status on every read; never stored."""
        return KeyStatus.ACTIVE if self.firm.api_app_active else KeyStatus.INACTIVE

    @property
    def is_replaced(self) -> bool:
        return self.replaced_by_id is not None

    @property
    def key_scope(self) -> KeyScope:
        return KeyScope(self.scope)

    @property
    def allowlist_entries(self) -> list[str]:
        return (self.ip_allowlist or "").split()
