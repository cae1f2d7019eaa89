"""verify_credentials: the function the JSON API authenticates with."""

import pytest

from portal.extensions import db
from portal.public_api import service
from portal.public_api.verification import AuthFailure, verify_credentials


@pytest.fixture
def saved_pair(world):
    pair = service.generate_key_pair(world.firm, "Software Name", world.admin)
    service.save_key(pair.key, world.admin)
    service.set_app_active(world.firm, True, world.admin)
    db.session.commit()
    return pair


def test_right_pair_verifies(saved_pair):
    result = verify_credentials(saved_pair.key.api_key, saved_pair.secret)
    assert result.ok and result.key.id == saved_pair.key.id


def test_wrong_secret(saved_pair):
    wrong = ("x" if saved_pair.secret[0] != "x" else "y") + saved_pair.secret[1:]
    result = verify_credentials(saved_pair.key.api_key, wrong)
    assert result.failure is AuthFailure.WRONG_SECRET


def test_unknown_key(saved_pair):
    result = verify_credentials("A" * 32, saved_pair.secret)
    assert result.failure is AuthFailure.UNKNOWN_KEY and result.key is None


@pytest.mark.parametrize("key, secret", [("", "s"), (None, None), ("k", "")])
def test_missing(key, secret):
    assert verify_credentials(key, secret).failure is AuthFailure.MISSING_CREDENTIALS


@pytest.mark.parametrize("key, secret", [("short", "x" * 48), ("a" * 32, "with space" * 5)])
def test_malformed(key, secret):
    assert verify_credentials(key, secret).failure is AuthFailure.MALFORMED_CREDENTIALS


def test_inactive_app_then_reactivated(saved_pair, world):
    service.set_app_active(world.firm, False, world.admin)
    db.session.commit()
    result = verify_credentials(saved_pair.key.api_key, saved_pair.secret)
    assert result.failure is AuthFailure.APP_INACTIVE
    service.set_app_active(world.firm, True, world.admin)
    db.session.commit()
    assert verify_credentials(saved_pair.key.api_key, saved_pair.secret).ok


def test_deleted_key_is_recognised_as_deleted(saved_pair, world):
    service.delete_key(saved_pair.key, world.admin)
    db.session.commit()
    result = verify_credentials(saved_pair.key.api_key, saved_pair.secret)
    assert result.failure is AuthFailure.KEY_DELETED


def test_unsaved_draft_never_authenticates(world):
    service.set_app_active(world.firm, True, world.admin)
    pair = service.generate_key_pair(world.firm, "Draft", world.admin)
    db.session.commit()
    assert verify_credentials(pair.key.api_key, pair.secret).failure is AuthFailure.UNKNOWN_KEY


def test_generated_values_are_letters_and_digits_of_the_promised_length(world):
    pairs = [service.generate_key_pair(world.firm, f"k{i}", world.admin) for i in range(20)]
    for pair in pairs:
        assert len(pair.key.api_key) >= 24 and pair.key.api_key.isalnum()
        assert len(pair.secret) >= 40 and pair.secret.isalnum()
    assert len({p.secret for p in pairs}) == 20
