"""The admin's view of the API's traffic: the Request log tab and the Public API page's usage."""

from flask import Blueprint, redirect, request, url_for
from flask_login import current_user

from portal.auth.access import admin_required
from portal.diagnostics.chart import key_usage_charts
from portal.diagnostics.log import STATUS_CHOICES, LogFilter, log_page
from portal.diagnostics.reasons import Reason
from portal.diagnostics.service import firm_keys
from portal.htmx import render, wants_fragment
from portal.public_api.service import live_keys

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


@bp.get("/usage")
@admin_required
def key_usage_part():
    """The Public API page's usage section again, after `keys-changed`."""
    if not wants_fragment():
        return redirect(url_for("public_api.index"))
    firm = current_user.firm
    usage = key_usage_charts(firm.id, live_keys(firm))
    return render("diagnostics/_usage.html", "diagnostics/_usage.html", usage=usage)
