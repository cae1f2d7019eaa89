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
    """The look-up form and, for a query, what it found; each firm shown is audit-logged."""
    by = request.args.get("by", "request")
    by = by if by in LOOKUPS else "request"
    query = request.args.get("q", "").strip()[:QUERY_MAX]
    result = look_up(by, query) if query else None
    if result is not None and result.dossiers:
        record_lookups(result, current_user)
        db.session.commit()
    return render_template("support/index.html", by=by, query=query, result=result,
                           lookups=LOOKUPS, audit_labels=ACTION_LABELS)
