"""Deployment settings: PORTAL_ENV (a production app refuses development defaults) and
TRUSTED_PROXIES (how many reverse-proxy hops may set the X-Forwarded-* headers)."""

import os

from cryptography.fernet import Fernet
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

ENVIRONMENTS = ("development", "production")
# The public default of earlier versions: refused in every mode, should a config still carry it.
DEV_SECRET_KEY = "dev-only-change-me"  # noqa: S105


def configure_deployment(app: Flask, test_config: dict | None = None) -> None:
    """Read PORTAL_ENV and TRUSTED_PROXIES, refuse an unsafe production config, wrap ProxyFix.

    Runs after the rest of the configuration is loaded and before the keyring is set up, so a
    production app never falls back to (or creates) the development key file."""
    env = _setting(app, test_config, "PORTAL_ENV", "development")
    app.config["PORTAL_ENV"] = env.strip().lower() if isinstance(env, str) else env
    app.config["TRUSTED_PROXIES"] = _setting(app, test_config, "TRUSTED_PROXIES", 0)
    check_config(app.config)
    hops = app.config["TRUSTED_PROXIES"] = int(app.config["TRUSTED_PROXIES"])
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def check_config(config) -> None:
    """Raise RuntimeError naming every problem when the configuration is unfit to run."""
    env = config.get("PORTAL_ENV")
    if env not in ENVIRONMENTS:
        raise RuntimeError(f"PORTAL_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}.")
    problems = []
    proxies = config.get("TRUSTED_PROXIES")
    if not _is_hop_count(proxies):
        problems.append(f"TRUSTED_PROXIES must be a number of proxy hops >= 0, not {proxies!r}.")
    if config.get("SECRET_KEY") == DEV_SECRET_KEY:
        problems.append("SECRET_KEY is the former public default; set a long random value "
                        "(or, in development, unset it to get one of the instance's own).")
    if env == "production":
        problems += _production_problems(config)
    if problems:
        raise RuntimeError(
            f"Refusing to start with PORTAL_ENV={env}:\n"
            + "\n".join(f"  - {problem}" for problem in problems)
        )


def _production_problems(config) -> list[str]:
    problems = []
    if not config.get("SECRET_KEY"):
        problems.append("SECRET_KEY is not set (the instance key file is for development).")
    # The instance key file is a development convenience: in production, where several
    # processes or machines must share the keys, they come from the environment.
    if not config.get("API_SECRET_HMAC_KEY"):
        problems.append(
            "API_SECRET_HMAC_KEY is not set (the instance key file is for development)."
        )
    fernet_keys = config.get("API_SECRET_FERNET_KEYS")
    if not fernet_keys:
        problems.append(
            "API_SECRET_FERNET_KEYS is not set (the instance key file is for development)."
        )
    else:
        keys = fernet_keys.split(",") if isinstance(fernet_keys, str) else list(fernet_keys)
        keys = [key.strip() if isinstance(key, str) else key for key in keys]
        if not all(_is_fernet_key(key) for key in keys if key):
            problems.append(
                "API_SECRET_FERNET_KEYS must be comma-separated Fernet keys (make one with: "
                "python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')."
            )
    return problems


def _setting(app: Flask, test_config: dict | None, name: str, default):
    """Same order as the rest of the config: default < instance/config.py < environment <
    test_config."""
    if test_config and name in test_config:
        return test_config[name]
    if os.environ.get(name):
        return os.environ[name].strip()
    return app.config.get(name, default)


def _is_hop_count(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value >= 0
    return isinstance(value, str) and value.isascii() and value.isdigit()


def _is_fernet_key(key) -> bool:
    try:
        Fernet(key)
    except (ValueError, TypeError):
        return False
    return True
