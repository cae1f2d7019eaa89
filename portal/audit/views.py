"""The firm's audit log, for its admins."""

from flask import Blueprint, render_template, request
from flask_login import current_user

from portal.audit.service import ACTION_LABELS, firm_events
from portal.auth.access import admin_required

bp = Blueprint("audit", __name__, url_prefix="/settings/audit-log")


@bp.get("")
@admin_required
def index():
    """Newest first, paginated."""
    page = request.args.get("page", 1, type=int)
    events = firm_events(current_user.firm_id, page=max(page, 1), per_page=25)
    return render_template("audit/index.html", events=events, labels=ACTION_LABELS)
