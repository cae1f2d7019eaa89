"""Probes for load balancers and orchestrators: /healthz (the process answers) and /readyz (it
can reach its database, and says whether it reaches its rate-limit storage). Both are cheap
GETs that never touch the session or set a cookie."""

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal.errors import json_error
from portal.extensions import csrf, db, limiter
from portal.limiter_fallback import storage_healthy

bp = Blueprint("health", __name__)
csrf.exempt(bp)
limiter.exempt(bp)  # probes are never rate-limited, whatever defaults are added later

RETRY_AFTER_SECONDS = 5
NO_STORE = {"Cache-Control": "no-store"}


@bp.get("/healthz")
def healthz():
    """The process is up and serving requests; says nothing about the database."""
    return jsonify(status="ok"), 200, NO_STORE


@bp.get("/readyz")
def readyz():
    """Ready for traffic: a `SELECT 1` on a pooled connection succeeds; 503 while it does not.

    Without its rate-limit storage (Redis) the app still serves, counting limits in process
    memory (fail open), so that answers 200 "degraded": a 503 would make a balancer take every
    instance out of service at once for an outage they all ride through."""
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        # One line, no traceback and no URL: the probe repeats every few seconds.
        cause = getattr(error, "orig", None) or error
        current_app.logger.warning("readyz: database unreachable (%s)", type(cause).__name__)
        return json_error(
            503,
            "SERVICE_UNAVAILABLE",
            "The database is unreachable.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS), **NO_STORE},
        )
    if not storage_healthy():
        current_app.logger.warning("readyz: rate-limit storage unreachable")
        return jsonify(status="degraded", rate_limit_storage="unreachable"), 200, NO_STORE
    return jsonify(status="ready"), 200, NO_STORE
