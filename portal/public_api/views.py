"""The Public API app page: status, activate/deactivate, and the API Integration section.

Each view queries what it shows and hands it to its template. Parts of the page that follow a
change elsewhere (the key table, the usage) listen for the `keys-changed` event that Save, Roll,
Delete, Activate and Deactivate send, and fetch themselves again.
"""

import json
from datetime import datetime

from flask import Blueprint, flash, make_response, redirect, render_template, session, url_for
from flask_login import current_user

from portal.auth.access import admin_required
from portal.diagnostics.chart import key_usage_charts
from portal.diagnostics.service import alerts_by_key, recent_alerts
from portal.extensions import db
from portal.htmx import no_store, wants_fragment
from portal.ids import utcnow
from portal.public_api import service
from portal.public_api.forms import GenerateKeyForm
from portal.public_api.shown_once import take_shown

bp = Blueprint("public_api", __name__, url_prefix="/settings/apps/public-api")

PAGE = "public_api/page.html"
KEYS_CHANGED = "keys-changed"


def page(status: int = 200, **context):
    """The whole Public API page: what a browser without JavaScript gets from every view."""
    firm = current_user.firm
    keys = service.live_keys(firm)
    alerts = alerts_by_key(recent_alerts(firm.id, after=_alerts_dismissed_at()))
    shown = {"firm": firm, "keys": keys, "usage": key_usage_charts(firm.id, keys),
             "alerts": alerts, "generate_form": GenerateKeyForm(formdata=None)}
    html = render_template(PAGE, **(shown | context))
    response = make_response(html, status)
    response.vary.add("HX-Request")
    return response


def render_part(fragment: str, status: int = 200, **context):
    """For htmx the fragment, rendered from `context` alone; otherwise the whole page."""
    if not wants_fragment():
        return page(status, **context)
    response = make_response(render_template(fragment, **context), status)
    response.vary.add("HX-Request")
    return response


def announce(response, message: str | None = None, *, keys_changed: bool = False):
    """Send the page's events: `announce` (read out and shown as a toast), `keys-changed`."""
    events = {}
    if keys_changed:
        events[KEYS_CHANGED] = True
    if message:
        events["announce"] = message
    if events and wants_fragment():
        response.headers["HX-Trigger"] = json.dumps(events)
    return response


@bp.get("")
@admin_required
def index():
    """The Public API page (showing a secret once after a POST without JavaScript)."""
    shown = take_shown(current_user.firm_id)
    response = page(**shown)
    return no_store(response) if shown else response


@bp.get("/keys")
@admin_required
def key_table():
    """The key table again, after `keys-changed`."""
    if not wants_fragment():
        return redirect(url_for(".index"))
    return render_part("public_api/_key_table.html", keys=service.live_keys(current_user.firm))


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
    firm = current_user.firm
    if not firm.api_app_active:
        # A page left open while someone else deactivated: show the status as it is now.
        if not wants_fragment():
            return redirect(url_for(".index"))
        response = render_part("public_api/_app_status.html", firm=firm)
        response.headers.update({"HX-Retarget": "#app-status", "HX-Reswap": "outerHTML"})
        return announce(response, keys_changed=True)
    return render_part("public_api/_confirm_deactivate.html", confirm_deactivate=True,
                       keys=service.live_keys(firm))


@bp.post("/deactivate")
@admin_required
def deactivate():
    """Deactivate the app: every key becomes Inactive (and the API answers 401)."""
    return _set_active(False)


def _set_active(active: bool):
    firm = current_user.firm
    service.set_app_active(firm, active, current_user)
    db.session.commit()
    message = "The Public API is now " + ("Active." if active else "Inactive.")
    if not wants_fragment():
        flash(message, "success")
        return redirect(url_for(".index"))
    # The key table follows on keys-changed: every key's status changed with the app's.
    response = render_part("public_api/_app_status.html", firm=firm)
    return announce(response, message, keys_changed=True)


DISMISSED = "public_api_alerts_dismissed_at"


@bp.post("/alerts/dismiss")
@admin_required
def dismiss_alerts():
    """Hide the failures banner until a request fails after now."""
    session[DISMISSED] = utcnow().isoformat()
    if not wants_fragment():
        return redirect(url_for(".index"))
    return announce(make_response(""), "Dismissed until new requests fail")


def _alerts_dismissed_at() -> datetime | None:
    try:
        return datetime.fromisoformat(session.get(DISMISSED, ""))
    except (TypeError, ValueError):
        return None  # never dismissed (or an odd value): the whole last hour
