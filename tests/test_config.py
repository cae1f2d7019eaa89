"""Deployment configuration: PORTAL_ENV=production refuses development defaults, and
TRUSTED_PROXIES decides whose X-Forwarded-* headers are believed."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from flask import request
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import create_app, keyring
from portal.config_checks import DEV_SECRET_KEY

ROOT = Path(__file__).resolve().parent.parent
DEPLOYMENT_VARIABLES = (
    "PORTAL_ENV", "TRUSTED_PROXIES", "SECRET_KEY", "API_SECRET_HMAC_KEY", "API_SECRET_FERNET_KEYS",
)
PRODUCTION_KEYS = {
    "SECRET_KEY": "a-long-random-production-secret-key-0123456789",
    "API_SECRET_HMAC_KEY": "a-long-random-production-hmac-key-0123456789",
    "API_SECRET_FERNET_KEYS": f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """The developer's shell must not decide these tests."""
    for name in DEPLOYMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def no_key_file(monkeypatch):
    """A production app must fail before it reads, or creates, the instance key file; tests
    that get that far (development) still get keys from their config."""
    def refuse(path, make_keys):
        raise AssertionError(f"the key file {path} was used")

    monkeypatch.setattr(keyring, "_load_or_create_key_file", refuse)


@pytest.fixture
def base_config(app_config):
    """The test config without the keys: what an operator who forgot them would run."""
    config = dict(app_config)
    for name in PRODUCTION_KEYS:
        config.pop(name)
    return config


def _production(base_config, **overrides):
    return create_app(dict(base_config, PORTAL_ENV="production", **PRODUCTION_KEYS) | overrides)


def test_development_is_the_default(app_config):
    app = create_app(app_config)
    assert app.config["PORTAL_ENV"] == "development"
    assert app.config["TRUSTED_PROXIES"] == 0
    assert not isinstance(app.wsgi_app, ProxyFix)


@pytest.mark.parametrize("env", ["development", "production"])
def test_every_mode_refuses_the_former_public_secret_key(base_config, env):
    with pytest.raises(RuntimeError, match="SECRET_KEY is the former public default"):
        create_app(dict(base_config, PORTAL_ENV=env, **PRODUCTION_KEYS) | {
            "SECRET_KEY": DEV_SECRET_KEY})


def test_production_starts_with_every_key_set(base_config):
    app = _production(base_config)
    assert app.config["PORTAL_ENV"] == "production"
    assert app.extensions["keyring"].decrypt(app.extensions["keyring"].encrypt("x")) == "x"


def test_production_takes_its_keys_from_the_environment(base_config, monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "production")
    for name, value in PRODUCTION_KEYS.items():
        monkeypatch.setenv(name, value)
    app = create_app(base_config)
    assert app.config["PORTAL_ENV"] == "production"
    assert app.config["SECRET_KEY"] == PRODUCTION_KEYS["SECRET_KEY"]


@pytest.mark.parametrize("secret_key", [DEV_SECRET_KEY, "", None])
def test_production_refuses_the_development_or_missing_secret_key(base_config, secret_key):
    with pytest.raises(RuntimeError, match="SECRET_KEY") as refused:
        _production(base_config, SECRET_KEY=secret_key)
    assert "PORTAL_ENV=production" in str(refused.value)


def test_production_refuses_to_start_when_no_secret_key_is_configured(
    base_config, monkeypatch
):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("API_SECRET_HMAC_KEY", PRODUCTION_KEYS["API_SECRET_HMAC_KEY"])
    monkeypatch.setenv("API_SECRET_FERNET_KEYS", PRODUCTION_KEYS["API_SECRET_FERNET_KEYS"])
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set"):
        create_app(base_config)


@pytest.mark.parametrize("name", ["API_SECRET_HMAC_KEY", "API_SECRET_FERNET_KEYS"])
def test_production_refuses_to_fall_back_to_the_key_file(base_config, name):
    with pytest.raises(RuntimeError, match=f"{name} is not set"):
        _production(base_config, **{name: None})


def test_production_names_every_problem_at_once(base_config, monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "production")
    with pytest.raises(RuntimeError) as refused:
        create_app(base_config)
    message = str(refused.value)
    for name in ("SECRET_KEY", "API_SECRET_HMAC_KEY", "API_SECRET_FERNET_KEYS"):
        assert name in message


