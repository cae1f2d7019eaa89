"""The support console: finds a 401 by its request id, shows no secret, changes nothing, and
every look-up lands in the firm's audit log; support staff see no firm page and no API data."""

import pytest
from sqlalchemy import func, select

from portal import create_app
from portal.accounts.models import User
from portal.api.views import PUBLIC_ENDPOINTS
from portal.audit.models import AuditEvent
from portal.audit.service import record_event
from portal.extensions import db
from tests.api_helpers import basic, key_headers, make_pair
from tests.conftest import make_user, session_of
from tests.diagnostics_helpers import PING, row_with, text_of, wrong

SUPPORT = "/support"
SUPPORT_EMAIL = "support@uku.example"
# Pages anyone may open, and the support console itself.
NOT_FIRM_PAGES = ("static", "auth.", "support.", "api.", "health.")


@pytest.fixture
def support(world):
    user = make_user(None, SUPPORT_EMAIL, support=True)
    db.session.commit()
    return user


@pytest.fixture
def pair(world):
    return make_pair(world.firm, world.admin, name="Software Name")


def failed_request(client, pair) -> str:
    response = client.get(PING, headers=key_headers(pair.key.api_key, wrong(pair.secret)))
    assert response.status_code == 401
    return response.json["error"]["request_id"]


def look_up(client, by: str, query: str):
    return client.post(SUPPORT, data={"by": by, "q": query})


def support_views() -> int:
    """How many support.viewed rows the audit log holds."""
    query = select(func.count()).where(AuditEvent.action == "support.viewed")
    return db.session.execute(query).scalar_one()


def look_up_button(by: str, query: str) -> str:
    """The form of a one-click look-up (a POST: a link could be followed from anywhere)."""
    return (f'<input type="hidden" name="by" value="{by}"><input type="hidden" name="q" '
            f'value="{query}">')


def test_support_lands_on_the_console_after_login(client, auth, support):
    response = auth.login(SUPPORT_EMAIL)
    assert response.headers["Location"] == "/"
    assert client.get("/").headers["Location"] == SUPPORT
    page = client.get(SUPPORT)
    assert page.status_code == 200 and "Support console" in page.text


def test_support_finds_a_401_by_its_request_id(client, auth, world, support, pair):
    request_id = failed_request(client, pair)
    auth.login(SUPPORT_EMAIL)
    page = look_up(client, "request", request_id).text
    row = row_with(page, request_id)
    assert "WRONG_SECRET" in row and "Alpha Accounting" in row and "401" in row
    assert "The API secret did not match key 'Software Name'." in row
    text = text_of(page)
    assert "Alpha Accounting" in text and "Public API Active" in text
    assert "Status changed" in text and "admin@alpha.example" in text
    assert pair.key.api_key in text and "Software Name" in text


def test_support_finds_requests_no_firm_could_see(client, auth, support, pair):
    response = client.get(PING, headers=key_headers("Z" * 32, "z" * 48))
    auth.login(SUPPORT_EMAIL)
    row = row_with(look_up(client, "request", response.headers["X-Request-Id"]).text,
                   response.headers["X-Request-Id"])
    assert "UNKNOWN_KEY" in row and "No such API key exists." in row


def test_support_never_sees_a_secret_or_a_reveal_button(client, auth, support, pair):
    request_id = failed_request(client, pair)
    auth.login(SUPPORT_EMAIL)
    for by, query in (("request", request_id), ("key", pair.key.api_key),
                      ("firm", "Alpha Accounting")):
        page = look_up(client, by, query).text
        assert pair.secret not in page and pair.key.secret_digest not in page
        assert "Reveal" not in page and "reveal" not in page
        assert "<form" not in page.split('role="search"')[1]  # the look-up is the only form


def test_support_looks_up_a_key_and_a_firm(client, auth, world, support, pair):
    auth.login(SUPPORT_EMAIL)
    by_key = text_of(look_up(client, "key", pair.key.api_key).text)
    assert "Alpha Accounting" in by_key and "Software Name" in by_key
    assert "Recent failures of key Software Name" in by_key
    assert "No saved API key" in look_up(client, "key", "Q" * 32).text
    assert "Alpha Accounting" in text_of(look_up(client, "firm", "alpha accounting").text)
    partial = look_up(client, "firm", "acc").text
    assert look_up_button("firm", "Alpha Accounting") in partial
    assert "Beta Books" not in partial
    assert "No firm has a name like this." in look_up(client, "firm", "Gamma").text


