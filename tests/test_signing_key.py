"""No signing key is a known constant, whatever the configuration: a development instance
makes one of its own (instance/secret-key.json, 0600), production refuses to start without
one, and the former public default is refused everywhere."""

import stat
import subprocess
from pathlib import Path

import pytest

import portal
from portal import create_app

SECRET_KEY_FILE_NAME = "secret-key.json"  # portal/keyring.py

ROOT = Path(__file__).resolve().parent.parent
KEY_VARIABLES = ("PORTAL_ENV", "SECRET_KEY", "API_SECRET_HMAC_KEY", "API_SECRET_FERNET_KEYS")


@pytest.fixture
def instance_root(tmp_path, monkeypatch):
    """create_app's instance/ folder under tmp_path, and no key from the developer's shell."""
    for name in KEY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(portal, "ROOT", tmp_path)
    return tmp_path


@pytest.fixture
def no_key_config(app_config):
    return {name: value for name, value in app_config.items() if name != "SECRET_KEY"}


def _shipped_text() -> str:
    """Every file the project ships (code, Makefile, README, config templates), tests aside."""
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.split()
    texts = []
    for name in listed:
        if name.startswith("tests/") or name.startswith("static/"):
            continue
        try:
            texts.append((ROOT / name).read_text())
        except (UnicodeDecodeError, FileNotFoundError):
            continue
    return "\n".join(texts)


# Each way of starting without naming a key: tests, `make run` (SESSION_COOKIE_SECURE=0),
# an explicit PORTAL_ENV=development.
CONFIG_PATHS = {
    "test config without a key": {},
    "make run": {"SESSION_COOKIE_SECURE": "0"},
    "PORTAL_ENV=development": {"PORTAL_ENV": "development"},
}


@pytest.mark.parametrize("environment", CONFIG_PATHS.values(), ids=CONFIG_PATHS.keys())
def test_no_config_path_signs_with_a_key_the_code_holds(
    instance_root, no_key_config, monkeypatch, environment
):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    key = create_app(no_key_config).config["SECRET_KEY"]
    assert isinstance(key, str) and len(key) >= 32
    assert key not in _shipped_text()


def test_the_instance_key_is_made_once_with_mode_0600_and_differs_per_instance(
    instance_root, no_key_config, tmp_path_factory, monkeypatch
):
    first = create_app(no_key_config).config["SECRET_KEY"]
    key_file = instance_root / "instance" / SECRET_KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert create_app(no_key_config).config["SECRET_KEY"] == first  # a restart keeps it
    monkeypatch.setattr(portal, "ROOT", tmp_path_factory.mktemp("another"))
    assert create_app(no_key_config).config["SECRET_KEY"] != first


def test_production_without_a_key_refuses_and_writes_no_key_file(
    instance_root, no_key_config
):
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set"):
        create_app(dict(no_key_config, PORTAL_ENV="production"))
    assert not (instance_root / "instance" / SECRET_KEY_FILE_NAME).exists()


def test_a_configured_key_is_used_and_no_file_is_made(instance_root, no_key_config, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "k" * 48)
    assert create_app(no_key_config).config["SECRET_KEY"] == "k" * 48
    assert not (instance_root / "instance" / SECRET_KEY_FILE_NAME).exists()