def test_production_refuses_malformed_fernet_keys(base_config):
    good = Fernet.generate_key().decode()
    with pytest.raises(RuntimeError, match="Fernet keys"):
        _production(base_config, API_SECRET_FERNET_KEYS=f"{good},not-a-fernet-key")


@pytest.mark.parametrize("env", ["prod", "staging", "Productoin"])
def test_unknown_portal_env_is_refused(app_config, monkeypatch, env):
    monkeypatch.setenv("PORTAL_ENV", env)
    with pytest.raises(RuntimeError, match="PORTAL_ENV must be one of"):
        create_app(app_config)


def test_test_config_wins_over_the_environment(app_config, monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("TRUSTED_PROXIES", "3")
    app = create_app(dict(app_config, PORTAL_ENV="development", TRUSTED_PROXIES=0))
    assert app.config["PORTAL_ENV"] == "development"
    assert not isinstance(app.wsgi_app, ProxyFix)


def test_the_renamed_auth_failure_setting_is_still_read(app_config, monkeypatch):
    """PORTAL_API_AUTH_FAILURES_PER_IP (before it counted per IP and key) keeps its value."""
    monkeypatch.setenv("PORTAL_API_AUTH_FAILURES_PER_IP", "7")
    app = create_app({k: v for k, v in app_config.items()
                      if not k.startswith("API_AUTH_FAILURES")})
    assert app.config["API_AUTH_FAILURES_PER_IP_AND_KEY"] == 7
    assert "API_AUTH_FAILURES_PER_IP" not in app.config


def test_wsgi_refuses_to_start_in_production_with_development_defaults(tmp_path):
    """What `make serve` (flask db upgrade, then gunicorn wsgi:app) meets: a clear error."""
    env = {k: v for k, v in os.environ.items() if k not in DEPLOYMENT_VARIABLES}
    env |= {"PORTAL_ENV": "production", "DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite3'}"}
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "RuntimeError: Refusing to start with PORTAL_ENV=production" in result.stderr


# --- TRUSTED_PROXIES -------------------------------------------------------------------------

PROXIED = {
    "X-Forwarded-For": "203.0.113.7, 198.51.100.2",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "portal.example.com",
}


def _seen_by_app(app, headers=PROXIED):
    """What the app believes about the request: client address, scheme, host."""
    app.add_url_rule("/_whoami", "whoami", lambda: {
        "remote_addr": request.remote_addr, "scheme": request.scheme, "host": request.host,
    })
    client = app.test_client()
    response = client.get("/_whoami", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    return response.get_json()


def test_without_trusted_proxies_forwarded_headers_are_ignored(app_config):
    seen = _seen_by_app(create_app(app_config))
    assert seen == {"remote_addr": "10.0.0.1", "scheme": "http", "host": "localhost"}


def test_one_trusted_proxy_believes_the_last_hop(app_config):
    app = create_app(dict(app_config, TRUSTED_PROXIES=1))
    seen = _seen_by_app(app)
    assert seen == {"remote_addr": "198.51.100.2", "scheme": "https", "host": "portal.example.com"}


def test_trusted_proxies_from_the_environment(app_config, monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "2")
    app = create_app(app_config)
    assert app.config["TRUSTED_PROXIES"] == 2
    assert _seen_by_app(app)["remote_addr"] == "203.0.113.7"


def test_a_proxied_https_request_gets_hsts(app_config):
    """Behind a TLS-terminating proxy the app knows the request was HTTPS."""
    direct = create_app(app_config).test_client().get("/healthz", headers=PROXIED)
    assert "Strict-Transport-Security" not in direct.headers
    proxied = create_app(dict(app_config, TRUSTED_PROXIES=1)).test_client()
    assert "Strict-Transport-Security" in proxied.get("/healthz", headers=PROXIED).headers


@pytest.mark.parametrize("value", ["-1", "one", "1.5", "²"])
def test_malformed_trusted_proxies_is_refused(app_config, monkeypatch, value):
    monkeypatch.setenv("TRUSTED_PROXIES", value)
    with pytest.raises(RuntimeError, match="TRUSTED_PROXIES"):
        create_app(app_config)
