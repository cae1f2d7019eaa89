"""Who may see what: login, admin-only views, and loading objects within the current firm."""

import time
from functools import wraps

from flask import abort, current_app, redirect, request, session, url_for
from flask_login import current_user
from sqlalchemy import delete, select

from portal.accounts.models import User, UserSession
from portal.extensions import db, limiter, login_manager
from portal.htmx import is_htmx
from portal.ids import new_id, utcnow

SESSION_VERSION = "session_version"
SESSION_ID = "session_id"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The session's user, while its server-side session lives (logout ends it) and the
    password has not changed since it logged in."""
    oldest = utcnow() - current_app.permanent_session_lifetime
    user = db.session.execute(
        select(User).join(UserSession, UserSession.user_id == User.id).where(
            User.id == user_id, UserSession.id == session.get(SESSION_ID, ""),
            UserSession.created_at > oldest)
    ).scalar_one_or_none()
    if user is None or session.get(SESSION_VERSION, 0) != user.session_version:
        return None
    return user


def start_session(user: User) -> None:
    """A new server-side session for this login, named in the cookie; the user's sessions
    older than a cookie may live are dropped."""
    oldest = utcnow() - current_app.permanent_session_lifetime
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id,
                                                 UserSession.created_at <= oldest))
    record = UserSession(id=new_id("ses"), user_id=user.id)
    db.session.add(record)
    session[SESSION_ID] = record.id
    start_session_version(user)


def end_sessions(user: User, *, keep_current: bool = False) -> None:
    """Delete this session (logout), or every other session of the user (a new password)."""
    current = UserSession.id == session.get(SESSION_ID, "")
    db.session.execute(delete(UserSession).where(
        UserSession.user_id == user.id, ~current if keep_current else current))


def start_session_version(user: User) -> None:
    """Tie this session to the user's current session version (at login, after a change)."""
    session[SESSION_VERSION] = user.session_version


@login_manager.unauthorized_handler
def unauthorized():
    """Send anonymous visitors to the login page; an htmx request gets HX-Redirect instead."""
    login_url = url_for("auth.login", next=request.full_path.rstrip("?"))
    if is_htmx():
        return "", 401, {"HX-Redirect": login_url}
    return redirect(login_url)


def firm_user_required(view):
    """A logged-in user of a firm (support staff have no firm and are refused)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.is_support:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def admin_required(view):
    """A firm's Owner or Admin; members get 403."""

    @firm_user_required
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def get_in_firm_or_404(model, object_id: str, *criteria):
    """Load an object of the current user's firm; another firm's id is a 404, like a missing one."""
    query = select(model).where(
        model.id == object_id, model.firm_id == current_user.firm_id, *criteria
    )
    obj = db.session.execute(query).scalar_one_or_none()
    if obj is None:
        abort(404)
    return obj


def password_attempt_key() -> str:
    """The rate-limit key for guesses at the logged-in user's own password (the forms that ask
    for it again: changing it, revealing a secret): their allowance is per user."""
    return "password:" + (current_user.get_id() or "")


def limit_own_password_guesses(deduct_when):
    """One allowance per user (LOGIN_LIMIT_PER_ACCOUNT) shared by every form that checks the
    user's own password, so a session left open cannot guess faster by using several of them.
    `deduct_when(response)`: the response was a wrong password."""
    return limiter.shared_limit(
        lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], scope="own-password",
        key_func=password_attempt_key, methods=["POST"], deduct_when=deduct_when,
    )


def mark_fresh_login() -> None:
    session["auth_at"] = int(time.time())


def has_recent_login() -> bool:
    """Sudo mode: the password was entered within SUDO_MAX_AGE_SECONDS."""
    max_age = current_app.config["SUDO_MAX_AGE_SECONDS"]
    return time.time() - session.get("auth_at", 0) < max_age
