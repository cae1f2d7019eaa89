"""Key controls on the Public API page: scope, expiry, IP allow-list and roll, htmx and no-JS."""

import html
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.ids import utcnow
from portal.public_api import control_views
from portal.public_api.models import ApiKey
from tests.api_helpers import basic
from tests.helpers import HX, generate_and_save

PAGE = "/settings/apps/public-api"


def events(action: str) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return list(db.session.execute(query).scalars())


def text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


def row_of(page: str, key: ApiKey) -> str:
    match = re.search(rf'<tr id="key-{key.id}".*?</tr>', page, re.S)
    assert match, f"no row for {key.id}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(0))).split())


def controls_form(**fields) -> dict:
    return {"scope": "read_write", "expires_on": "", "ip_allowlist": "", **fields}


# --- generate with scope and expiry -----------------------------------------------------------


def test_generate_form_offers_scope_defaulting_to_read_and_write(admin_client):
    page = admin_client.get(PAGE).text
    assert '<option value="read_write" selected>Read &amp; write</option>' in page
    assert 'name="expires_on" type="text" inputmode="numeric" placeholder="YYYY-MM-DD"' in page


@pytest.mark.parametrize("headers", [HX, {}])
def test_generate_with_read_scope_and_expiry(admin_client, headers):
    day = (utcnow().date() + timedelta(days=30)).isoformat()
    response = admin_client.post(f"{PAGE}/keys/generate", headers=headers,
                                 data={"name": "Reporting", "scope": "read", "expires_on": day})
    assert response.status_code == 200
    assert ("<html" in response.text) is (not headers)
    assert "Read only" in text(response) and day in response.text
    draft_id = re.search(r'name="draft_id" value="([^"]+)"', response.text).group(1)
    admin_client.post(f"{PAGE}/keys/save", data={"draft_id": draft_id}, headers=HX)
    key = db.session.get(ApiKey, draft_id)
    assert (key.scope, key.expires_on.isoformat()) == ("read", day)
    assert events("key.generated")[0].details["scope"] == "read"
    row = row_of(admin_client.get(PAGE).text, key)
    assert "Read only" in row and "expires in 30 days" in row


@pytest.mark.parametrize("headers", [HX, {}])
def test_generate_refuses_a_past_expiry_inline(admin_client, headers):
    yesterday = (utcnow().date() - timedelta(days=1)).isoformat()
    response = admin_client.post(f"{PAGE}/keys/generate", headers=headers,
                                 data={"name": "Old", "expires_on": yesterday})
    assert response.status_code == 422
    assert "The expiry date is in the past" in text(response)
    assert 'aria-invalid="true" aria-describedby="key-expires-error"' in response.text
    assert db.session.execute(select(ApiKey)).first() is None


def test_generate_refuses_an_unknown_scope(admin_client):
    response = admin_client.post(f"{PAGE}/keys/generate", headers=HX,
                                 data={"name": "X", "scope": "admin"})
    assert response.status_code == 422 and "Choose Read only or Read &amp; write" in response.text


# --- the settings form on a row ---------------------------------------------------------------


def test_settings_fragment_edits_the_row_and_audits_each_change(admin_client, world):
    key, secret = generate_and_save(admin_client)
    form = admin_client.get(f"{PAGE}/keys/{key.id}/settings", headers=HX)
    assert form.status_code == 200 and "<html" not in form.text
    assert form.text.lstrip().startswith(f'<tr id="key-{key.id}"') and "<textarea" in form.text
    day = (utcnow().date() + timedelta(days=3)).isoformat()
    response = admin_client.post(f"{PAGE}/keys/{key.id}/settings", headers=HX, data=controls_form(
        scope="read", expires_on=day, ip_allowlist="203.0.113.7, 2001:DB8::/32"))
    assert response.status_code == 200 and "<html" not in response.text
    row = row_of(response.text, key)
    assert "Read only" in row and "2 IP ranges" in row and "expires in 3 days" in row
    assert 'class="expiry expiry-soon"' in response.text  # the last 7 days warn
    db.session.refresh(key)
    assert (key.scope, key.expires_on.isoformat()) == ("read", day)
    assert key.ip_allowlist == "203.0.113.7/32\n2001:db8::/32"
    assert [e.details["scope"] for e in events("key.scope_changed")] == ["read"]
    assert events("key.expiry_changed")[0].details["expires_on"] == day
    assert events("key.ip_allowlist_changed")[0].details["ip_allowlist"] == [
        "203.0.113.7/32", "2001:db8::/32"]
    # saving the same values again changes nothing and logs nothing
    admin_client.post(f"{PAGE}/keys/{key.id}/settings", headers=HX, data=controls_form(
        scope="read", expires_on=day, ip_allowlist=key.ip_allowlist))
    assert len(events("key.scope_changed")) == 1 and len(events("key.expiry_changed")) == 1


