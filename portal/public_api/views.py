"""The Public API app page: status, activate/deactivate, and the API Integration section."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from portal.auth.access import admin_required
from portal.extensions import db
from portal.htmx import no_store, render, wants_fragment
from portal.public_api import controls, service
from portal.public_api.shown_once import take_shown

bp = Blueprint("public_api", __name__, url_prefix="/settings/apps/public-api")

PAGE = "public_api/page.html"


def page_context(**extra) -> dict:
    """Everything the Public API page shows; each fragment picks what it needs."""
    firm = current_user.firm
    context = {
        "firm": firm,
        "keys": service.live_keys(firm),
        "draft": None,
        "saved": None,
        "secret": None,
        "name_error": None,
        "name_value": "",
        "revealed": {},
        "sudo_prompt": None,
        "sudo_error": None,
        "editing": None,
        "form": {},
        "errors": {},
        "scope_value": "read_write",
        "expires_value": "",
        "rolled": None,
        "rolled_secret": None,
        "grace_error": None,
        "scope_error": None,
        "expiry_error": None,
        "grace_periods": controls.GRACE_PERIODS,
        "roll_key": None,
        "confirm_key": None,
        "confirm_deactivate": False,
    }
    context.update(extra)
    return context


def render_part(fragment: str, status: int = 200, **extra):
    """The fragment for htmx, the whole Public API page without JavaScript."""
    return render(fragment, PAGE, status, **page_context(**extra))


@bp.get("")
@admin_required
def index():
    """The Public API page (showing a secret once after a POST without JavaScript)."""
    shown = take_shown(current_user.firm_id)
    response = render(PAGE, PAGE, **page_context(**shown))
    return no_store(response) if shown else response


@bp.post("/activate")
@admin_required
def activate():
    """Activate the app: every live key becomes Active again."""
    return _set_active(True)


@bp.get("/deactivate")
@admin_required
def confirm_deactivate():
    """The confirmation dialog (a page of its own without JavaScript): deactivating stops every
    integration of the firm at once."""
    if not current_user.firm.api_app_active:
        # A page left open while someone else deactivated: show the status as it is now.
        if not wants_fragment():
            return redirect(url_for("public_api.index"))
        response = render("public_api/_app_status_swap.html", PAGE, **page_context())
        response.headers.update({"HX-Retarget": "#app-status", "HX-Reswap": "outerHTML"})
        return response
    return render_part("public_api/_confirm_deactivate.html", confirm_deactivate=True)


@bp.post("/deactivate")
@admin_required
def deactivate():
    """Deactivate the app: every key becomes Inactive (and the API answers 401)."""
    return _set_active(False)


def _set_active(active: bool):
    service.set_app_active(current_user.firm, active, current_user)
    db.session.commit()
    if not wants_fragment():
        flash("The Public API is now " + ("Active." if active else "Inactive."), "success")
        return redirect(url_for("public_api.index"))
    # The status header is the target; the key table follows out of band (its statuses changed).
    return render_template("public_api/_app_status_swap.html", **page_context())
