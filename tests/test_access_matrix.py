"""Every route of the URL map × every kind of caller, against an explicit rule table.

The table is keyed by (endpoint, method); a route without a rule fails the test, so a new route
cannot ship without someone deciding who may call it. Object URLs use real ids of the first
firm's key, client, contact, group and field, so "another firm" means a real object it may not
see (404), never a made-up id.
"""

import time
from dataclasses import dataclass

import pytest
from flask import url_for
from sqlalchemy import update

from portal import create_app
from portal.accounts.models import Firm
from portal.crm import service as crm
from portal.extensions import db
from tests.api_helpers import (
    api_config,
    make_pair,
    make_tenants,
    module_app,
    new_client,
    new_contact,
    pair_headers,
)
from tests.conftest import make_user, session_of

ANON, MEMBER, ADMIN, OWNER = "anonymous", "member", "admin", "owner"
SUPPORT, OTHER_ADMIN, OTHER_KEY, OWN_KEY = "support", "other firm's admin", "other key", "own key"
IDENTITIES = (ANON, MEMBER, ADMIN, OWNER, SUPPORT, OTHER_ADMIN, OTHER_KEY, OWN_KEY)
PORTAL_USERS = (MEMBER, ADMIN, OWNER, SUPPORT, OTHER_ADMIN)
KEYS = (OTHER_KEY, OWN_KEY)
# Routes that never need a rule: files served from static/.
UNRULED = {"static"}
# Methods Flask and werkzeug answer by themselves for every route.
AUTOMATIC_METHODS = {"HEAD", "OPTIONS"}


@dataclass(frozen=True)
class Redirect:
    """A 302 whose Location starts with `to`."""

    to: str

    def __repr__(self) -> str:
        return f"302→{self.to}"


LOGIN = Redirect("/login")
SETTINGS = Redirect("/settings")
PUBLIC_API_PAGE = Redirect("/settings/apps/public-api")


def everyone(expected) -> dict:
    return dict.fromkeys(IDENTITIES, expected)


def firm_page(ok=200) -> dict:
    """Any firm user; support staff have no firm (403); API keys are not portal logins."""
    return {**everyone(LOGIN), **dict.fromkeys((MEMBER, ADMIN, OWNER, OTHER_ADMIN), ok),
            SUPPORT: 403}


def admin_page(ok=200, other=None) -> dict:
    """A firm admin's page. `other`: what another firm's admin gets for this firm's object
    (404); None when the URL names no object, so they simply get their own firm's page."""
    return {**firm_page(ok), MEMBER: 403, OTHER_ADMIN: ok if other is None else other}


def api(own, other=None, *, sessions=401, anonymous=401) -> dict:
    """A JSON API route: a key is needed; portal sessions never authenticate (401)."""
    return {**dict.fromkeys(PORTAL_USERS, sessions), ANON: anonymous, OWN_KEY: own,
            OTHER_KEY: own if other is None else other}