def test_settings_without_javascript(admin_client):
    key, _ = generate_and_save(admin_client)
    page = admin_client.get(f"{PAGE}/keys/{key.id}/settings")
    assert "<html" in page.text and f'action="{PAGE}/keys/{key.id}/settings"' in page.text
    response = admin_client.post(f"{PAGE}/keys/{key.id}/settings",
                                 data=controls_form(scope="read"))
    assert response.status_code == 302
    assert "were saved" in admin_client.get(PAGE).text
    db.session.refresh(key)
    assert key.scope == "read"


@pytest.mark.parametrize("headers", [HX, {}])
@pytest.mark.parametrize("field, value, message", [
    ("ip_allowlist", "10.0.0.1\nexample.com", "“example.com” is not an IP address"),
    ("ip_allowlist", "2001:db8::/129", "“2001:db8::/129” is not an IP address"),
    ("expires_on", "2001-01-01", "The expiry date is in the past"),
    ("expires_on", "next week", "YYYY-MM-DD"),
    ("scope", "everything", "Choose Read only or Read"),
])
def test_invalid_settings_get_an_inline_error_and_change_nothing(admin_client, headers, field,
                                                                 value, message):
    key, _ = generate_and_save(admin_client)
    data = controls_form(**{"scope": "read", field: value})
    response = admin_client.post(f"{PAGE}/keys/{key.id}/settings", headers=headers, data=data)
    assert response.status_code == 422
    assert message in html.unescape(response.text) and 'aria-invalid="true"' in response.text
    if field != "scope":  # what was typed stays in the field, to be corrected
        assert value in html.unescape(response.text)
    db.session.refresh(key)
    assert (key.scope, key.expires_on, key.ip_allowlist) == ("read_write", None, None)
    assert not events("key.scope_changed")


def test_cancel_returns_the_row(admin_client):
    key, _ = generate_and_save(admin_client)
    response = admin_client.get(f"{PAGE}/keys/{key.id}/row", headers=HX)
    assert response.text.lstrip().startswith(f'<tr id="key-{key.id}"')
    assert "<textarea" not in response.text and "Read &amp; write" in response.text


@pytest.mark.parametrize("days, shown, css", [
    (0, "expires today", "expiry-soon"),
    (7, "expires in 7 days", "expiry-soon"),
    (8, "expires in 8 days", None),
    (-1, "expired", "expired"),
])
def test_key_list_shows_expiry(admin_client, days, shown, css):
    key, _ = generate_and_save(admin_client)
    key.expires_on = utcnow().date() + timedelta(days=days)
    db.session.commit()
    page = admin_client.get(PAGE).text
    assert shown in row_of(page, key)
    if css:
        assert f'class="expiry {css}"' in page
    else:
        assert "expiry-soon" not in page


# --- roll -------------------------------------------------------------------------------------


def roll(client, key, grace="1h", headers=HX):
    return client.post(f"{PAGE}/keys/{key.id}/roll", data={"grace": grace}, headers=headers)


def test_roll_dialog_offers_the_grace_periods(admin_client):
    key, _ = generate_and_save(admin_client)
    dialog = admin_client.get(f"{PAGE}/keys/{key.id}/roll", headers=HX)
    assert "<dialog" in dialog.text and "<html" not in dialog.text
    values = re.findall(r'<option value="([^"]+)"', dialog.text)
    assert values == ["now", "1h", "24h", "7d"]
    assert "<html" in admin_client.get(f"{PAGE}/keys/{key.id}/roll").text


