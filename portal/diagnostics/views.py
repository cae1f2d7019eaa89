"""The admin's view of the API's traffic: the Request log tab and the Public API page's usage."""

from flask import Blueprint, request
from flask_login import current_user

from portal.auth.access import admin_required
from portal.diagnostics.chart import build_chart
from portal.diagnostics.log import STATUS_CHOICES, LogFilter, log_page
from portal.diagnostics.reasons import Reason
from portal.diagnostics.service import firm_keys, key_usage, recent_alerts
from portal.htmx import render

bp = Blueprint("diagnostics", __name__, url_prefix="/settings/apps/public-api")

LOG_PAGE = "diagnostics/log.html"
LOG_RESULTS = "diagnostics/_log_results.html"


@bp.get("/log")
@admin_required
def request_log():
    """The Request log tab: the firm's failed requests, newest first, filtered and paginated."""
    firm = current_user.firm
    log_filter = LogFilter.from_args(request.args)
    rows = log_page(firm.id, log_filter, request.args.get("page", 1, type=int))
    return render(
        LOG_RESULTS, LOG_PAGE, firm=firm, rows=rows, log_filter=log_filter,
        keys=firm_keys(firm.id), reasons=list(Reason), statuses=STATUS_CHOICES,
    )


@bp.app_context_processor
def diagnostics_helpers() -> dict:
    """Lets the Public API page ask for its keys' usage and the failure banner."""
    return {"api_diagnostics": page_diagnostics}


def page_diagnostics(firm, keys) -> dict:
    """Usage and chart per live key, and the last hour's alerts; only for the firm's admins."""
    if not (current_user.is_authenticated and current_user.is_admin
            and current_user.firm_id == firm.id):
        return {"alerts": [], "usage": []}
    usage = key_usage(firm.id, keys)
    return {
        "alerts": recent_alerts(firm.id),
        "usage": [(usage[key.id], build_chart(usage[key.id].days)) for key in keys],
    }
