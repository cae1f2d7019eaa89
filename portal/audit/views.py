"""The firm's audit log, for its admins."""

from flask import Blueprint, render_template, request
from flask_login import current_user

from portal.audit.service import ACTION_LABELS, firm_events
from portal.auth.access import admin_required

bp = Blueprint("audit", __name__, url_prefix="/settings/audit-log")

MAX_PAGE = 100_000


@bp.get("")
@admin_required
def index():
    """Newest first, paginated."""
    page = request.args.get("page", 1, type=int)
    # Clamped: a huge page number would overflow the database's OFFSET (a 500, not a page).
    page = min(max(page, 1), MAX_PAGE)
    events = firm_events(current_user.firm_id, page=page, per_page=25)
    return render_template("audit/index.html", events=events, labels=ACTION_LABELS)
