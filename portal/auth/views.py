"""Logging in and out."""

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from portal.accounts.models import User, password_matches
from portal.auth.access import end_sessions, mark_fresh_login, start_session
from portal.auth.forms import LoginForm
from portal.auth.login_limits import limit_login, record_failure, submitted_email
from portal.extensions import db

bp = Blueprint("auth", __name__)

WRONG_LOGIN = "The e-mail or password is not right."


@bp.get("/")
def index():
    """Home: Settings and Apps for firm users, the support console for support staff."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if current_user.is_support:
        return redirect(url_for("support.index"))
    return redirect(url_for("settings.index"))


@bp.route("/login", methods=["GET", "POST"])
@limit_login
def login():
    """Show the login form and log the user in."""
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.execute(select(User).filter_by(email=email)).scalar_one_or_none()
        if password_matches(user, form.password.data):
            # A fresh session at login: nothing from before (fixation) survives.
            session.clear()
            login_user(user)
            start_session(user)
            db.session.commit()
            mark_fresh_login()
            return redirect(_safe_next(request.args.get("next")) or url_for("auth.index"))
        record_failure(submitted_email())
        error = WRONG_LOGIN
    elif form.is_submitted():
        # Say what is wrong rather than answering 422 with an unexplained, empty form.
        missing = not (form.email.data or "").strip() or not form.password.data
        error = "Enter your e-mail and password." if missing else WRONG_LOGIN
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/logout")
@login_required
def logout():
    """Log out: end the server-side session (every copy of the cookie) and forget it."""
    end_sessions(current_user)
    db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths: off-site (or scheme-relative) next URLs are refused, and so is
    anything but printable ASCII (urlsplit drops CR, LF and tabs before it parses, so they
    must be refused first: they would reach the Location header)."""
    if not target or not (target.isascii() and target.isprintable()) or " " in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target
