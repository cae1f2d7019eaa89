"""The Public API page: activate, generate, save, reveal, delete; htmx fragments and no-JS pages."""

import json
import re

import pytest
from sqlalchemy import event, func, select

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.ids import utcnow
from portal.public_api import service
from portal.public_api.models import ApiKey
from tests.helpers import HX, generate_and_save

PAGE = "/settings/apps/public-api"


def actions():
    return [e.action for e in db.session.execute(select(AuditEvent).order_by(AuditEvent.id))
            .scalars()]


def test_settings_lists_public_api_with_its_status(admin_client):
    response = admin_client.get("/settings")
    assert "Settings and Apps" in response.text
    assert "Public API" in response.text and "Inactive" in response.text


@pytest.mark.parametrize("who", ["admin@alpha.example", "member@alpha.example"])
def test_settings_apps_leads_to_the_page_listing_the_apps(client, world, auth, who):
    auth.login(who)
    response = client.get("/settings/apps")
    assert response.status_code == 302 and response.headers["Location"] == "/settings"


def test_page_starts_inactive_with_activate_button(admin_client):
    response = admin_client.get(PAGE)
    assert response.status_code == 200
    assert "Inactive" in response.text and ">Activate<" in response.text
    assert "API Integration" in response.text and "Key name" in response.text


def test_activate_with_htmx_returns_the_status_fragment(admin_client, world):
    response = admin_client.post(f"{PAGE}/activate", headers=HX)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'id="app-status"' in response.text and ">Active<" in response.text
    assert ">Deactivate<" in response.text
    # The key table is not in the answer: it fetches itself again on the event.
    assert 'id="key-table"' not in response.text
    assert "keys-changed" in json.loads(response.headers["HX-Trigger"])
    assert world.firm.api_app_active is True
    assert actions() == ["app.activated"]


def test_activate_without_javascript_redirects_back(admin_client, world):
    response = admin_client.post(f"{PAGE}/activate")
    assert response.status_code == 302 and response.headers["Location"] == PAGE
    assert "The Public API is now Active." in admin_client.get(PAGE).text


def test_generate_shows_a_draft_that_is_not_yet_a_key(admin_client, world):
    response = admin_client.post(f"{PAGE}/keys/generate", data={"name": "Software Name"},
                                 headers=HX)
    assert response.status_code == 200 and "<html" not in response.text
    assert "Software Name" in response.text and ">Save<" in response.text
    draft = db.session.execute(select(ApiKey)).scalar_one()
    assert draft.saved_at is None and draft.api_key in response.text
    # the page's key list does not show drafts
    assert draft.api_key not in admin_client.get(PAGE).text


def test_save_shows_name_key_and_secret_once_with_copy_buttons(admin_client):
    response = admin_client.post(f"{PAGE}/keys/generate", data={"name": "Software Name"},
                                 headers=HX)
    draft_id = re.search(r'name="draft_id" value="([^"]+)"', response.text).group(1)
    response = admin_client.post(f"{PAGE}/keys/save", data={"draft_id": draft_id}, headers=HX)
    assert response.headers["Cache-Control"] == "no-store"
    assert 'aria-label="Copy API key"' in response.text
    assert 'aria-label="Copy API secret"' in response.text
    secret = re.search(r'id="saved-api-secret">([A-Za-z0-9]+)<', response.text).group(1)
    assert len(secret) >= 40
    assert actions() == ["key.generated"]


def test_save_accepts_nothing_but_the_draft_id(admin_client):
    response = admin_client.post(f"{PAGE}/keys/generate", data={"name": "Mine"}, headers=HX)
    draft_id = re.search(r'name="draft_id" value="([^"]+)"', response.text).group(1)
    admin_client.post(
        f"{PAGE}/keys/save",
        data={"draft_id": draft_id, "api_key": "A" * 32, "api_secret": "B" * 48},
        headers=HX,
    )
    key = db.session.get(ApiKey, draft_id)
    assert key.api_key != "A" * 32


def test_saving_someone_elses_or_unknown_draft_is_refused(client, world, auth):
    auth.login("admin@alpha.example")
    response = client.post(f"{PAGE}/keys/generate", data={"name": "Mine"}, headers=HX)
    draft_id = re.search(r'name="draft_id" value="([^"]+)"', response.text).group(1)
    auth.logout()
    auth.login("owner@alpha.example")
    response = client.post(f"{PAGE}/keys/save", data={"draft_id": draft_id}, headers=HX)
    assert response.status_code == 422 and "expired" in response.text
    assert db.session.get(ApiKey, draft_id).saved_at is None


