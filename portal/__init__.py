"""The Public API portal: application factory."""

import os
from pathlib import Path

from flask import Flask

from portal import cli, errors, models, security  # noqa: F401  (models: full metadata)
from portal.config_checks import configure_deployment
from portal.database import configure_connections
from portal.extensions import csrf, db, limiter, login_manager, migrate
from portal.keyring import init_keyring, init_secret_key
from portal.public_api.key_cache import install_key_cache
from portal.public_api.retirement import install_retirement_sweeper
from portal.request_body import SizedBody
from portal.sessions import PortalSessionInterface
from portal.sqlite_files import keep_sqlite_files_private

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: defaults, then instance/config.py, then environment, then test_config."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    _configure(app, test_config)
    # Objects keep their schema's field order (id first), as the API reference shows them.
    app.json.sort_keys = False
    app.wsgi_app = SizedBody(app.wsgi_app, app.config)  # chunked bodies held to the limit
    configure_deployment(app, test_config)  # PORTAL_ENV checks, TRUSTED_PROXIES
    init_secret_key(app)  # development: instance/secret-key.json
    _init_extensions(app)
    app.session_interface = PortalSessionInterface()
    _register_blueprints(app)
    errors.register(app)
    security.register(app)
    cli.register(app)
    return app


def _configure(app: Flask, test_config: dict | None) -> None:
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{Path(app.instance_path) / 'portal.sqlite3'}",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        MAX_CONTENT_LENGTH=1024 * 1024,
        SUDO_MAX_AGE_SECONDS=15 * 60,
        API_TOKEN_TTL_SECONDS=3600,
        API_ALLOW_PLAIN_HTTP=False,  # production only: True lets credentials come over HTTP
        API_SECRET_HMAC_KEY=None,
        API_SECRET_FERNET_KEYS=None,
        PAGE_SIZE=25,
        # Client lists send each client's stored JSON; off, they serialize every page (bench).
        CLIENT_LIST_STORED_JSON=True,
        RATELIMIT_STORAGE_URI="portal-memory://",  # portal/limiter_storage.py
        RATELIMIT_HEADERS_ENABLED=False,
        # Redis (say) down: limits are counted in process memory meanwhile, never a 500
        # (the API's own counting: portal/limiter_fallback.py).
        RATELIMIT_STORAGE_OPTIONS={"wrap_exceptions": True},
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_SWALLOW_ERRORS=True,
        API_RATE_LIMIT_READS=600,  # per key per minute
        API_RATE_LIMIT_WRITES=120,  # per key per minute
        API_AUTH_FAILURES_PER_IP_AND_KEY=30,  # per client IP and saved key, per minute
        API_KEY_CACHE=True,  # SQLite: key rows kept while nothing is committed (key_cache.py)
        # Failed logins (portal/auth/login_limits.py): per account from one client IP, per IP,
        # and a slowdown of every client once one account has this many failures.
        LOGIN_LIMIT_PER_ACCOUNT="10 per minute",
        LOGIN_LIMIT_PER_IP="30 per minute",
        LOGIN_ACCOUNT_SLOWDOWN_AFTER="50 per hour",
        LOGIN_LIMIT_PER_ACCOUNT_UNDER_ATTACK="1 per 15 minutes",
    )
    app.config.from_pyfile("config.py", silent=True)
    # Any setting from the environment, JSON-parsed: PORTAL_API_RATE_LIMIT_READS=1200.
    app.config.from_prefixed_env("PORTAL")
    for name in ("SECRET_KEY", "API_SECRET_HMAC_KEY", "API_SECRET_FERNET_KEYS",
                 "RATELIMIT_STORAGE_URI"):
        if os.environ.get(name):
            app.config[name] = os.environ[name]
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    # Cookies are Secure unless told otherwise: `make run` serves plain HTTP on loopback.
    if os.environ.get("SESSION_COOKIE_SECURE", "").lower() in ("0", "false", "no"):
        app.config["SESSION_COOKIE_SECURE"] = False
    if test_config:
        app.config.update(test_config)
    # The older name of this setting keeps working: a deployment that sets it keeps its value.
    if "API_AUTH_FAILURES_PER_IP" in app.config:
        app.config["API_AUTH_FAILURES_PER_IP_AND_KEY"] = app.config.pop(
            "API_AUTH_FAILURES_PER_IP")
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = _engine_options(app)


def _engine_options(app: Flask) -> dict:
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        options.setdefault("connect_args", {"timeout": 15})
    else:
        # A pooled connection the server dropped (a restart, an idle timeout) is replaced
        # before use, so the first requests after an outage do not fail.
        options.setdefault("pool_pre_ping", True)
    return options


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    keep_sqlite_files_private(app)  # before anything connects
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    configure_connections(app)
    install_key_cache(app)
    install_retirement_sweeper(app)
    init_keyring(app)


def _register_blueprints(app: Flask) -> None:
    from portal.api import bp as api_bp
    from portal.audit import bp as audit_bp
    from portal.auth import bp as auth_bp
    from portal.crm import bp as crm_bp
    from portal.diagnostics import register as register_diagnostics
    from portal.docs import bp as docs_bp
    from portal.health import bp as health_bp
    from portal.public_api import bp as public_api_bp
    from portal.settings import bp as settings_bp
    from portal.support import bp as support_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(settings_bp)
    app.register_blueprint(public_api_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(crm_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(docs_bp)
    app.register_blueprint(support_bp)
    register_diagnostics(app)  # its pages, the /api/ request recorder, `flask prune-logs`
    app.register_blueprint(health_bp)
    # The JSON API authenticates with API keys, never with the portal's session and CSRF token.
    csrf.exempt(api_bp)