@pytest.mark.parametrize("headers", [HX, {}])
def test_roll_shows_the_new_pair_once_and_marks_both_rows(client, admin_client, headers):
    old, old_secret = generate_and_save(admin_client)
    admin_client.post(f"{PAGE}/activate", headers=HX)
    response = roll(admin_client, old, "24h", headers)
    if not headers:  # without JavaScript: to the page, which shows the new pair once
        assert response.status_code == 302 and response.headers["Location"] == (
            f"{PAGE}#generate")
        response = admin_client.get(response.headers["Location"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert ("<html" in response.text) is (not headers)
    if headers:  # the key table and usage refresh on the event; the result is announced
        assert json.loads(response.headers["HX-Trigger"]) == {
            "keys-changed": True, "announce": f"Key “{old.name}” rolled"}
    new_secret = re.search(r'id="rolled-api-secret">([A-Za-z0-9]+)<', response.text).group(1)
    new = db.session.execute(select(ApiKey).where(ApiKey.id != old.id)).scalar_one()
    assert new.name == old.name and new.api_key in response.text
    db.session.refresh(old)
    assert old.replaced_by_id == new.id
    assert timedelta(hours=23) < old.retires_at - utcnow() <= timedelta(hours=24)
    page = admin_client.get(PAGE).text
    assert new_secret not in page  # once
    # Both pairs' usage is shown under the one name: the old pair says so.
    assert re.search(rf'id="usage-name-{old.id}">[^<]*<span class="muted">\(old pair, replaced\)',
                     page)
    assert f'id="usage-name-{new.id}">{new.name}</h4>' in page
    assert "replaced — works until" in row_of(page, old) and "new" in row_of(page, new)
    assert f"{PAGE}/keys/{old.id}/roll" not in page  # a replaced key is not rolled again
    assert admin_client.get(f"{PAGE}/keys/{old.id}/roll", headers=HX).status_code == 404
    event = events("key.rolled")[0]
    assert event.details["api_key"] == old.api_key and event.details["new_api_key"] == new.api_key
    assert new_secret not in str(event.details)
    for api_key, secret in ((old.api_key, old_secret), (new.api_key, new_secret)):
        assert client.get("/api/v1/ping", headers=basic(api_key, secret)).status_code == 200


def test_after_the_grace_period_the_old_key_leaves_the_list(admin_client):
    old, _ = generate_and_save(admin_client)
    roll(admin_client, old, "7d")
    db.session.refresh(old)
    old.retires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    page = admin_client.get(PAGE).text
    assert f'id="key-{old.id}"' not in page and "replaced" not in page
    assert admin_client.post(f"{PAGE}/keys/{old.id}/reveal", headers=HX).status_code == 404


def test_roll_now_and_a_name_reused_later(admin_client):
    old, _ = generate_and_save(admin_client, "Shop")
    roll(admin_client, old, "now")
    assert f'id="key-{old.id}"' not in admin_client.get(PAGE).text
    # the new key holds the name: a third live "Shop" is still refused
    response = admin_client.post(f"{PAGE}/keys/generate", data={"name": "Shop"}, headers=HX)
    assert response.status_code == 422 and "already exists" in response.text


@pytest.mark.parametrize("htmx", [True, False])
def test_two_admins_rolling_one_key_at_once(admin_client, monkeypatch, htmx):
    """The second roll loaded the key before the first committed: it is refused with words, and
    the first roll's new pair stays the key's one successor."""
    old, _ = generate_and_save(admin_client, "Shop")
    roll(admin_client, old, "24h")
    first = db.session.execute(select(ApiKey).where(ApiKey.name == "Shop",
                                                    ApiKey.replaced_by_id.is_(None))).scalar_one()
    # As the second admin's request found it: not rolled yet (the first had not committed).
    monkeypatch.setattr(control_views, "load_current_key",
                        lambda key_id: db.session.get(ApiKey, key_id))
    response = admin_client.post(f"{PAGE}/keys/{old.id}/roll", data={"grace": "24h"},
                                 headers=HX if htmx else {})
    message = "Someone else rolled this key just now: its new pair is in the list."
    if htmx:  # the page is loaded afresh, with the message
        assert response.status_code == 409 and response.headers["HX-Refresh"] == "true"
    else:
        assert response.status_code == 302
    assert message in admin_client.get(PAGE).text
    live = db.session.execute(select(ApiKey.id).where(ApiKey.name == "Shop",
                                                      ApiKey.id != old.id)).scalars().all()
    assert live == [first.id] and len(events("key.rolled")) == 1


def test_a_rolled_pair_rolled_again_meanwhile_is_not_shown_as_the_new_one(admin_client):
    old, _ = generate_and_save(admin_client, "Shop")
    roll(admin_client, old, "24h", headers={})  # without JavaScript: shown on the next load
    new = db.session.execute(select(ApiKey).where(ApiKey.id != old.id)).scalar_one()
    roll(admin_client, new, "24h")  # by htmx, in another tab, before that load
    page = admin_client.get(PAGE).text
    assert "was rolled" not in page and 'id="rolled-api-secret"' not in page


def test_roll_needs_a_known_grace_period(admin_client):
    key, _ = generate_and_save(admin_client)
    response = roll(admin_client, key, "forever")
    assert response.status_code == 422 and response.headers["HX-Retarget"] == "#dialog-slot"
    assert "Choose how long" in response.text
    assert db.session.execute(select(ApiKey)).scalars().all() == [key]


def test_the_replaced_key_can_be_deleted_during_its_grace_period(admin_client):
    old, _ = generate_and_save(admin_client)
    roll(admin_client, old, "24h")
    assert admin_client.delete(f"{PAGE}/keys/{old.id}", headers=HX).status_code == 200
    db.session.refresh(old)
    assert old.deleted_at is not None and old.secret_digest is None


# --- who may ----------------------------------------------------------------------------------

ROUTES = [
    ("get", "/keys/{id}/settings", None),
    ("get", "/keys/{id}/row", None),
    ("post", "/keys/{id}/settings", controls_form(scope="read")),
    ("get", "/keys/{id}/roll", None),
    ("post", "/keys/{id}/roll", {"grace": "now"}),
]


@pytest.mark.parametrize("method, path, data", ROUTES)
def test_members_get_403_and_other_firms_404(client, auth, world, method, path, data):
    auth.login("admin@alpha.example")
    key, _ = generate_and_save(client)
    auth.logout()
    url = PAGE + path.format(id=key.id)
    for email, status in (("member@alpha.example", 403), ("admin@beta.example", 404)):
        auth.login(email)
        response = getattr(client, method)(url, data=data, headers=HX)
        assert response.status_code == status, (email, response.status_code)
        auth.logout()
    db.session.refresh(key)
    assert (key.scope, key.replaced_by_id) == ("read_write", None)
    assert len(db.session.execute(select(ApiKey)).all()) == 1
