"""Wiping the secrets of rolled keys once their grace period is over.

A retired key can no longer authenticate: verification checks `retires_at` on every request,
before the secret. Its digest and ciphertext have no use left, so they are not kept either:
- at once, when a roll stops the old key immediately;
- by every app process, at most every SWEEP_INTERVAL, after an API response (its own short
  transaction, so no cron job is needed);
- on demand with `flask wipe-retired-secrets`.
The public API key stays, as for a deleted key, so the request log can still say "rolled".
"""

import threading
import time

import click
from flask import Flask, current_app
from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from portal.errors import database_unavailable
from portal.extensions import db
from portal.ids import utcnow
from portal.public_api.models import ApiKey

SWEEP_INTERVAL = 300.0  # seconds

def wipe_retired_secrets(connection) -> int:
    """Wipe the secret of every key whose grace period has ended; how many were wiped."""
    due = select(ApiKey.id).where(
        ApiKey.retires_at <= utcnow(),
        or_(ApiKey.secret_digest.is_not(None), ApiKey.secret_ciphertext.is_not(None)),
    )
    # Read first: most sweeps find nothing, and then they write (and commit) nothing.
    ids = list(connection.execute(due).scalars())
    if ids:
        connection.execute(update(ApiKey.__table__).where(ApiKey.__table__.c.id.in_(ids))
                           .values(secret_digest=None, secret_ciphertext=None))
    return len(ids)


class RetirementSweeper:
    """Runs wipe_retired_secrets() in this process at most every `interval` seconds."""

    def __init__(self, interval: float = SWEEP_INTERVAL):
        self.interval = interval
        self._next = 0.0  # the first API response of a process sweeps
        self._lock = threading.Lock()

    def due(self) -> bool:
        return time.monotonic() >= self._next

    def sweep(self, app: Flask) -> None:
        """Wipe what is due, in a transaction of its own; an unavailable database is only
        logged (the next interval tries again)."""
        if not self._lock.acquire(blocking=False):
            return  # another thread of this process is sweeping
        try:
            self._next = time.monotonic() + self.interval
            with app.app_context():
                self._sweep_logged()
        finally:
            self._lock.release()

    def _sweep_logged(self) -> None:
        try:
            with db.engine.begin() as connection:
                wiped = wipe_retired_secrets(connection)
        except SQLAlchemyError as error:
            if not database_unavailable(error):
                raise
            current_app.logger.warning("Could not wipe retired API key secrets: %s",
                                       type(getattr(error, "orig", error)).__name__)
            return
        if wiped:
            current_app.logger.info("Wiped the secrets of %d retired API keys.", wiped)


def install_retirement_sweeper(app: Flask) -> None:
    app.extensions["key_retirement"] = RetirementSweeper(
        float(app.config.get("KEY_RETIREMENT_SWEEP_SECONDS", SWEEP_INTERVAL)))
    app.cli.add_command(wipe_retired_secrets_command)


@click.command("wipe-retired-secrets")
def wipe_retired_secrets_command():
    """Wipe the stored secrets of rolled keys whose grace period has ended."""
    with db.engine.begin() as connection:
        wiped = wipe_retired_secrets(connection)
    click.echo(f"Wiped the secrets of {wiped} retired API keys.")
