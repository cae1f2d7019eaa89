"""Creating firms and users: shared by the CLI, the demo seed and tests."""

from sqlalchemy import select

from portal.accounts.models import Firm, Role, User
from portal.extensions import db


class AccountError(ValueError):
    """A request to create an account that breaks a rule (shown to the caller as is)."""


def get_or_create_firm(name: str) -> Firm:
    firm = db.session.execute(select(Firm).filter_by(name=name)).scalar_one_or_none()
    if firm is None:
        firm = Firm(name=name)
        db.session.add(firm)
        db.session.flush()
    return firm


def create_user(
    email: str,
    password: str,
    *,
    firm_name: str | None = None,
    role: str = Role.MEMBER,
    name: str | None = None,
    support: bool = False,
) -> User:
    """Create a firm user (creating the firm if missing) or a support user (no firm)."""
    email = email.strip().lower()
    if not email or "@" not in email:
        raise AccountError("An e-mail address is required.")
    if len(password) < 8:
        raise AccountError("The password must have at least 8 characters.")
    if db.session.execute(select(User.id).filter_by(email=email)).first():
        raise AccountError(f"A user with e-mail {email} already exists.")
    user = User(email=email, name=name or email.split("@")[0].replace(".", " ").title())
    user.set_password(password)
    if support:
        user.is_support = True
        user.role = Role.MEMBER
    else:
        if not firm_name:
            raise AccountError("A firm name is required for a firm user.")
        if role not in tuple(Role):
            raise AccountError(f"Unknown role {role!r}: use owner, admin or member.")
        firm = get_or_create_firm(firm_name)
        if role == Role.OWNER and _has_owner(firm):
            raise AccountError(f"Firm {firm.name!r} already has an owner.")
        user.firm_id, user.role = firm.id, role
    db.session.add(user)
    db.session.flush()
    return user


def _has_owner(firm: Firm) -> bool:
    return bool(
        db.session.execute(select(User.id).filter_by(firm_id=firm.id, role=Role.OWNER)).first()
    )
