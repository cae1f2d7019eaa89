"""Guessing passwords: the time a wrong password takes names no account, limits slow the
guesser without locking the owner out, and no body type gets around them."""

import pytest

from portal import create_app
from portal.accounts import models as accounts
from portal.extensions import db
from tests.conftest import PASSWORD, IsolatedClient
from tests.helpers import HX, generate_and_save

LIMITS = {
    "LOGIN_LIMIT_PER_ACCOUNT": "3 per minute",
    "LOGIN_LIMIT_PER_IP": "6 per minute",
    "LOGIN_ACCOUNT_SLOWDOWN_AFTER": "4 per hour",
    "LOGIN_LIMIT_PER_ACCOUNT_UNDER_ATTACK": "1 per 15 minutes",
}


@pytest.fixture
def hashes(monkeypatch):
    """How many times a password was hashed to compare it."""
    calls = []
    real = accounts.check_password_hash

    def counting(stored, password):
        calls.append(stored)
        return real(stored, password)

    monkeypatch.setattr(accounts, "check_password_hash", counting)
    return calls


@pytest.fixture
def limited_app(app_config, world):
    app = create_app({**app_config, **LIMITS})
    app.test_client_class = IsolatedClient
    return app


def from_ip(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def log_in(client, email="owner@alpha.example", password=PASSWORD):
    return client.post("/login", data={"email": email, "password": password}).status_code


@pytest.mark.parametrize("email, password", [
    ("nobody@alpha.example", "wrong password"),  # no such account
    ("owner@alpha.example", "wrong password"),
    ("owner@alpha.example", PASSWORD),
    ("inactive@alpha.example", PASSWORD),
])
def test_every_login_hashes_exactly_once(client, world, hashes, email, password):
    from tests.conftest import make_user

    make_user(world.firm, "inactive@alpha.example").is_active_member = False
    db.session.commit()
    log_in(client, email, password)
    assert len(hashes) == 1


def test_re_authentication_hashes_once_too(client, world, hashes):
    log_in(client)
    hashes.clear()
    response = client.post("/account/password", data={
        "current_password": "wrong password", "new_password": "x" * 12,
        "confirm_password": "x" * 12})
    assert response.status_code == 422 and len(hashes) == 1


def test_guesses_from_one_client_never_lock_out_another(limited_app):
    guesser, owner = from_ip(limited_app, "203.0.113.9"), from_ip(limited_app, "198.51.100.7")
    statuses = [log_in(guesser, password="wrong password") for _ in range(12)]
    assert statuses[:3] == [422] * 3 and set(statuses[3:]) == {429}
    assert log_in(guesser) == 429  # the guesser's right guess is refused too
    assert log_in(owner) == 302


def test_a_client_guessing_many_accounts_is_limited_per_ip(limited_app):
    guesser = from_ip(limited_app, "203.0.113.9")
    statuses = [log_in(guesser, f"u{i}@alpha.example", "wrong") for i in range(7)]
    assert statuses == [422] * 6 + [429]
    assert log_in(from_ip(limited_app, "198.51.100.7")) == 302


def test_guessing_one_account_from_many_addresses_is_slowed(limited_app):
    for number in range(4):  # the account's slowdown mark, one failure per address
        assert log_in(from_ip(limited_app, f"203.0.113.{number}"), password="wrong") == 422
    # From then on each client gets one failure for this account, not three ...
    late = from_ip(limited_app, "203.0.113.50")
    assert [log_in(late, password="wrong") for _ in range(2)] == [422, 429]
    # ... other accounts are not slowed, and a client that has not failed still gets in.
    assert [log_in(late, "admin@alpha.example", "wrong") for _ in range(2)] == [422, 422]
    assert log_in(from_ip(limited_app, "198.51.100.7")) == 302


def test_a_json_body_neither_checks_a_password_nor_gets_around_the_limit(limited_app, hashes):
    guesser = from_ip(limited_app, "203.0.113.9")
    assert [log_in(guesser, password="wrong") for _ in range(4)] == [422, 422, 422, 429]
    hashes.clear()
    for password in ("wrong", PASSWORD):
        response = guesser.post("/login", json={"email": "owner@alpha.example",
                                                "password": password})
        assert 400 <= response.status_code < 500 and response.status_code != 422
        assert "form fields" in response.text
    assert hashes == []
    assert guesser.get("/settings").status_code == 302  # not logged in


def test_a_wrong_password_for_reveal_hashes_once(client, world, hashes):
    from tests.test_hardening import log_in_as

    log_in_as(client, world.admin, fresh=False)
    key, _ = generate_and_save(client, "Zapier")
    hashes.clear()
    response = client.post(f"/settings/apps/public-api/keys/{key.id}/reveal",
                           data={"password": "wrong password"}, headers=HX)
    assert response.status_code == 422 and len(hashes) == 1
