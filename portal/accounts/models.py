"""Firms, users and roles."""

import enum
import functools
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from portal.extensions import db
from portal.ids import new_id, utcnow


class Role(enum.StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


class Firm(db.Model):
    __tablename__ = "firms"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("firm"))
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # The Public API app's state lives on the firm: a key's status is derived from it, never
    # copied onto keys, so reactivating can never leave a key behind as inactive.
    api_app_active: Mapped[bool] = mapped_column(default=False)
    api_app_changed_at: Mapped[datetime | None]
    api_app_changed_by_id: Mapped[str | None] = mapped_column(String(32))
    # Per-firm API rate limits (requests a minute per key), set by `flask set-rate-limits`;
    # NULL means the app's defaults.
    api_read_limit: Mapped[int | None]
    api_write_limit: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    users: Mapped[list["User"]] = relationship(back_populates="firm", order_by="User.email")


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("usr"))
    # What the API shows as the member's id. The primary key is what a session names, so it
    # never leaves the portal: knowing it must not help anyone forge or guess a session.
    public_id: Mapped[str] = mapped_column(String(32), unique=True,
                                           default=lambda: new_id("mem"))
    # Support staff belong to no firm: firm_id is NULL exactly when is_support is true.
    firm_id: Mapped[str | None] = mapped_column(ForeignKey("firms.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default=Role.MEMBER)
    is_support: Mapped[bool] = mapped_column(default=False)
    is_active_member: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    # Copied into the session at login and compared on every request: changing the password
    # bumps it, which logs out every other session (cookies cannot be revoked one by one).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    firm: Mapped[Firm | None] = relationship(back_populates="users")

    @property
    def is_admin(self) -> bool:
        """Owners and Admins are the article's "users with admin permissions"."""
        return not self.is_support and self.role in (Role.OWNER, Role.ADMIN)

    @property
    def is_active(self) -> bool:
        return self.is_active_member

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def status(self) -> str:
        return "active" if self.is_active_member else "inactive"


class UserSession(db.Model):
    """A portal login, named in its session cookie: logout deletes it, so a copy of the cookie
    (signed, so otherwise valid until it expires) stops working with it."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("ses"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


@functools.cache
def _dummy_password_hash() -> str:
    return generate_password_hash(secrets.token_urlsafe(16))


def password_matches(user: User | None, password: str) -> bool:
    """The login check: one hash whether or not the account exists or is active, so the time
    a wrong password takes does not tell which e-mails are registered."""
    stored = user.password_hash if user is not None else _dummy_password_hash()
    matches = check_password_hash(stored, password)
    return matches and user is not None and user.is_active
