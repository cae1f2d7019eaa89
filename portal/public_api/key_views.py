"""API keys on the Public API page: generate, save, reveal, delete (htmx fragments + no-JS)."""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.auth.access import (
    admin_required,
    get_in_firm_or_404,
    has_recent_login,
    limit_own_password_guesses,
    mark_fresh_login,
)
from portal.extensions import db
from portal.htmx import no_store, wants_fragment
from portal.ids import utcnow
from portal.public_api import controls, service
from portal.public_api.models import ApiKey
from portal.public_api.shown_once import redirect_to_show
from portal.public_api.views import bp, page_context, render_part

GENERATE = "public_api/_generate.html"
SECRET_CELL = "public_api/_secret_cell.html"


@bp.post("/keys/generate")
@admin_required
def generate_key():
    """Generate a draft pair for the typed name; it exists only once saved."""
    raw_name = request.form.get("name", "")
    form = {"name_value": raw_name[:200], "scope_value": request.form.get("scope", "")[:20],
            "expires_value": request.form.get("expires_on", "")[:20]}
    try:
        scope = controls.clean_scope(request.form.get("scope"))
    except controls.ControlError as error:
        return render_part(GENERATE, 422, scope_error=str(error), **form)
    try:
        expires_on = controls.clean_expiry(request.form.get("expires_on"))
    except controls.ControlError as error:
        return render_part(GENERATE, 422, expiry_error=str(error), **form)
    try:
        pair = service.generate_key_pair(current_user.firm, raw_name, current_user,
                                         scope=scope, expires_on=expires_on)
    except service.KeyNameError as error:
        return render_part(GENERATE, 422, name_error=str(error), **form)
    db.session.commit()
    return render_part(GENERATE, draft=pair.key)


@bp.post("/keys/save")
@admin_required
def save_key():
    """Save the draft: only its id comes from the browser, never a key or secret."""
    draft = _load_draft(request.form.get("draft_id", ""))
    if draft is None:
        error = "That generated key has expired. Enter the name and generate it again."
        return render_part(GENERATE, 422, name_error=error)
    try:
        service.save_key(draft, current_user)
    except service.KeyNameError as error:
        db.session.rollback()
        return render_part(GENERATE, 422, name_error=str(error), name_value=draft.name)
    db.session.commit()
    if not wants_fragment():
        return redirect_to_show("saved", draft)
    secret = service.reveal_secret_once(draft)
    return no_store(render_part("public_api/_saved.html", saved=draft, secret=secret))


@bp.post("/keys/cancel")
@admin_required
def cancel_draft():
    """Forget an unsaved pair."""
    draft = _load_draft(request.form.get("draft_id", ""))
    if draft is not None:
        db.session.delete(draft)
        db.session.commit()
    return render_part(GENERATE)


def _wrong_password(response) -> bool:
    return response.status_code == 422  # the only refusal reveal_secret answers with 422


@bp.post("/keys/<key_id>/reveal")
@admin_required
# Guessing the password of a session left open is as slow here as on the login form.
@limit_own_password_guesses(deduct_when=_wrong_password)
def reveal_secret(key_id: str):
    """Show a key's secret; asks for the password first unless the login is recent."""
    key = _load_live_key(key_id)
    if not has_recent_login():
        password = request.form.get("password")
        if password is None:
            return render_part(SECRET_CELL, key=key, sudo_prompt=key.id)
        if not current_user.check_password(password):
            error = "That password is not right."
            return render_part(SECRET_CELL, 422, key=key, sudo_prompt=key.id, sudo_error=error)
        mark_fresh_login()
    secret = service.reveal_secret(key, current_user)
    db.session.commit()
    if not wants_fragment():
        return redirect_to_show("revealed", key)
    return no_store(render_part(SECRET_CELL, key=key, revealed={key.id: secret}))


@bp.get("/keys/<key_id>/secret")
@admin_required
def hide_secret(key_id: str):
    """The masked secret again."""
    return render_part(SECRET_CELL, key=_load_live_key(key_id))


@bp.get("/keys/<key_id>/delete")
@admin_required
def confirm_delete(key_id: str):
    """The confirmation dialog (a page of its own without JavaScript)."""
    key = _load_live_key(key_id)
    return render_part("public_api/_confirm_delete.html", key=key, confirm_key=key)


@bp.route("/keys/<key_id>", methods=["DELETE"])
@bp.post("/keys/<key_id>/delete")
@admin_required
def delete_key(key_id: str):
    """Delete a key and its secret for good."""
    key = _load_live_key(key_id)
    service.delete_key(key, current_user)
    db.session.commit()
    if wants_fragment():
        # The row is the target: an empty body removes it; the count updates out of band.
        return render_template("public_api/_key_deleted.html", **page_context())
    flash(f"The key “{key.name}” was deleted.", "success")
    return redirect(url_for("public_api.index"))


def _load_live_key(key_id: str) -> ApiKey:
    """A live key of the firm; a rolled key only until its grace period ends."""
    return get_in_firm_or_404(
        ApiKey, key_id, ApiKey.saved_at.is_not(None), ApiKey.deleted_at.is_(None),
        service.not_retired(),
    )


def _load_draft(draft_id: str) -> ApiKey | None:
    """The current admin's own unsaved draft, if it has not gone stale."""
    draft = db.session.get(ApiKey, draft_id) if draft_id else None
    if (
        draft is None
        or draft.firm_id != current_user.firm_id
        or draft.created_by_id != current_user.id
        or draft.saved_at is not None
        or draft.created_at < utcnow() - service.DRAFT_LIFETIME
    ):
        return None
    return draft