@pytest.mark.parametrize(
    "name, message",
    [
        ("", "Enter a name"),
        ("   ", "Enter a name"),
        ("x" * 101, "at most 100 characters"),
    ],
)
def test_bad_names_get_an_inline_error(admin_client, name, message):
    response = admin_client.post(f"{PAGE}/keys/generate", data={"name": name}, headers=HX)
    assert response.status_code == 422
    assert message in response.text and 'role="alert"' in response.text
    assert db.session.execute(select(func.count(ApiKey.id))).scalar() == 0


def test_duplicate_name_in_the_firm_is_refused(admin_client):
    generate_and_save(admin_client, "Software Name")
    response = admin_client.post(f"{PAGE}/keys/generate", data={"name": "Software Name"},
                                 headers=HX)
    assert response.status_code == 422 and "already exists" in response.text


def test_name_error_without_javascript_renders_the_page(admin_client):
    response = admin_client.post(f"{PAGE}/keys/generate", data={"name": ""})
    assert response.status_code == 422 and "<html" in response.text
    assert "Enter a name" in response.text


def test_cancel_forgets_the_draft(admin_client):
    response = admin_client.post(f"{PAGE}/keys/generate", data={"name": "Mine"}, headers=HX)
    draft_id = re.search(r'name="draft_id" value="([^"]+)"', response.text).group(1)
    admin_client.post(f"{PAGE}/keys/cancel", data={"draft_id": draft_id}, headers=HX)
    assert db.session.get(ApiKey, draft_id) is None


def test_key_list_shows_details_and_masks_the_secret(admin_client):
    key, secret = generate_and_save(admin_client)
    page = admin_client.get(PAGE).text
    assert key.api_key in page and "Software Name" in page
    assert secret not in page
    assert "Reveal" in page and "by Admin" in page and "Inactive" in page


def test_key_status_follows_the_app_and_is_never_rewritten(admin_client):
    generate_and_save(admin_client, "One")
    generate_and_save(admin_client, "Two")
    admin_client.post(f"{PAGE}/activate", headers=HX)
    assert admin_client.get(PAGE).text.count('badge-on">Active') == 3
    admin_client.post(f"{PAGE}/deactivate", headers=HX)
    assert admin_client.get(f"{PAGE}/keys", headers=HX).text.count('badge-off">Inactive') == 2
    admin_client.post(f"{PAGE}/activate", headers=HX)
    assert admin_client.get(f"{PAGE}/keys", headers=HX).text.count('badge-on">Active') == 2


def test_deactivate_asks_first_and_says_what_stops(admin_client, world):
    generate_and_save(admin_client, "One")
    generate_and_save(admin_client, "Two")
    status = admin_client.post(f"{PAGE}/activate", headers=HX).text
    # The page's Deactivate only opens the dialog: nothing posts from the header itself.
    assert f'hx-get="{PAGE}/deactivate"' in status and f'hx-post="{PAGE}/deactivate"' not in status
    dialog = admin_client.get(f"{PAGE}/deactivate", headers=HX)
    assert dialog.status_code == 200 and "<html" not in dialog.text
    assert "<dialog" in dialog.text and "All 2 API keys become inactive" in dialog.text
    assert "401 Unauthorized" in dialog.text and "the same keys work again" in dialog.text
    assert f'hx-post="{PAGE}/deactivate"' in dialog.text
    db.session.refresh(world.firm)
    assert world.firm.api_app_active is True and "app.deactivated" not in actions()


def test_deactivate_confirmation_without_javascript_is_the_page_with_the_dialog(admin_client):
    admin_client.post(f"{PAGE}/activate")
    response = admin_client.get(f"{PAGE}/deactivate")
    assert "<html" in response.text and "API Integration" in response.text
    assert "<dialog" in response.text and 'action="/settings/apps/public-api/deactivate"' in (
        response.text)
    assert "Every API request will get 401" in response.text  # no keys yet


def test_deactivate_dialog_of_an_app_already_inactive_shows_the_status_instead(admin_client):
    """A page left open while another admin deactivated the app."""
    response = admin_client.get(f"{PAGE}/deactivate", headers=HX)
    assert "<dialog" not in response.text and ">Activate<" in response.text
    assert response.headers["HX-Retarget"] == "#app-status"
    no_js = admin_client.get(f"{PAGE}/deactivate")
    assert no_js.status_code == 302 and no_js.headers["Location"] == PAGE


