"""Probes for load balancers and orchestrators: /healthz (the process answers) and /readyz (it
can reach its database). Both are cheap GETs that never touch the session or set a cookie."""

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal.errors import json_error
from portal.extensions import csrf, db, limiter

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
    """Ready for traffic: a `SELECT 1` on a pooled connection succeeds; 503 while it does not."""
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
    return jsonify(status="ready"), 200, NO_STORE
