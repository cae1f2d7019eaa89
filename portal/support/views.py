"""The support console: look up an API request, key or firm; read-only, and audit-logged."""

from functools import wraps

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from portal.audit.service import ACTION_LABELS
from portal.extensions import db, login_manager
from portal.support.service import LOOKUPS, look_up, record_lookups

bp = Blueprint("support", __name__, url_prefix="/support")

QUERY_MAX = 200


def support_required(view):
    """Support staff only: firm users (admins included) get 403."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_support:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@bp.get("")
@support_required
def index():
    """The look-up form, filled in from the address: a link (from another site, say) shows
    nothing of a firm and writes nothing; only the form's POST looks up."""
    by, query = _look_up_args(request.args)
    return render_template("support/index.html", by=by, query=query, result=None,
                           lookups=LOOKUPS, audit_labels=ACTION_LABELS)


@bp.post("")
@support_required
def search():
    """What a look-up found; each firm shown goes into that firm's audit log (a POST, so the
    CSRF token proves support staff asked for it here)."""
    by, query = _look_up_args(request.form)
    result = look_up(by, query) if query else None
    if result is not None and result.dossiers:
        record_lookups(result, current_user)
        db.session.commit()
    return render_template("support/index.html", by=by, query=query, result=result,
                           lookups=LOOKUPS, audit_labels=ACTION_LABELS)


def _look_up_args(values) -> tuple[str, str]:
    by = values.get("by", "request")
    return (by if by in LOOKUPS else "request"), values.get("q", "").strip()[:QUERY_MAX]