RULES: dict[tuple[str, str], dict] = {
    # --- public, and where a login lands ---
    ("auth.index", "GET"): {**everyone(LOGIN), **dict.fromkeys(
        (MEMBER, ADMIN, OWNER, OTHER_ADMIN), SETTINGS), SUPPORT: Redirect("/support")},
    ("auth.login", "GET"): everyone(200),
    ("auth.login", "POST"): everyone(422),  # an empty form is refused, inline
    ("auth.logout", "POST"): everyone(LOGIN),
    ("auth.change_password", "GET"): {**everyone(LOGIN), **dict.fromkeys(PORTAL_USERS, 200)},
    ("auth.change_password", "POST"): {**everyone(LOGIN), **dict.fromkeys(PORTAL_USERS, 422)},
    ("health.healthz", "GET"): everyone(200),
    ("health.readyz", "GET"): everyone(200),
    ("docs.reference", "GET"): {**everyone(200), MEMBER: 403, SUPPORT: 403},
    ("docs.error_reference", "GET"): {**everyone(200), MEMBER: 403, SUPPORT: 403},
    ("docs.changelog", "GET"): {**everyone(200), MEMBER: 403, SUPPORT: 403},
    ("support.index", "GET"): {**everyone(LOGIN), **dict.fromkeys(PORTAL_USERS, 403),
                               SUPPORT: 200},
    ("support.search", "POST"): {**everyone(LOGIN), **dict.fromkeys(PORTAL_USERS, 403),
                                 SUPPORT: 200},
    # --- Settings and Apps, the Public API app, its keys and its request log ---
    ("settings.index", "GET"): firm_page(),
    ("settings.apps", "GET"): firm_page(SETTINGS),
    ("audit.index", "GET"): admin_page(),
    ("public_api.index", "GET"): admin_page(),
    ("public_api.activate", "POST"): admin_page(PUBLIC_API_PAGE),
    ("public_api.confirm_deactivate", "GET"): admin_page(),
    ("public_api.deactivate", "POST"): admin_page(PUBLIC_API_PAGE),
    ("public_api.generate_key", "POST"): admin_page(422),  # no name given
    ("public_api.save_key", "POST"): admin_page(422),  # no draft given
    ("public_api.cancel_draft", "POST"): admin_page(),
    # Fragments htmx fetches; a browser without JavaScript is sent to the page.
    ("public_api.new_key", "GET"): admin_page(PUBLIC_API_PAGE),
    ("public_api.key_table", "GET"): admin_page(PUBLIC_API_PAGE),
    ("public_api.dismiss_alerts", "POST"): admin_page(PUBLIC_API_PAGE),
    ("diagnostics.key_usage_part", "GET"): admin_page(PUBLIC_API_PAGE),
    # Recently logged in: shown (without JavaScript, on the page it redirects to).
    ("public_api.reveal_secret", "POST"): admin_page(PUBLIC_API_PAGE, other=404),
    ("public_api.hide_secret", "GET"): admin_page(other=404),
    ("public_api.confirm_delete", "GET"): admin_page(other=404),
    ("public_api.delete_key", "POST"): admin_page(PUBLIC_API_PAGE, other=404),
    ("public_api.delete_key", "DELETE"): admin_page(PUBLIC_API_PAGE, other=404),
    ("public_api.edit_controls", "GET"): admin_page(other=404),
    ("public_api.key_row", "GET"): admin_page(other=404),
    # An empty form keeps the defaults (read & write, no expiry, any IP): saved, back to the page.
    ("public_api.save_controls", "POST"): admin_page(PUBLIC_API_PAGE, other=404),
    ("public_api.confirm_roll", "GET"): admin_page(other=404),
    ("public_api.roll_key", "POST"): admin_page(422, other=404),  # no grace period given
    ("diagnostics.request_log", "GET"): admin_page(),
    # --- clients, client groups and client fields in the portal ---
    ("crm.clients", "GET"): admin_page(),
    ("crm.client_detail", "GET"): admin_page(other=404),
    ("crm.client_groups", "GET"): admin_page(),
    ("crm.add_client_group", "POST"): admin_page(422),  # no name given
    ("crm.confirm_delete_group", "GET"): admin_page(other=404),
    ("crm.delete_group", "POST"): admin_page(Redirect("/settings/client-groups"), other=404),
    ("crm.delete_group", "DELETE"): admin_page(Redirect("/settings/client-groups"), other=404),
    ("crm.client_fields", "GET"): admin_page(),
    ("crm.add_client_field", "POST"): admin_page(422),  # no name given
    ("crm.confirm_delete_field", "GET"): admin_page(other=404),
    ("crm.delete_field", "POST"): admin_page(Redirect("/settings/client-fields"), other=404),
    ("crm.delete_field", "DELETE"): admin_page(Redirect("/settings/client-fields"), other=404),
    # --- the JSON API ---
    ("api.openapi", "GET"): everyone(200),
    ("api.issue_token", "POST"): everyone(422),  # public; an empty JSON object is refused
    ("api.ping", "GET"): api(200),
    ("api.list_clients", "GET"): api(200),
    ("api.create_client", "POST"): api(422),
    ("api.get_client", "GET"): api(200, 404),
    ("api.list_contacts", "GET"): api(200),
    ("api.create_contact", "POST"): api(422),
    ("api.get_contact", "GET"): api(200, 404),
    # Without If-Match: refused before the object is looked up, whoever's it is.
    ("api.update_client", "PATCH"): api(428),
    ("api.update_contact", "PATCH"): api(428),
    ("api.list_members", "GET"): api(200),
    ("api.list_client_groups", "GET"): api(200),
    ("api.list_client_fields", "GET"): api(200),
}
# Routes that destroy the object they name get a fresh one for each call.
DESTRUCTIVE = {"public_api.delete_key", "crm.delete_group", "crm.delete_field"}


class Seed:
    pass


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with module_app(api_config(tmp_path_factory.mktemp("matrix"))) as app:
        yield app


@pytest.fixture(scope="module")
def seed(app):
    s = Seed()
    t = s.tenants = make_tenants()
    s.users = {
        MEMBER: t.member, ADMIN: t.admin, OTHER_ADMIN: t.other_admin,
        OWNER: make_user(t.firm, "owner@alpha.example", "owner"),
        SUPPORT: make_user(None, "support@uku.example", support=True),
    }
    db.session.commit()
    s.keys = {OWN_KEY: pair_headers(t.pair), OTHER_KEY: pair_headers(t.other_pair)}
    client = new_client(t.firm, name="Acme")
    s.ids = {
        "key_id": t.pair.key.id,
        "client_id": client.id,
        "contact_id": new_contact(t.firm, client).id,
        "group_id": crm.create_client_group(t.firm.id, "VIP").id,
        "field_id": crm.create_client_field(t.firm.id, "employees", "Employees", "number").id,
    }
    db.session.commit()
    return s


