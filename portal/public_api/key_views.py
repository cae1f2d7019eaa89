"""API keys on the Public API page: generate, save, reveal, delete (htmx fragments + no-JS)."""

from flask import flash, make_response, redirect, url_for
from flask_login import current_user

from portal.auth.access import (
    admin_required,
    get_in_firm_or_404,
    has_recent_login,
    limit_own_password_guesses,
    mark_fresh_login,
)
from portal.auth.forms import ConfirmPasswordForm
from portal.extensions import db
from portal.htmx import no_store, wants_fragment
from portal.ids import utcnow
from portal.public_api import service
from portal.public_api.forms import DraftForm, GenerateKeyForm
from portal.public_api.models import ApiKey
from portal.public_api.shown_once import redirect_to_show
from portal.public_api.views import announce, bp, render_part

GENERATE = "public_api/_generate.html"
SECRET_CELL = "public_api/_secret_cell.html"
EXPIRED_DRAFT = "That generated key has expired. Enter the name and generate it again."


def _generate_form(status: int = 200, form: GenerateKeyForm | None = None, **context):
    form = form or GenerateKeyForm(formdata=None)
    return render_part(GENERATE, status, generate_form=form, **context)


@bp.get("/keys/new")
@admin_required
def new_key():
    """The empty Generate form (Done after a pair was shown)."""
    if not wants_fragment():
        return redirect(url_for(".index"))
    return _generate_form()


@bp.post("/keys/generate")
@admin_required
def generate_key():
    """Generate a draft pair for the typed name; it exists only once saved."""
    form = GenerateKeyForm()
    if not form.validate():
        return _generate_form(422, form)
    try:
        pair = service.generate_key_pair(
            current_user.firm, form.name.data, current_user,
            scope=form.scope.cleaned, expires_on=form.expires_on.cleaned,
        )
    except service.KeyNameError as error:
        form.name.errors.append(str(error))
        return _generate_form(422, form)
    db.session.commit()
    return _generate_form(draft=pair.key)


@bp.post("/keys/save")
@admin_required
def save_key():
    """Save the draft: only its id comes from the browser, never a key or secret."""
    draft = _load_draft(DraftForm())
    if draft is None:
        return _name_refused(EXPIRED_DRAFT)
    try:
        service.save_key(draft, current_user)
    except service.KeyNameError as error:
        db.session.rollback()
        return _name_refused(str(error), draft.name)
    # Read before the commit expires the draft: showing it then costs no second SELECT.
    saved = {"name": draft.name, "api_key": draft.api_key}
    secret = service.reveal_secret_once(draft)
    db.session.commit()
    if not wants_fragment():
        return redirect_to_show("saved", draft)
    response = render_part("public_api/_saved.html", saved=saved, secret=secret)
    return no_store(announce(response, f"Key “{saved['name']}” saved", keys_changed=True))


def _name_refused(message: str, name: str = ""):
    form = GenerateKeyForm(formdata=None, name=name)
    form.name.errors = [message]
    return _generate_form(422, form)


@bp.post("/keys/cancel")
@admin_required
def cancel_draft():
    """Forget an unsaved pair."""
    draft = _load_draft(DraftForm())
    if draft is not None:
        db.session.delete(draft)
        db.session.commit()
    return _generate_form()


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
        form = ConfirmPasswordForm()
        if not form.password.raw_data:
            return render_part(SECRET_CELL, key=key, sudo_prompt=key.id)
        if not current_user.check_password(form.password.data or ""):
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
    message = f"The key “{key.name}” was deleted."
    if not wants_fragment():
        flash(message, "success")
        return redirect(url_for(".index"))
    # The row is the target: an empty body removes it; the table and usage follow the event.
    return announce(make_response(""), message, keys_changed=True)


def _load_live_key(key_id: str) -> ApiKey:
    """A live key of the firm; a rolled key only until its grace period ends."""
    return get_in_firm_or_404(ApiKey, key_id, service.working_key())


def _load_draft(form: DraftForm) -> ApiKey | None:
    """The current admin's own unsaved draft, if it has not gone stale."""
    draft_id = form.draft_id.data
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
