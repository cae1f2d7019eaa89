"""Web hardening: headers and a CSP without inline code on every portal page, no-store wherever a
secret shows, HSTS only over HTTPS, a new session at login, logout, and a password change that
logs out every other session."""

import re
from html.parser import HTMLParser

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from portal import create_app
from portal.accounts.models import User
from portal.crm import service as crm
from portal.extensions import db
from tests.api_helpers import basic, make_pair, new_client, new_contact
from tests.conftest import PASSWORD, IsolatedClient, make_user, session_of
from tests.helpers import HX, generate_and_save

PAGE = "/settings/apps/public-api"
PASSWORD_PAGE = "/account/password"
NEW_PASSWORD = "a new horse battery"
SUPPORT_EMAIL = "support@uku.example"
# Not portal pages: the JSON API, the probes and static files have their own tests.
NOT_PAGES = ("api.", "health.", "static")


class InlineCode(HTMLParser):
    """Collects everything a strict CSP (script-src/style-src 'self') would block or that
    smuggles script into markup: inline <script> bodies, <style>, on*=, style=, javascript:."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.startswith("on") or name.startswith("hx-on"):
                self.problems.append(f"<{tag} {name}=...>")
            if name == "style":
                self.problems.append(f"<{tag} style=...>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower(
            ).startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:...>")
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script":
            if not dict(attrs).get("src"):
                self.problems.append("<script> without src")
            self._in_script = True

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append(f"inline script body {data.strip()[:40]!r}")


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    parser.close()
    return parser.problems


def assert_page_headers(response, where: str) -> None:
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert directives.get("script-src") == ["'self'"], (where, csp)
    assert directives.get("style-src") == ["'self'"], (where, csp)
    assert directives.get("frame-ancestors") == ["'none'"], (where, csp)
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, (where, csp)
    assert headers.get("X-Frame-Options") == "DENY", where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") in ("same-origin", "no-referrer",
                                              "strict-origin-when-cross-origin"), where


def fetch(client, url: str, headers=None):
    """GET, following redirects by hand (IsolatedClient cannot follow them itself)."""
    for _ in range(5):
        response = client.get(url, headers=headers or {})
        if response.status_code not in (301, 302, 303):
            return response
        url = response.headers["Location"]
    raise AssertionError(f"redirect loop at {url}")


def log_in_as(client, user: User, *, fresh: bool = True) -> None:
    """Log in without the form (hashing per request is slow); as login_user() would."""
    with client.session_transaction() as session:
        session.update(session_of(user, fresh=fresh))


@pytest.fixture
def seeded(world):
    """A firm with a key, a failed API request, a client with a contact, a group and a field."""
    pair = make_pair(world.firm, world.admin, name="Software Name")
    group = crm.create_client_group(world.firm.id, "VIP")
    field = crm.create_client_field(world.firm.id, "employees", "Employees", "number")
    db.session.commit()
    client = new_client(world.firm, name="Acme", group_ids=[group.id])
    contact = new_contact(world.firm, client, name="Mari")
    support = make_user(None, SUPPORT_EMAIL, support=True)
    db.session.commit()
    return {"pair": pair, "key_id": pair.key.id, "group_id": group.id, "field_id": field.id,
            "client_id": client.id, "contact_id": contact.id, "support": support}


def portal_get_pages(app, seeded) -> list[tuple[str, str]]:
    """(endpoint, URL) of every portal GET route in the URL map, its arguments filled in."""
    pages = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if rule.endpoint.startswith(NOT_PAGES) or "GET" not in rule.methods:
                continue
            args = {name: seeded[name] for name in rule.arguments}
            pages.append((rule.endpoint, url_for(rule.endpoint, **args)))
    return sorted(pages)


def test_every_portal_page_has_headers_and_no_inline_code(app, client, world, seeded):
    """Every GET page (and its htmx fragment) rendered for an admin, the console for support."""
    failed = client.get("/api/v1/ping", headers=basic(seeded["pair"].key.api_key, "x" * 48))
    assert failed.status_code == 401  # a row for the request log page
    checked = 0
    for endpoint, url in portal_get_pages(app, seeded):
        user = seeded["support"] if endpoint.startswith("support.") else world.admin
        for headers in ({}, HX):
            browser = app.test_client()
            log_in_as(browser, user)
            response = fetch(browser, url, headers)
            where = f"{endpoint} {url} {headers}"
            assert response.status_code == 200, (where, response.status_code)
            assert response.mimetype == "text/html", where
            assert_page_headers(response, where)
            assert inline_code(response.text) == [], where
            checked += 1
    assert checked >= 30


@pytest.mark.parametrize("who", [None, "member@alpha.example"])
def test_error_pages_and_anonymous_pages_have_the_headers(client, world, who):
    if who:
        log_in_as(client, db.session.execute(select(User).filter_by(email=who)).scalar_one())
    for url in ("/login", "/docs/api", "/no-such-page", PAGE, "/support"):
        response = fetch(client, url)
        assert response.mimetype == "text/html"
        assert_page_headers(response, f"{url} as {who}")
        assert inline_code(response.text) == []


def test_hsts_only_over_https(client, world):
    plain = client.get("/login")
    assert "Strict-Transport-Security" not in plain.headers
    secure = client.get("/login", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
    assert int(secure.headers["Strict-Transport-Security"].split("=")[1].split(";")[0]) >= 15552000
    api = client.get("/api/v1/openapi.json", base_url="https://localhost")
    assert "Strict-Transport-Security" in api.headers


def test_save_and_reveal_are_never_cached(client, world):
    log_in_as(client, world.admin)
    response = client.post(f"{PAGE}/keys/generate", data={"name": "Cached?"}, headers=HX)
    draft_id = re.search(r'name="draft_id" value="([^"]+)"', response.text).group(1)
    for headers in (HX, {}):  # the htmx fragment and the no-JavaScript page
        if not headers:
            response = client.post(f"{PAGE}/keys/generate", data={"name": "No JS"})
            draft_id = re.search(r'name="draft_id" value="([^"]+)"', response.text).group(1)
        # Without JavaScript, the page each POST redirects to shows the secret (once).
        saved = shown(client, client.post(f"{PAGE}/keys/save", data={"draft_id": draft_id},
                                          headers=headers))
        assert saved.status_code == 200 and 'id="saved-api-secret"' in saved.text
        assert saved.headers["Cache-Control"] == "no-store"
        assert saved.headers["Pragma"] == "no-cache"
        revealed = shown(client, client.post(f"{PAGE}/keys/{draft_id}/reveal", headers=headers))
        assert revealed.status_code == 200 and 'id="api-secret-' in revealed.text
        assert revealed.headers["Cache-Control"] == "no-store"


def shown(client, response):
    return client.get(response.headers["Location"]) if response.status_code == 302 else response


def test_the_password_prompt_before_a_reveal_is_not_cached_either(client, world):
    log_in_as(client, world.admin)
    key, _ = generate_and_save(client)
    log_in_as(client, world.admin, fresh=False)
    prompt = client.post(f"{PAGE}/keys/{key.id}/reveal", headers=HX)
    assert prompt.status_code == 200 and 'name="password"' in prompt.text
    answer = client.post(f"{PAGE}/keys/{key.id}/reveal", data={"password": PASSWORD},
                         headers=HX)
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"


def test_api_responses_are_not_cached(client, world):
    pair = make_pair(world.firm, world.admin)
    for path in ("/api/v1/ping", "/api/v1/clients"):
        response = client.get(path, headers=basic(pair.key.api_key, pair.secret))
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"
    token = client.post("/api/v1/auth/token",
                        json={"api_key": pair.key.api_key, "api_secret": pair.secret})
    assert token.status_code == 200 and token.headers["Cache-Control"] == "no-store"


def test_a_secret_never_reaches_a_log_the_audit_log_or_the_request_log(app, client, world,
                                                                        caplog):
    caplog.set_level("DEBUG")
    log_in_as(client, world.admin)
    assert client.post(f"{PAGE}/activate", headers=HX).status_code == 200
    key, secret = generate_and_save(client)
    assert client.post(f"{PAGE}/keys/{key.id}/reveal", headers=HX).status_code == 200
    api = app.test_client()
    good = basic(key.api_key, secret)
    assert api.get("/api/v1/ping", headers=good).status_code == 200
    token = api.post("/api/v1/auth/token", json={"api_key": key.api_key, "api_secret": secret})
    assert token.status_code == 200
    # Failures carrying the secret, or a secret put where it does not belong:
    for path in ("/api/v1/ping", f"/api/v1/clients/{secret}", f"/api/v1/{secret}",
                 f"/api/v1/ping?api_secret={secret}"):
        api.get(path, headers={"X-API-Key": key.api_key, "X-API-Secret": secret[::-1]})
    api.get("/api/v1/ping", headers=basic("x" * 32, secret))
    api.post("/api/v1/auth/token", json={"api_key": key.api_key, "api_secret": secret,
                                         "extra": secret})
    assert secret not in caplog.text
    db.session.expire_all()
    for table in ("audit_events", "api_request_log", "api_usage_counters"):
        rows = db.session.execute(text(f"SELECT * FROM {table}")).all()  # noqa: S608
        assert rows or table == "api_usage_counters"
        assert secret not in repr(rows), table


def test_a_new_fernet_key_in_front_keeps_every_old_secret_working(app_config, client, world):
    """Rotation: API_SECRET_FERNET_KEYS="NEW,OLD". Old ciphertexts still reveal, new secrets
    are encrypted with NEW, and verifying (an HMAC digest) does not depend on Fernet at all."""
    log_in_as(client, world.admin)
    assert client.post(f"{PAGE}/activate", headers=HX).status_code == 200
    old_key, old_secret = generate_and_save(client, "Before the rotation")
    new_fernet = Fernet.generate_key().decode()
    keys = f"{new_fernet},{app_config['API_SECRET_FERNET_KEYS']}"  # newest first
    rotated = create_app({**app_config, "API_SECRET_FERNET_KEYS": keys})
    rotated.test_client_class = IsolatedClient
    with rotated.app_context():
        browser = rotated.test_client()
        log_in_as(browser, db.session.get(User, world.admin.id))
        revealed = browser.post(f"{PAGE}/keys/{old_key.id}/reveal", headers=HX)
        assert revealed.status_code == 200 and old_secret in revealed.text
        assert browser.get("/api/v1/ping", headers=basic(old_key.api_key, old_secret)) \
            .status_code == 200
        new_key, new_secret = generate_and_save(browser, "After the rotation")
        assert Fernet(new_fernet).decrypt(new_key.secret_ciphertext).decode() == new_secret
        db.session.remove()
        db.engine.dispose()


# --- sessions ---------------------------------------------------------------------------------


def session_cookie(client) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


def test_login_issues_a_new_session_cookie(client, world, auth):
    with client.session_transaction() as session:
        session["planted"] = "known to an attacker"
    before = session_cookie(client)
    assert before
    assert auth.login("admin@alpha.example").status_code == 302
    after = session_cookie(client)
    assert after and after != before
    with client.session_transaction() as session:
        assert "planted" not in session and session["_user_id"] == world.admin.id
    # The cookie the attacker knew is still just an anonymous session.
    attacker = client.application.test_client()
    attacker.set_cookie("session", before)
    assert attacker.get("/settings").status_code == 302


def test_logout_clears_the_session(client, world, auth):
    auth.login("admin@alpha.example")
    assert client.get("/settings").status_code == 200
    response = auth.logout()
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "session=;" in response.headers.get("Set-Cookie", "") or not session_cookie(client)
    with client.session_transaction() as session:
        assert dict(session) == {}
    assert client.get("/settings").status_code == 302


def test_logout_needs_a_post(client, world, auth):
    auth.login("admin@alpha.example")
    assert client.get("/logout").status_code == 405
    assert client.get("/settings").status_code == 200


def test_a_deactivated_user_is_logged_out_on_the_next_request(client, world):
    log_in_as(client, world.admin)
    assert client.get(PAGE).status_code == 200
    world.admin.is_active_member = False
    db.session.commit()
    response = client.get(PAGE)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


# --- changing the password --------------------------------------------------------------------


def change(client, current=PASSWORD, new=NEW_PASSWORD, confirm=None):
    data = {"current_password": current, "new_password": new,
            "confirm_password": new if confirm is None else confirm}
    return client.post(PASSWORD_PAGE, data=data)


def password_of(user_id: str) -> str:
    db.session.expire_all()
    return db.session.get(User, user_id).password_hash


@pytest.fixture
def support_user(world):
    user = make_user(None, SUPPORT_EMAIL, support=True)
    db.session.commit()
    return user


@pytest.mark.parametrize("email", ["owner@alpha.example", "admin@alpha.example",
                                   "member@alpha.example", SUPPORT_EMAIL])
def test_the_name_in_the_header_opens_the_password_page(client, world, support_user, email):
    user = db.session.execute(select(User).filter_by(email=email)).scalar_one()
    log_in_as(client, user)
    home = fetch(client, "/")
    assert re.search(rf'<a[^>]*href="{PASSWORD_PAGE}"[^>]*>{re.escape(user.name)}</a>', home.text)
    page = client.get(PASSWORD_PAGE)
    assert page.status_code == 200
    for label in ("Current password", "New password", "New password again"):
        assert f">{label}</label>" in page.text


def test_anonymous_is_sent_to_login(client, world):
    response = client.get(PASSWORD_PAGE)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/account/password")
    assert client.post(PASSWORD_PAGE, data={}).status_code == 302


@pytest.mark.parametrize("current, new, confirm, message", [
    ("wrong password", NEW_PASSWORD, None, "The current password is not right."),
    (PASSWORD, "short7!", None, "Use 8 to 200 characters."),
    (PASSWORD, NEW_PASSWORD, "something else", "The passwords differ."),
    (PASSWORD, "x" * 201, None, "Use 8 to 200 characters."),
    ("", NEW_PASSWORD, None, "This field is required."),
    (PASSWORD, "", "", "This field is required."),
])
def test_a_refused_change_changes_nothing(client, world, current, new, confirm, message):
    log_in_as(client, world.member)
    before = password_of(world.member.id)
    response = change(client, current, new, confirm)
    assert response.status_code == 422
    assert message in response.text
    assert password_of(world.member.id) == before
    assert db.session.get(User, world.member.id).session_version == 0
    assert client.get("/settings").status_code == 200  # still logged in


def test_changing_the_password_logs_out_other_sessions(app, world, auth, client):
    laptop, phone = client, app.test_client()
    auth.login("member@alpha.example")
    assert phone.post("/login", data={"email": "member@alpha.example",
                                      "password": PASSWORD}).status_code == 302
    assert phone.get("/settings").status_code == 200

    response = change(laptop)
    assert response.status_code == 302 and response.headers["Location"] == PASSWORD_PAGE
    assert "Your other sessions were logged out." in laptop.get(PASSWORD_PAGE).text
    assert db.session.get(User, world.member.id).session_version == 1

    assert laptop.get("/settings").status_code == 200  # this session goes on
    gone = phone.get("/settings")
    assert gone.status_code == 302 and gone.headers["Location"].startswith("/login")
    htmx = phone.get("/settings", headers=HX)
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/login")

    # Only the new password logs in from now on.
    assert auth.logout().status_code == 302
    assert auth.login("member@alpha.example", PASSWORD).status_code == 422
    assert auth.login("member@alpha.example", NEW_PASSWORD).status_code == 302
    assert laptop.get("/settings").status_code == 200


def test_an_old_cookie_replayed_after_a_password_change_is_refused(app, world, auth, client):
    auth.login("admin@alpha.example")
    stolen = session_cookie(client)
    assert change(client).status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get(PAGE).status_code == 302


def test_wrong_current_passwords_are_rate_limited(app, client, world):
    app.config["LOGIN_LIMIT_PER_ACCOUNT"] = "2 per minute"
    log_in_as(client, world.member)
    assert [change(client, current="nope nope").status_code for _ in range(3)] == [422, 422, 429]
    # Another user's allowance is their own.
    other = app.test_client()
    log_in_as(other, world.admin)
    assert change(other, current="nope nope").status_code == 422


def test_the_password_form_needs_a_csrf_token(app_config, world):
    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    app.test_client_class = IsolatedClient
    client = app.test_client()
    with app.app_context():
        member = db.session.execute(
            select(User).filter_by(email="member@alpha.example")
        ).scalar_one()
        log_in_as(client, member)
        refused = change(client)
        assert refused.status_code == 400 and "form expired" in refused.text
        page = client.get(PASSWORD_PAGE).text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        accepted = client.post(PASSWORD_PAGE, data={
            "csrf_token": token, "current_password": PASSWORD,
            "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD,
        })
        assert accepted.status_code == 302
        db.session.remove()
        db.engine.dispose()
