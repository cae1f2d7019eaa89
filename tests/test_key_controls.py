"""Key controls enforced by the API: scope, expiry, IP allow-list, roll, per-firm rate limits."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.accounts.models import Firm
from portal.crm.models import Client
from portal.diagnostics.models import ApiRequestLog
from portal.extensions import db
from portal.ids import utcnow
from portal.public_api import controls, service
from portal.public_api.models import ApiKey, KeyScope
from portal.public_api.verification import AuthFailure, verify_credentials
from tests.api_helpers import CLIENT_BODY, basic, bearer, key_headers, make_pair

PING = "/api/v1/ping"
CLIENTS = "/api/v1/clients"
FORMS = ["basic", "headers", "bearer"]


@pytest.fixture
def pair(world):
    return make_pair(world.firm, world.admin)


def auth_headers(client, pair, form: str, secret: str | None = None) -> dict:
    secret = secret or pair.secret
    if form == "bearer":
        return bearer(client, pair.key.api_key, secret)
    return (basic if form == "basic" else key_headers)(pair.key.api_key, secret)


def set_columns(key: ApiKey, **values) -> None:
    """Change a key's row directly, as time passing or an admin's earlier edit would."""
    row = db.session.get(ApiKey, key.id)
    for column, value in values.items():
        setattr(row, column, value)
    db.session.commit()


def logged_reason(response) -> str | None:
    request_id = response.headers["X-Request-Id"]
    query = select(ApiRequestLog.reason).where(ApiRequestLog.request_id == request_id)
    return db.session.execute(query).scalar_one_or_none()


def client_count() -> int:
    return db.session.execute(select(func.count()).select_from(Client)).scalar_one()


# --- scopes -----------------------------------------------------------------------------------


def test_new_keys_read_and_write(client, pair):
    assert pair.key.scope == KeyScope.READ_WRITE
    response = client.post(CLIENTS, json=CLIENT_BODY, headers=basic(pair.key.api_key, pair.secret))
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("form", FORMS)
def test_a_read_key_reads_but_its_post_is_forbidden_and_writes_nothing(client, pair, form):
    headers = auth_headers(client, pair, form)  # the token exchange (a POST) still works
    set_columns(pair.key, scope=KeyScope.READ.value)
    assert client.get(CLIENTS, headers=headers).status_code == 200
    response = client.post(CLIENTS, json=CLIENT_BODY, headers=headers)
    assert response.status_code == 403
    error = response.json["error"]
    assert error["code"] == "FORBIDDEN" and "read scope" in error["message"]
    assert client_count() == 0


def test_a_read_key_can_exchange_itself_for_a_token(client, pair):
    set_columns(pair.key, scope=KeyScope.READ.value)
    headers = bearer(client, pair.key.api_key, pair.secret)
    assert client.get(PING, headers=headers).status_code == 200


# --- expiry -----------------------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
def test_a_key_works_through_its_expiry_day_then_answers_401(client, pair, form):
    headers = auth_headers(client, pair, form)
    set_columns(pair.key, expires_on=utcnow().date())
    assert client.get(PING, headers=headers).status_code == 200
    set_columns(pair.key, expires_on=utcnow().date() - timedelta(days=1))
    expired = client.get(PING, headers=headers)
    unknown = client.get(PING, headers=key_headers("Z" * 32, "z" * 48))
    assert expired.status_code == 401
    expired_error, unknown_error = expired.json["error"], unknown.json["error"]
    # The same body as any other failure: an expired key is not told apart from a wrong one
    # (a token we signed may say it no longer works).
    if form == "bearer":
        assert expired_error["code"] == "TOKEN_INVALID"
    else:
        assert {**expired_error, "request_id": ""} == {**unknown_error, "request_id": ""}
    assert logged_reason(expired) == "KEY_EXPIRED"


def test_an_expired_key_cannot_get_a_token(client, pair):
    set_columns(pair.key, expires_on=utcnow().date() - timedelta(days=1))
    response = client.post("/api/v1/auth/token",
                           json={"api_key": pair.key.api_key, "api_secret": pair.secret})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "UNAUTHENTICATED"


def test_expiry_is_checked_only_after_the_secret(app, pair):
    set_columns(pair.key, expires_on=utcnow().date() - timedelta(days=1))
    wrong = verify_credentials(pair.key.api_key, ("x" if pair.secret[0] != "x" else "y")
                               + pair.secret[1:])
    assert wrong.failure is AuthFailure.WRONG_SECRET
    assert verify_credentials(pair.key.api_key, pair.secret).failure is AuthFailure.KEY_EXPIRED


# --- IP allow-list ----------------------------------------------------------------------------


@pytest.mark.parametrize("allowlist, address, allowed", [
    ("127.0.0.1", "127.0.0.1", True),
    ("10.0.0.0/8", "127.0.0.1", False),
    ("2001:db8::/32", "2001:db8:1::7", True),
    ("2001:db8::/32", "2001:db9::1", False),
    ("2001:db8::/32\n192.0.2.0/24", "192.0.2.99", True),
    ("192.0.2.0/24", "::ffff:192.0.2.5", True),
    ("192.0.2.0/24", "2001:db8::1", False),
])
def test_allowlist_matching(client, pair, allowlist, address, allowed):
    set_columns(pair.key, ip_allowlist=allowlist)
    response = client.get(PING, headers=basic(pair.key.api_key, pair.secret),
                          environ_base={"REMOTE_ADDR": address})
    assert response.status_code == (200 if allowed else 403), response.text
    if not allowed:
        assert response.json["error"]["code"] == "FORBIDDEN"
        assert logged_reason(response) == "IP_NOT_ALLOWED"


@pytest.mark.parametrize("form", FORMS)
def test_every_auth_form_obeys_the_allowlist(client, pair, form):
    headers = auth_headers(client, pair, form)
    set_columns(pair.key, ip_allowlist="203.0.113.0/24")
    assert client.get(PING, headers=headers).status_code == 403
    inside = client.get(PING, headers=headers, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert inside.status_code == 200


def test_a_token_cannot_be_fetched_from_outside_the_allowlist(client, pair):
    set_columns(pair.key, ip_allowlist="203.0.113.0/24")
    response = client.post("/api/v1/auth/token",
                           json={"api_key": pair.key.api_key, "api_secret": pair.secret})
    assert response.status_code == 403


def test_a_forged_forwarded_for_is_ignored_without_trusted_proxies(client, pair):
    set_columns(pair.key, ip_allowlist="203.0.113.9")
    headers = {**basic(pair.key.api_key, pair.secret), "X-Forwarded-For": "203.0.113.9"}
    assert client.get(PING, headers=headers).status_code == 403


@pytest.fixture
def proxied_app(app_config):
    from portal import create_app
    from tests.conftest import IsolatedClient

    app = create_app({**app_config, "TRUSTED_PROXIES": 1})
    app.test_client_class = IsolatedClient
    return app


def test_forwarded_for_is_honoured_behind_a_trusted_proxy(proxied_app, client, pair):
    set_columns(pair.key, ip_allowlist="203.0.113.9")
    proxied = proxied_app.test_client()
    via_proxy = {**basic(pair.key.api_key, pair.secret), "X-Forwarded-For": "203.0.113.9"}
    with proxied_app.app_context():
        assert proxied.get(PING, headers=via_proxy).status_code == 200
        other = {**via_proxy, "X-Forwarded-For": "198.51.100.1"}
        assert proxied.get(PING, headers=other).status_code == 403
        db.session.remove()


def test_allowlist_parsing_normalises_and_names_the_bad_entry():
    assert controls.clean_allowlist("10.0.0.1/24, 2001:DB8::/32\n\n192.0.2.7 10.0.0.0/24") == (
        "10.0.0.0/24\n2001:db8::/32\n192.0.2.7/32")
    assert controls.clean_allowlist("  ") is None
    with pytest.raises(controls.ControlError, match="“10.0.0.300”"):
        controls.clean_allowlist("10.0.0.1\n10.0.0.300")


# --- roll -------------------------------------------------------------------------------------


def roll(world, pair, grace: timedelta):
    key = db.session.get(ApiKey, pair.key.id)
    new = controls.roll_key(key, grace, world.admin)
    db.session.commit()
    return new


@pytest.mark.parametrize("form", FORMS)
def test_a_rolled_key_works_until_its_grace_period_ends(client, world, pair, form):
    old_headers = auth_headers(client, pair, form)
    set_columns(pair.key, scope=KeyScope.READ.value, ip_allowlist="127.0.0.1")
    new = roll(world, pair, timedelta(hours=1))
    new_headers = basic(new.key.api_key, new.secret)
    assert new.key.name == pair.key.name and new.key.api_key != pair.key.api_key
    assert (new.key.scope, new.key.ip_allowlist) == ("read", "127.0.0.1")
    assert client.get(PING, headers=old_headers).status_code == 200
    assert client.get(PING, headers=new_headers).status_code == 200
    set_columns(pair.key, retires_at=utcnow() - timedelta(seconds=1))  # the hour has passed
    stopped = client.get(PING, headers=old_headers)
    # A token we signed may say it no longer works; a key and secret read as any failure.
    code = "TOKEN_INVALID" if form == "bearer" else "UNAUTHENTICATED"
    assert stopped.status_code == 401 and stopped.json["error"]["code"] == code
    assert logged_reason(stopped) == "KEY_ROLLED"
    assert client.get(PING, headers=new_headers).status_code == 200


def test_rolling_with_no_grace_stops_the_old_pair_at_once(client, world, pair):
    new = roll(world, pair, timedelta(0))
    assert client.get(PING, headers=basic(pair.key.api_key, pair.secret)).status_code == 401
    assert client.get(PING, headers=basic(new.key.api_key, new.secret)).status_code == 200
    # Nothing may use the old secret again, so nothing of it is kept.
    assert stored_secret(pair.key) == (None, None)


def test_the_database_refuses_a_second_live_key_whose_name_folds_the_same(world, pair):
    """What holds when two saves race past the service's check (see the portal's test)."""
    def add(firm, name, saved=True):
        key = ApiKey(firm_id=firm.id, name=name, api_key=service.random_alnum(32),
                     saved_at=utcnow() if saved else None)
        db.session.add(key)
        db.session.flush()

    add(world.other_firm, "INTEGRATION")  # another firm's names are its own
    add(world.firm, "integration", saved=False)  # a draft is not a live key
    for same in ("INTEGRATION", "\uff29ntegration"):  # case; a fullwidth I
        with pytest.raises(IntegrityError, match="name_fold"):
            add(world.firm, same)
        db.session.rollback()


def test_a_roll_passes_the_old_keys_name_fold_to_its_successor(world, pair):
    """A key that shared a folded name before names were compared folded has a fold of its own
    (migration c3e1f0a9d2b4); its successor keeps that place in the index."""
    set_columns(pair.key, name_fold="f" * 64)
    other = ApiKey(firm_id=world.firm.id, name="INTEGRATION", api_key="x" * 32, saved_at=utcnow())
    db.session.add(other)
    db.session.commit()
    new = roll(world, pair, timedelta(hours=1))
    assert db.session.get(ApiKey, new.key.id).name_fold == "f" * 64


def stored_secret(key: ApiKey) -> tuple:
    db.session.expire_all()
    row = db.session.get(ApiKey, key.id)
    return row.secret_digest, row.secret_ciphertext


def test_a_rolled_keys_secret_is_kept_during_the_grace_period_and_wiped_after(
        app, client, world, pair):
    new = roll(world, pair, timedelta(hours=1))
    old_headers = basic(pair.key.api_key, pair.secret)
    assert client.get(PING, headers=old_headers).status_code == 200  # (this sweeps: nothing due)
    assert None not in stored_secret(pair.key)
    set_columns(pair.key, retires_at=utcnow() - timedelta(seconds=1))  # the hour has passed
    app.extensions["key_retirement"]._next = 0  # the sweep interval has passed too
    stopped = client.get(PING, headers=old_headers)
    stopped.close()  # the sweep runs once the answer has been sent
    assert stopped.status_code == 401 and logged_reason(stopped) == "KEY_ROLLED"
    assert stored_secret(pair.key) == (None, None)
    assert None not in stored_secret(new.key)  # the successor keeps its secret
    again = client.get(PING, headers=old_headers)
    assert again.status_code == 401 and logged_reason(again) == "KEY_ROLLED"
    assert client.get(PING, headers=basic(new.key.api_key, new.secret)).status_code == 200


def test_the_sweep_runs_at_most_once_an_interval(app, client, world, pair):
    roll(world, pair, timedelta(hours=1))
    client.get(PING, headers=basic(pair.key.api_key, pair.secret)).close()  # the first sweep
    set_columns(pair.key, retires_at=utcnow() - timedelta(seconds=1))
    client.get(PING, headers=basic(pair.key.api_key, pair.secret)).close()
    assert None not in stored_secret(pair.key)  # not due yet: SWEEP_INTERVAL is 5 minutes


def test_wipe_retired_secrets_command(app, world, pair):
    roll(world, pair, timedelta(hours=1))
    other = make_pair(world.firm, world.admin, name="Untouched")
    runner = app.test_cli_runner()
    assert "Wiped the secrets of 0 retired" in runner.invoke(args=["wipe-retired-secrets"]).output
    set_columns(pair.key, retires_at=utcnow() - timedelta(seconds=1))
    assert "Wiped the secrets of 1 retired" in runner.invoke(args=["wipe-retired-secrets"]).output
    assert stored_secret(pair.key) == (None, None)
    assert None not in stored_secret(other.key)


# --- per-firm rate limits ---------------------------------------------------------------------


def test_a_firm_override_replaces_the_default_allowance(app, client, world, pair):
    firm = db.session.get(Firm, world.firm.id)
    firm.api_read_limit, firm.api_write_limit = 3, 1
    db.session.commit()
    headers = basic(pair.key.api_key, pair.secret)
    answers = [client.get(PING, headers=headers) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0].headers["X-RateLimit-Limit"] == "3"
    write = client.post(CLIENTS, json=CLIENT_BODY, headers=headers)
    assert write.headers["X-RateLimit-Limit"] == "1"
    other = make_pair(world.other_firm, world.other_admin)
    assert client.get(PING, headers=basic(other.key.api_key, other.secret)).headers[
        "X-RateLimit-Limit"] == str(app.config["API_RATE_LIMIT_READS"])


# --- the CLI ----------------------------------------------------------------------------------


def test_set_rate_limits_cli(app, runner, world):
    result = runner.invoke(args=["set-rate-limits", "--firm", "Alpha Accounting",
                                 "--reads", "50", "--writes", "5"])
    assert result.exit_code == 0, result.output
    assert "50 reads and 5 writes a minute per key" in result.output
    firm = db.session.get(Firm, world.firm.id)
    assert (firm.api_read_limit, firm.api_write_limit) == (50, 5)
    assert db.session.get(Firm, world.other_firm.id).api_read_limit is None
    result = runner.invoke(args=["set-rate-limits", "--firm", "Alpha Accounting", "--reset",
                                 "--writes", "7"])
    db.session.expire_all()
    assert (firm.api_read_limit, firm.api_write_limit) == (None, 7)
    default = app.config["API_RATE_LIMIT_READS"]
    assert f"{default} (default) reads and 7 writes" in result.output
    from portal.audit.models import AuditEvent
    actions = db.session.execute(select(AuditEvent.action, AuditEvent.firm_id)).all()
    assert actions.count(("firm.rate_limits_changed", world.firm.id)) == 2


@pytest.mark.parametrize("args, message", [
    (["--firm", "No Such Firm", "--reads", "5"], "No firm is named"),
    (["--firm", "Alpha Accounting", "--reads", "0"], "--reads"),
    (["--firm", "Alpha Accounting", "--writes", "many"], "--writes"),
])
def test_set_rate_limits_cli_refuses_bad_input(runner, world, args, message):
    result = runner.invoke(args=["set-rate-limits", *args])
    assert result.exit_code != 0 and message in result.output
    assert db.session.get(Firm, world.firm.id).api_read_limit is None


# --- the request log --------------------------------------------------------------------------


@pytest.mark.parametrize("reason, column, value, explanation", [
    ("KEY_EXPIRED", "expires_on", lambda: utcnow().date() - timedelta(days=1),
     "passed its expiry date"),
    ("KEY_ROLLED", "retires_at", lambda: utcnow() - timedelta(minutes=1), "replaced by a roll"),
    ("IP_NOT_ALLOWED", "ip_allowlist", lambda: "198.51.100.0/24", "outside the key's IP"),
])
def test_the_admin_sees_each_new_reason_explained(client, auth, pair, reason, column, value,
                                                 explanation):
    from tests.diagnostics_helpers import LOG, row_with

    set_columns(pair.key, **{column: value()})
    response = client.get(PING, headers=basic(pair.key.api_key, pair.secret))
    assert response.status_code == (403 if reason == "IP_NOT_ALLOWED" else 401)
    auth.login("admin@alpha.example")
    row = row_with(client.get(LOG).text, response.headers["X-Request-Id"])
    assert row is not None and reason in row and explanation in row