def test_usage_follows_keys_saved_and_deleted_without_a_reload(admin_client):
    key, _ = generate_and_save(admin_client, "One")
    assert f'id="usage-{key.id}"' in admin_client.get(PAGE).text
    draft_id = _draft(admin_client, "Two")
    saved = admin_client.post(f"{PAGE}/keys/save", data={"draft_id": draft_id}, headers=HX)
    assert "keys-changed" in json.loads(saved.headers["HX-Trigger"])
    usage = admin_client.get(f"{PAGE}/usage", headers=HX).text
    assert f'id="usage-{key.id}"' in usage and f'id="usage-{draft_id}"' in usage
    deleted = admin_client.delete(f"{PAGE}/keys/{key.id}", headers=HX)
    assert "keys-changed" in json.loads(deleted.headers["HX-Trigger"])
    usage = admin_client.get(f"{PAGE}/usage", headers=HX).text
    assert f'id="usage-{key.id}"' not in usage and f'id="usage-{draft_id}"' in usage
    admin_client.delete(f"{PAGE}/keys/{draft_id}", headers=HX)
    assert "<section" not in admin_client.get(f"{PAGE}/usage", headers=HX).text


def test_the_key_table_and_usage_refresh_on_keys_changed(admin_client):
    page = admin_client.get(PAGE).text
    for part in ("/keys", "/usage"):
        assert f'hx-get="{PAGE}{part}" hx-trigger="keys-changed from:body"' in page


def test_reveal_with_recent_login_shows_secret_no_store_and_audits(admin_client):
    key, secret = generate_and_save(admin_client)
    response = admin_client.post(f"{PAGE}/keys/{key.id}/reveal", headers=HX)
    assert response.status_code == 200 and "<html" not in response.text
    assert secret in response.text
    assert response.headers["Cache-Control"] == "no-store"
    assert actions()[-1] == "key.revealed"


def test_reveal_after_15_minutes_asks_for_the_password(admin_client):
    key, secret = generate_and_save(admin_client)
    with admin_client.session_transaction() as session:
        session["auth_at"] -= 16 * 60
    response = admin_client.post(f"{PAGE}/keys/{key.id}/reveal", headers=HX)
    assert "Confirm your password" in response.text and secret not in response.text
    wrong = admin_client.post(f"{PAGE}/keys/{key.id}/reveal", data={"password": "nope"},
                              headers=HX)
    assert wrong.status_code == 422 and secret not in wrong.text
    from tests.conftest import PASSWORD

    right = admin_client.post(f"{PAGE}/keys/{key.id}/reveal", data={"password": PASSWORD},
                              headers=HX)
    assert secret in right.text
    assert actions().count("key.revealed") == 1


def test_wrong_passwords_at_reveal_are_rate_limited(app, admin_client, world):
    """A session left open cannot be used to guess the password at Reveal any faster than at
    the login form: after the allowance even the right password waits."""
    app.config["LOGIN_LIMIT_PER_ACCOUNT"] = "3 per minute"
    key, secret = generate_and_save(admin_client)
    with admin_client.session_transaction() as session:
        session["auth_at"] -= 16 * 60
    reveal = f"{PAGE}/keys/{key.id}/reveal"
    wrong = [admin_client.post(reveal, data={"password": f"guess {n}"}, headers=HX).status_code
             for n in range(4)]
    assert wrong == [422, 422, 422, 429]
    from tests.conftest import PASSWORD

    refused = admin_client.post(reveal, data={"password": PASSWORD}, headers=HX)
    assert refused.status_code == 429 and secret not in refused.text
    assert "Too many requests" in refused.text
    assert "key.revealed" not in actions()


@pytest.mark.parametrize("name", ["\u202eevil", "sync\u2066x\u2069", "bell\u0007sync",
                                  "Zapier\u200b sync", "Zap\u00adier sync", "Zapier sync\ufeff",
                                  "Zapier\u2060 sync", "Zapier \U000e0041sync"])
def test_key_names_that_could_show_as_another_are_refused(admin_client, name):
    response = admin_client.post(f"{PAGE}/keys/generate", data={"name": name}, headers=HX)
    assert response.status_code == 422
    assert "change the direction of the text" in response.text


