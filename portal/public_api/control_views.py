"""Key controls on the Public API page: scope, expiry and IP allow-list per key, and roll."""

from flask import flash, redirect, request, url_for
from flask_login import current_user

from portal.auth.access import admin_required, get_in_firm_or_404
from portal.extensions import db
from portal.htmx import no_store, wants_fragment
from portal.public_api import controls
from portal.public_api.models import ApiKey
from portal.public_api.shown_once import redirect_to_show
from portal.public_api.views import bp, render_part

CONTROLS = "public_api/_key_controls.html"
ROW = "public_api/_key_row.html"


@bp.app_template_global("key_days_left")
def key_days_left(key: ApiKey) -> int | None:
    """Days until a key expires, for the key list."""
    return controls.days_left(key)


@bp.get("/keys/<key_id>/settings")
@admin_required
def edit_controls(key_id: str):
    """The key's row as a form: scope, expiry date, IP allow-list."""
    key = load_current_key(key_id)
    return render_part(CONTROLS, key=key, editing=key.id, form=_form_of(key))


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
    form = {name: request.form.get(name, "") for name in ("scope", "expires_on", "ip_allowlist")}
    values, errors = {}, {}
    for field, clean in (("scope", controls.clean_scope), ("expires_on", controls.clean_expiry),
                         ("ip_allowlist", controls.clean_allowlist)):
        try:
            values[field] = clean(form[field])
        except controls.ControlError as error:
            errors[field] = str(error)
    if errors:
        return render_part(CONTROLS, 422, key=key, editing=key.id, form=form, errors=errors)
    controls.update_controls(key, current_user, scope=values["scope"],
                             expires_on=values["expires_on"], allowlist=values["ip_allowlist"])
    db.session.commit()
    if wants_fragment():
        return render_part(ROW, key=key)
    flash(f"The settings of key “{key.name}” were saved.", "success")
    return redirect(url_for("public_api.index"))


@bp.get("/keys/<key_id>/roll")
@admin_required
def confirm_roll(key_id: str):
    """The roll dialog, with the grace period to choose (a page of its own without JS)."""
    key = load_current_key(key_id)
    return render_part("public_api/_confirm_roll.html", key=key, roll_key=key)


@bp.post("/keys/<key_id>/roll")
@admin_required
def roll_key(key_id: str):
    """Replace the key with a new pair; the new secret is shown once, like after Save."""
    key = load_current_key(key_id)
    choice = controls.GRACE_PERIODS.get(request.form.get("grace", ""))
    if choice is None:
        response = render_part("public_api/_confirm_roll.html", 422, key=key, roll_key=key,
                               grace_error="Choose how long the old key keeps working.")
        # The form targets #generate for the new pair; the dialog itself shows the error.
        response.headers.update({"HX-Retarget": "#dialog-slot", "HX-Reswap": "innerHTML"})
        return response
    try:
        pair = controls.roll_key(key, choice[1], current_user)
    except controls.KeyRolledMeanwhile:
        db.session.rollback()
        flash("Someone else rolled this key just now: its new pair is in the list.", "error")
        if wants_fragment():
            # The dialog and the list are out of date: the page is loaded afresh, with the
            # message (htmx acts on HX-Refresh whatever the status).
            return "", 409, {"HX-Refresh": "true"}
        return redirect(url_for("public_api.index"))
    db.session.commit()
    if not wants_fragment():
        return redirect_to_show("rolled", pair.key, replaced=key)
    return no_store(render_part("public_api/_rolled.html", rolled=pair.key,
                                rolled_secret=pair.secret, replaced=key))


def load_current_key(key_id: str) -> ApiKey:
    """A live key of the admin's firm that has not been replaced by a roll, or 404."""
    return get_in_firm_or_404(
        ApiKey, key_id, ApiKey.saved_at.is_not(None), ApiKey.deleted_at.is_(None),
        ApiKey.replaced_by_id.is_(None),
    )


def _form_of(key: ApiKey) -> dict:
    return {
        "scope": key.scope,
        "expires_on": key.expires_on.isoformat() if key.expires_on else "",
        "ip_allowlist": "\n".join(key.allowlist_entries),
    }
