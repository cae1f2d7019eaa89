"""Guessing passwords: the time a wrong password takes names no account."""

import pytest

from portal.accounts import models as accounts
from portal.extensions import db
from tests.conftest import PASSWORD
from tests.helpers import HX, generate_and_save


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


def test_a_wrong_password_for_reveal_hashes_once(client, world, hashes):
    from tests.test_hardening import log_in_as

    log_in_as(client, world.admin, fresh=False)
    key, _ = generate_and_save(client, "Zapier")
    hashes.clear()
    response = client.post(f"/settings/apps/public-api/keys/{key.id}/reveal",
                           data={"password": "wrong password"}, headers=HX)
    assert response.status_code == 422 and len(hashes) == 1
