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

from portal.extensions import db
from portal.ids import utcnow
from portal.public_api import service
from portal.public_api.models import ApiKey

SESSION_KEY = "public_api_show_once"
SHOWN_FOR = timedelta(seconds=60)


def redirect_to_show(kind: str, key: ApiKey, replaced: ApiKey | None = None):
    """Redirect to the page, which then shows `key`'s secret once: "saved", "revealed" or
    "rolled" (with the key it `replaced`)."""
    session[SESSION_KEY] = {
        "kind": kind, "key_id": key.id, "replaced_id": replaced.id if replaced else None,
        "at": utcnow().timestamp(),
    }
    return redirect(url_for("public_api.index", _anchor=f"key-{key.id}"))


def take_shown(firm_id: str) -> dict:
    """The page's context for the secret to show now (empty when there is none); taken, so the
    next load of the page shows nothing."""
    shown = session.pop(SESSION_KEY, None)
    if not isinstance(shown, dict) or utcnow().timestamp() - shown.get("at", 0) > (
            SHOWN_FOR.total_seconds()):
        return {}
    key = _firm_key(firm_id, shown.get("key_id"))
    if key is None or key.deleted_at is not None or key.secret_ciphertext is None:
        return {}  # deleted (or its secret wiped) since
    secret = service.reveal_secret_once(key)
    if shown["kind"] == "saved":
        return {"saved": key, "secret": secret}
    if shown["kind"] == "rolled":
        replaced = _firm_key(firm_id, shown.get("replaced_id"))
        return {"rolled": key, "rolled_secret": secret, "replaced": replaced} if replaced else {}
    return {"revealed": {key.id: secret}}


def _firm_key(firm_id: str, key_id) -> ApiKey | None:
    if not isinstance(key_id, str):
        return None
    query = select(ApiKey).where(ApiKey.id == key_id, ApiKey.firm_id == firm_id)
    return db.session.execute(query).scalar_one_or_none()
