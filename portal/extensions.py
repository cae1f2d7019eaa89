"""Extensions, created once and bound to the app in create_app()."""

from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

import portal.limiter_storage  # noqa: F401  (registers the portal-memory:// storage scheme)

# Named constraints keep migrations portable between SQLite (batch mode) and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
# Limits for portal views are declared on the views; the API's per-key limits use the same
# storage (RATELIMIT_STORAGE_URI: portal-memory:// by default, redis:// for several processes).
limiter = Limiter(key_func=get_remote_address, strategy="fixed-window")


@limiter.request_filter
def _api_limits_itself() -> bool:
    """The API limits per key in its own before_request (portal/api/ratelimit.py): a request
    filter skips all of Flask-Limiter's per-request work there (exempt() would still resolve
    the view's limits on every call), which keeps the API's hot path short."""
    return request.blueprint == "api"
