"""The logged-in user's own account: changing the password logs out every other session."""

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from portal.auth.access import (
    end_sessions,
    limit_own_password_guesses,
    mark_fresh_login,
    start_session_version,
)
from portal.auth.forms import ChangePasswordForm
from portal.auth.views import bp
from portal.extensions import db


def _refused(response) -> bool:
    # Only refused attempts count: guessing the current password from a stolen session is slow.
    return response.status_code != 302


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@limit_own_password_guesses(deduct_when=_refused)
def change_password():
    """Change the password (the current one first); other sessions are logged out."""
    form = ChangePasswordForm()
    error = None
    if form.validate_on_submit():
        if current_user.check_password(form.current_password.data):
            current_user.set_password(form.new_password.data)
            # Every other session ends: their rows go, and they carry the old version.
            current_user.session_version += 1
            end_sessions(current_user, keep_current=True)
            db.session.commit()
            start_session_version(current_user)
            mark_fresh_login()
            flash("Your password was changed. Your other sessions were logged out.", "success")
            return redirect(url_for("auth.change_password"))
        error = "The current password is not right."
    elif form.errors:
        error = "Check the fields marked below."
    status = 422 if form.is_submitted() else 200
    return render_template("auth/password.html", form=form, error=error), status
