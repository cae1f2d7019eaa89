"""Key controls on the Public API page: scope, expiry and IP allow-list per key, and roll."""

from flask import flash, redirect, url_for
from flask_login import current_user

from portal.auth.access import admin_required, get_in_firm_or_404
from portal.extensions import db
from portal.htmx import no_store, wants_fragment
from portal.public_api import controls
from portal.public_api.forms import KeyControlsForm, RollForm
from portal.public_api.models import LIVE_KEY, ApiKey
from portal.public_api.shown_once import redirect_to_show
from portal.public_api.views import announce, bp, render_part

CONTROLS = "public_api/_key_controls.html"
ROW = "public_api/_key_row.html"
ROLL = "public_api/_confirm_roll.html"


@bp.app_template_global("key_days_left")
def key_days_left(key: ApiKey) -> int | None:
    """Days until a key expires, for the key list."""
    return controls.days_left(key)


@bp.get("/keys/<key_id>/settings")
@admin_required
def edit_controls(key_id: str):
    """The key's row as a form: scope, expiry date, IP allow-list."""
    key = load_current_key(key_id)
    return render_part(CONTROLS, key=key, editing=key.id, controls_form=KeyControlsForm.of(key))


@bp.get("/keys/<key_id>/row")
@admin_required
def key_row(key_id: str):
    """The key's row again (Cancel on the settings form)."""
    return render_part(ROW, key=load_current_key(key_id))


@bp.post("/keys/<key_id>/settings")
@admin_required
def save_controls(key_id: str):
    """Check every field, show each error inline, and apply only a fully valid form."""
    key = load_current_key(key_id)
    form = KeyControlsForm()
    if not form.validate():
        return render_part(CONTROLS, 422, key=key, editing=key.id, controls_form=form)
    controls.update_controls(key, current_user, scope=form.scope.cleaned,
                             expires_on=form.expires_on.cleaned,
                             allowlist=form.ip_allowlist.cleaned)
    db.session.commit()
    message = f"The settings of key “{key.name}” were saved."
    if wants_fragment():
        return announce(render_part(ROW, key=key), message)
    flash(message, "success")
    return redirect(url_for(".index"))


@bp.get("/keys/<key_id>/roll")
@admin_required
def confirm_roll(key_id: str):
    """The roll dialog, with the grace period to choose (a page of its own without JS)."""
    key = load_current_key(key_id)
    return render_part(ROLL, key=key, roll_key=key, roll_form=RollForm(formdata=None))


@bp.post("/keys/<key_id>/roll")
@admin_required
def roll_key(key_id: str):
    """Replace the key with a new pair; the new secret is shown once, like after Save."""
    key = load_current_key(key_id)
    form = RollForm()
    if not form.validate():
        response = render_part(ROLL, 422, key=key, roll_key=key, roll_form=form)
        # The form targets #generate for the new pair; the dialog itself shows the error.
        response.headers.update({"HX-Retarget": "#dialog-slot", "HX-Reswap": "innerHTML"})
        return response
    try:
        pair = controls.roll_key(key, form.grace_period, current_user)
    except controls.KeyRolledMeanwhile:
        db.session.rollback()
        flash("Someone else rolled this key just now: its new pair is in the list.", "error")
        if wants_fragment():
            # The dialog and the list are out of date: the page is loaded afresh, with the
            # message (htmx acts on HX-Refresh whatever the status).
            return "", 409, {"HX-Refresh": "true"}
        return redirect(url_for(".index"))
    db.session.commit()
    if not wants_fragment():
        return redirect_to_show("rolled", pair.key, replaced=key)
    response = render_part("public_api/_rolled.html", rolled=pair.key,
                           rolled_secret=pair.secret, replaced=key)
    return no_store(announce(response, f"Key “{key.name}” rolled", keys_changed=True))


def load_current_key(key_id: str) -> ApiKey:
    """A live key of the admin's firm that has not been replaced by a roll, or 404."""
    return get_in_firm_or_404(ApiKey, key_id, LIVE_KEY)