def fresh_ids(seed) -> dict:
    """New objects of the first firm, for a route that deletes what it names."""
    t = seed.tenants
    suffix = str(time.monotonic_ns())
    ids = {
        "key_id": make_pair(t.firm, t.admin, name=f"Doomed {suffix}").key.id,
        "group_id": crm.create_client_group(t.firm.id, f"Doomed {suffix}").id,
        "field_id": crm.create_client_field(t.firm.id, f"doomed_{suffix}", "Doomed").id,
    }
    db.session.commit()
    return ids


def routes(app) -> list[tuple[str, str, object]]:
    """(endpoint, method, rule) for every route in the URL map."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in UNRULED:
            continue
        for method in sorted(rule.methods - AUTOMATIC_METHODS):
            found.append((rule.endpoint, method, rule))
    return sorted(found, key=lambda item: (item[0], item[1]))


def test_every_route_has_a_rule_and_every_rule_a_route(app):
    in_map = {(endpoint, method) for endpoint, method, _ in routes(app)}
    missing = sorted(in_map - RULES.keys())
    assert not missing, f"routes without an access rule in RULES: {missing}"
    stale = sorted(RULES.keys() - in_map)
    assert not stale, f"rules for routes that no longer exist: {stale}"
    for key, expected in RULES.items():
        assert set(expected) == set(IDENTITIES), (key, set(IDENTITIES) - set(expected))


def open_as(app, seed, identity: str, method: str, url: str, endpoint: str):
    client = app.test_client()
    headers = {}
    if identity in seed.users:
        user = seed.users[identity]
        with client.session_transaction() as session:
            # What login_user() leaves in the session; a recent login, so Reveal needs no
            # password prompt.
            session.update(session_of(user))
    elif identity in seed.keys:
        headers = seed.keys[identity]
    kwargs = {"json": {}} if endpoint.startswith("api.") and method == "POST" else {}
    return client.open(url, method=method, headers=headers, **kwargs)


def outcome(response):
    if response.status_code == 302:
        return Redirect(response.headers["Location"])
    return response.status_code


def matches(expected, response) -> bool:
    if isinstance(expected, Redirect):
        return response.status_code == 302 and response.headers["Location"].startswith(
            expected.to)
    return response.status_code == expected


def restore_apps() -> None:
    """Activate/Deactivate calls change a firm's app status: put it back for the next call."""
    db.session.execute(update(Firm).values(api_app_active=True))
    db.session.commit()


@pytest.mark.parametrize("identity", IDENTITIES)
def test_access_matrix(app, seed, identity):
    wrong = []
    for endpoint, method, rule in routes(app):
        rules = RULES.get((endpoint, method))
        if rules is None:
            wrong.append(f"{method} {rule.rule} ({endpoint}): no rule in RULES")
            continue
        ids = {**seed.ids, **fresh_ids(seed)} if endpoint in DESTRUCTIVE else seed.ids
        unknown = set(rule.arguments) - ids.keys()
        assert not unknown, f"no id to fill {unknown} of {rule.rule}: add one to the seed"
        with app.test_request_context():
            url = url_for(endpoint, _method=method,
                          **{name: ids[name] for name in rule.arguments})
        response = open_as(app, seed, identity, method, url, endpoint)
        restore_apps()
        if not matches(rules[identity], response):
            wrong.append(f"{method} {url} ({endpoint}): expected {rules[identity]!r}, "
                         f"got {outcome(response)!r}")
    assert not wrong, f"as {identity}:\n" + "\n".join(wrong)


def test_api_refusals_are_json_and_never_a_login_redirect(app, seed):
    """Portal sessions get the API's JSON 401, not the login page."""
    for endpoint, method, rule in routes(app):
        if not endpoint.startswith("api.") or RULES[(endpoint, method)][ADMIN] != 401:
            continue
        with app.test_request_context():
            url = url_for(endpoint, _method=method,
                          **{name: seed.ids[name] for name in rule.arguments})
        response = open_as(app, seed, ADMIN, method, url, endpoint)
        assert response.status_code == 401 and response.is_json, url
        assert response.json["error"]["code"] == "UNAUTHENTICATED", url
        assert "Set-Cookie" not in response.headers, url


def test_another_firms_key_sees_none_of_this_firms_objects(app, seed):
    """Lists answer 200 for the other firm's key, but with its own rows only."""
    headers = seed.keys[OTHER_KEY]
    client = app.test_client()
    own_ids = set(seed.ids.values())
    for path in ("/api/v1/clients", "/api/v1/contacts", "/api/v1/client-groups",
                 "/api/v1/client-fields", "/api/v1/members"):
        response = client.get(path, headers=headers)
        assert response.status_code == 200, path
        assert not own_ids & {row["id"] for row in response.json["data"]}, path


def test_a_new_route_without_a_rule_is_caught():
    """The guard itself: a route nobody wrote a rule for shows up as missing."""
    extra = create_app(api_config(None))  # an in-memory database it never touches
    extra.add_url_rule("/brand-new", "brand.new", lambda: "new")
    missing = {(endpoint, method) for endpoint, method, _ in routes(extra)} - RULES.keys()
    assert missing == {("brand.new", "GET")}