def test_right_to_left_letters_and_emoji_are_fine_in_key_names(admin_client):
    for name in ("שלום مرحبا", "Ärikas 😀🎉", "👩‍💻 sync"):
        response = admin_client.post(f"{PAGE}/keys/generate", data={"name": name}, headers=HX)
        assert response.status_code == 200, name


def test_key_names_differing_only_in_case_are_taken(admin_client):
    generate_and_save(admin_client, "Zapier sync")
    for same in ("zapier SYNC", "\uff3aapier sync"):  # the second: a fullwidth Z
        response = admin_client.post(f"{PAGE}/keys/generate", data={"name": same}, headers=HX)
        assert response.status_code == 422
        assert "A key named “Zapier sync” already exists" in response.text


def test_two_admins_saving_names_differing_in_case_at_once_keep_one(admin_client, monkeypatch):
    """Both saves passed the service's check before either committed: the database's unique
    index on the folded name refuses the second, and the admin reads why."""
    first = _draft(admin_client, "Zapier sync")
    second = _draft(admin_client, "ZAPIER sync")
    assert admin_client.post(f"{PAGE}/keys/save", data={"draft_id": first},
                             headers=HX).status_code == 200
    monkeypatch.setattr(service, "clean_key_name", lambda firm, name: name)  # the race
    response = admin_client.post(f"{PAGE}/keys/save", data={"draft_id": second}, headers=HX)
    assert response.status_code == 422
    assert "Another key with this name was saved just now" in response.text
    live = db.session.execute(select(ApiKey.name).where(ApiKey.saved_at.is_not(None)))
    assert live.scalars().all() == ["Zapier sync"]
    assert actions().count("key.generated") == 1


def _draft(admin_client, name: str) -> str:
    response = admin_client.post(f"{PAGE}/keys/generate", data={"name": name}, headers=HX)
    return re.search(r'name="draft_id" value="([^"]+)"', response.text).group(1)


def test_reveal_and_the_password_form_share_one_allowance(app, admin_client, world):
    """Guesses at one's own password count together, whichever form asks for it."""
    app.config["LOGIN_LIMIT_PER_ACCOUNT"] = "3 per minute"
    key, _ = generate_and_save(admin_client)
    with admin_client.session_transaction() as session:
        session["auth_at"] -= 16 * 60
    wrong = {"current_password": "nope nope", "new_password": "n3w-password-long",
             "confirm_password": "n3w-password-long"}
    assert [admin_client.post("/account/password", data=wrong).status_code
            for _ in range(2)] == [422, 422]
    reveal = f"{PAGE}/keys/{key.id}/reveal"
    assert admin_client.post(reveal, data={"password": "x"}, headers=HX).status_code == 422
    assert admin_client.post(reveal, data={"password": "y"}, headers=HX).status_code == 429


def test_hide_returns_the_masked_cell(admin_client):
    key, secret = generate_and_save(admin_client)
    response = admin_client.get(f"{PAGE}/keys/{key.id}/secret", headers=HX)
    assert secret not in response.text and "Reveal" in response.text


def test_delete_confirm_dialog_then_delete_removes_row(admin_client):
    key, secret = generate_and_save(admin_client)
    dialog = admin_client.get(f"{PAGE}/keys/{key.id}/delete", headers=HX)
    assert "<dialog" in dialog.text and "cannot be recovered" in dialog.text
    response = admin_client.delete(f"{PAGE}/keys/{key.id}", headers=HX)
    assert response.status_code == 200
    assert f'id="key-{key.id}"' not in response.text
    db.session.refresh(key)
    assert key.deleted_at is not None and key.secret_ciphertext is None
    assert key.secret_digest is None
    assert key.api_key not in admin_client.get(PAGE).text
    assert actions()[-1] == "key.deleted"


def test_save_without_javascript_redirects_and_the_page_shows_the_secret_once(admin_client):
    """Post/Redirect/Get: reloading the page never sends the Save again."""
    draft_id = _draft(admin_client, "Software Name")
    response = admin_client.post(f"{PAGE}/keys/save", data={"draft_id": draft_id})
    # To where the pair is shown: above the key list.
    assert response.status_code == 302 and response.headers["Location"] == f"{PAGE}#generate"
    shown = admin_client.get(PAGE)
    assert shown.headers["Cache-Control"] == "no-store"
    assert "Your new API key is saved" in shown.text
    secret = re.search(r'id="saved-api-secret">([A-Za-z0-9]+)<', shown.text).group(1)
    key = db.session.get(ApiKey, draft_id)
    assert service.reveal_secret_once(key) == secret
    reloaded = admin_client.get(PAGE)
    assert secret not in reloaded.text and "no-store" not in reloaded.headers.get(
        "Cache-Control", "")
    # The session carried which key to show, never its secret.
    with admin_client.session_transaction() as session:
        assert secret not in str(dict(session))


