"""A secret shown once after a redirect, for browsers without JavaScript.

With htmx, Save, Reveal and Roll answer with a fragment. Without it they answered the POST with
the whole page: reloading it sent the POST again (saving a draft already saved, revealing
again, rolling a key already rolled). So without htmx they redirect to the page instead
(Post/Redirect/Get), and the next load of the page shows the secret, once. The session carries
only which key to show and when, never the secret; a page loaded later than SHOWN_FOR after the
POST shows nothing.
"""

from datetime import timedelta

from flask import redirect, session, url_for
from sqlalchemy import select

from portal.auth.access import has_recent_login
from portal.extensions import db
from portal.ids import utcnow
from portal.public_api import service
from portal.public_api.models import ApiKey

SESSION_KEY = "public_api_show_once"
SHOWN_FOR = timedelta(seconds=60)
KINDS = ("saved", "revealed", "rolled")


def redirect_to_show(kind: str, key: ApiKey, replaced: ApiKey | None = None):
    """Redirect to the page, which then shows `key`'s secret once: "saved", "revealed" or
    "rolled" (with the key it `replaced`), scrolled to where the secret is."""
    session[SESSION_KEY] = {
        "kind": kind, "key_id": key.id, "replaced_id": replaced.id if replaced else None,
        "at": utcnow().timestamp(),
    }
    # A saved or rolled pair is shown above the key list; a revealed secret in its row.
    anchor = f"key-{key.id}" if kind == "revealed" else "generate"
    return redirect(url_for("public_api.index", _anchor=anchor))


def take_shown(firm_id: str) -> dict:
    """The page's context for the secret to show now (empty when there is none); taken, so the
    next load of the page shows nothing."""
    shown = session.pop(SESSION_KEY, None)
    if not isinstance(shown, dict) or shown.get("kind") not in KINDS:
        return {}
    at = shown.get("at")
    if not isinstance(at, int | float) or utcnow().timestamp() - at > SHOWN_FOR.total_seconds():
        return {}
    if shown["kind"] == "revealed" and not has_recent_login():
        return {}  # the password would be asked for again now
    key = _firm_key(firm_id, shown.get("key_id"))
    if key is None or key.deleted_at is not None or key.secret_ciphertext is None:
        return {}  # deleted (or its secret wiped) since
    if shown["kind"] != "revealed" and key.replaced_by_id is not None:
        return {}  # rolled since: this pair is no longer the new one to copy
    secret = service.reveal_secret_once(key)
    if shown["kind"] == "revealed":
        return {"revealed": {key.id: secret}}
    if shown["kind"] == "saved":
        return {"saved": key, "secret": secret}
    replaced = _firm_key(firm_id, shown.get("replaced_id"))
    return {"rolled": key, "rolled_secret": secret, "replaced": replaced} if replaced else {}


def _firm_key(firm_id: str, key_id) -> ApiKey | None:
    if not isinstance(key_id, str):
        return None
    query = select(ApiKey).where(ApiKey.id == key_id, ApiKey.firm_id == firm_id)
    return db.session.execute(query).scalar_one_or_none()