def test_a_query_of_another_kind_gets_a_link_to_the_right_look_up(client, auth, world,
                                                                   support, pair):
    """An API key pasted while the menu says "Request id" (its default) finds nothing, and says
    which look-up would: one click away."""
    request_id = failed_request(client, pair)
    auth.login(SUPPORT_EMAIL)
    page = look_up(client, "request", pair.key.api_key).text
    assert "This looks like an API key" in text_of(page)
    assert look_up_button("key", pair.key.api_key) in page
    assert "Software Name" in text_of(look_up(client, "key", pair.key.api_key).text)
    assert "This looks like a request id" in text_of(look_up(client, "key", request_id).text)
    assert "This looks like a firm name" in text_of(look_up(client, "request", "Gamma").text)
    # Found, or asked the right way: no suggestion.
    assert "This looks like" not in look_up(client, "key", pair.key.api_key).text
    assert "This looks like" not in look_up(client, "key", "Q" * 32).text


def test_each_look_up_is_in_the_firms_audit_log(client, auth, world, support, pair):
    request_id = failed_request(client, pair)
    auth.login(SUPPORT_EMAIL)
    look_up(client, "request", request_id)
    look_up(client, "key", pair.key.api_key)
    look_up(client, "firm", "acc")  # only a list of names: nothing about the firm is shown
    auth.logout()
    auth.login("admin@alpha.example")
    audit = text_of(client.get("/settings/audit-log").text)
    assert audit.count("Support viewed your API diagnostics") == 2
    assert f"{SUPPORT_EMAIL} Support viewed your API diagnostics Request id: {request_id}" in audit
    assert f"API key: {pair.key.api_key}" in audit
    auth.logout()
    auth.login("admin@beta.example")
    assert "Support viewed" not in client.get("/settings/audit-log").text


def test_support_sees_only_the_public_apis_audit_entries(client, auth, world, support):
    record_event(world.firm.id, world.admin, "client_group.created", "Very Private Client")
    for action in ("key.rolled", "key.scope_changed", "firm.rate_limits_changed"):
        record_event(world.firm.id, world.admin, action, f"Subject of {action}")
    db.session.commit()
    auth.login(SUPPORT_EMAIL)
    page = look_up(client, "firm", "Alpha Accounting").text
    assert "Very Private Client" not in page
    for action in ("key.rolled", "key.scope_changed", "firm.rate_limits_changed"):
        assert f"Subject of {action}" in page


def _firm_pages(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(NOT_FIRM_PAGES):
            continue
        path = rule.build({name: "x" for name in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, path


def test_support_gets_403_on_every_firm_page(app, client, auth, support):
    auth.login(SUPPORT_EMAIL)
    pages = list(_firm_pages(app))
    assert ("GET", "/settings/apps/public-api/log") in pages and len(pages) > 10
    for method, path in pages:
        assert client.open(path, method=method).status_code == 403, (method, path)


def test_support_gets_401_on_every_api_route(app, client, auth, support, pair):
    auth.login(SUPPORT_EMAIL)  # a portal session is no API credential
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        path = rule.build({name: "x" for name in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method, json={})
            assert response.status_code == 401, (method, path)
    assert client.get(PING, headers=basic(pair.key.api_key, pair.secret)).status_code == 200


@pytest.mark.parametrize("who", ["owner@alpha.example", "admin@alpha.example",
                                 "member@alpha.example"])
def test_firm_users_get_403_on_the_console(client, auth, world, who):
    auth.login(who)
    assert client.get(SUPPORT).status_code == 403
    assert client.get(SUPPORT, query_string={"by": "firm", "q": "Beta Books"}).status_code == 403


def test_anonymous_visitors_are_sent_to_login(client, world):
    response = client.get(SUPPORT)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_look_up_link_followed_from_elsewhere_shows_and_writes_nothing(
        client, auth, world, support, pair):
    """A page on another site that sends support staff to /support?by=firm&q=... gets the
    form filled in: no firm's data, no audit row. Looking up is a POST with the CSRF token."""
    auth.login(SUPPORT_EMAIL)
    page = client.get(SUPPORT, query_string={"by": "firm", "q": "Alpha Accounting"},
                      headers={"Referer": "https://elsewhere.example/"})
    assert page.status_code == 200 and 'value="Alpha Accounting"' in page.text
    assert "Software Name" not in page.text
    assert support_views() == 0
    assert look_up(client, "firm", "Alpha Accounting").status_code == 200
    assert support_views() == 1  # the form's POST does look up


def test_a_look_up_needs_the_csrf_token(app_config, world):
    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    with app.app_context():
        make_user(None, SUPPORT_EMAIL, support=True)
        db.session.commit()
        with client.session_transaction() as session:
            user = db.session.execute(select(User).filter_by(email=SUPPORT_EMAIL)).scalar_one()
            session.update(session_of(user))
        refused = client.post(SUPPORT, data={"by": "firm", "q": "Alpha Accounting"})
        assert refused.status_code == 400 and "Alpha" not in refused.text
        assert support_views() == 0
        db.session.remove()
        db.engine.dispose()