def test_reveal_without_javascript_redirects_and_shows_the_secret_once(admin_client):
    key, secret = generate_and_save(admin_client)
    response = admin_client.post(f"{PAGE}/keys/{key.id}/reveal")
    assert response.status_code == 302 and actions()[-1] == "key.revealed"
    shown = admin_client.get(response.headers["Location"])
    assert secret in shown.text and shown.headers["Cache-Control"] == "no-store"
    assert secret not in admin_client.get(PAGE).text
    assert actions().count("key.revealed") == 1


def test_a_secret_to_show_goes_stale_and_a_deleted_key_shows_nothing(admin_client):
    key, secret = generate_and_save(admin_client)
    admin_client.post(f"{PAGE}/keys/{key.id}/reveal")
    with admin_client.session_transaction() as session:
        shown = session["public_api_show_once"]
        session["public_api_show_once"] = {**shown, "at": shown["at"] - 61}
    assert secret not in admin_client.get(PAGE).text
    admin_client.post(f"{PAGE}/keys/{key.id}/reveal")
    admin_client.delete(f"{PAGE}/keys/{key.id}", headers=HX)
    assert secret not in admin_client.get(PAGE).text


@pytest.mark.parametrize("value", [
    {"kind": "revealed", "key_id": "x", "at": "soon"}, {"key_id": "x", "at": 0},
    {"kind": "bogus", "key_id": "KEY", "at": "NOW"}, "not a dict", {"kind": "rolled", "at": None},
])
def test_an_odd_marker_in_the_session_shows_nothing(admin_client, value):
    key, secret = generate_and_save(admin_client)
    if isinstance(value, dict):
        value = {name: key.id if item == "KEY" else item for name, item in value.items()}
        if value.get("at") == "NOW":
            value["at"] = utcnow().timestamp()
    with admin_client.session_transaction() as session:
        session["public_api_show_once"] = value
    page = admin_client.get(PAGE)
    assert page.status_code == 200 and secret not in page.text


def test_a_revealed_secret_waits_for_no_password_window_that_has_passed(admin_client):
    key, secret = generate_and_save(admin_client)
    admin_client.post(f"{PAGE}/keys/{key.id}/reveal")
    with admin_client.session_transaction() as session:
        session["auth_at"] -= 16 * 60
    assert secret not in admin_client.get(PAGE).text


def test_delete_without_javascript(admin_client):
    key, _ = generate_and_save(admin_client)
    page = admin_client.get(f"{PAGE}/keys/{key.id}/delete")
    assert "<html" in page.text and "<dialog" in page.text
    response = admin_client.post(f"{PAGE}/keys/{key.id}/delete")
    assert response.status_code == 302
    assert "was deleted" in admin_client.get(PAGE).text


def test_deleted_key_cannot_be_revealed_or_deleted_again(admin_client):
    key, _ = generate_and_save(admin_client)
    admin_client.delete(f"{PAGE}/keys/{key.id}", headers=HX)
    assert admin_client.post(f"{PAGE}/keys/{key.id}/reveal", headers=HX).status_code == 404
    assert admin_client.delete(f"{PAGE}/keys/{key.id}", headers=HX).status_code == 404


def test_pages_vary_on_hx_request(admin_client):
    assert "HX-Request" in admin_client.get(PAGE).headers["Vary"]


def test_audit_log_page_lists_events_newest_first(admin_client):
    admin_client.post(f"{PAGE}/activate", headers=HX)
    generate_and_save(admin_client)
    page = admin_client.get("/settings/audit-log").text
    assert page.index("Generated API key") < page.index("Activated the Public API")
    assert "admin@alpha.example" in page


def test_an_htmx_save_sends_at_most_6_sql_statements(admin_client):
    draft_id = _draft(admin_client, "Counted")
    statements = []
    engine = db.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731  (the statement text)
    event.listen(engine, "before_cursor_execute", listener)
    try:
        response = admin_client.post(f"{PAGE}/keys/save", data={"draft_id": draft_id}, headers=HX)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert response.status_code == 200 and 'id="saved-api-secret"' in response.text
    assert len(statements) <= 6, "\n".join(statements)
