"""Idempotency-Key on creates: the same key and body within 24 h replays the first response.

The key is claimed in the create's own transaction: the claim row, the created rows and the
stored response commit together or not at all, so a crash, a killed worker or a lost database
leaves no claim behind and the retry performs the create. The unique index on (firm, key)
settles a race: the loser sees the winner's committed row and replays it. A retry that arrives
while the first is still running answers 409 IDEMPOTENCY_IN_PROGRESS at once (PostgreSQL: the
key's transaction-scoped advisory lock is taken; SQLite has one writer, so it waits its turn).
"""

import hashlib
from collections.abc import Callable
from datetime import timedelta

from flask import Response, current_app, g, request
from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError

from portal.crm.models import IdempotencyRecord
from portal.errors import json_error
from portal.extensions import db
from portal.ids import utcnow

REPLAY_WINDOW = timedelta(hours=24)
MAX_KEY_LENGTH = 255


def run_create(create: Callable[[], Response]) -> Response:
    """Run a create view's work once per Idempotency-Key; the caller's view owns nothing else."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return _commit_or_rollback(create, None)
    if not key.strip() or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        # Control characters (NUL above all: PostgreSQL refuses it in text) are no key either.
        return json_error(
            400, "VALIDATION_ERROR", "Idempotency-Key must be 1 to 255 printable characters.",
            details=[{"field": "Idempotency-Key", "message": "1 to 255 printable characters."}],
        )
    fingerprint = hashlib.sha256(
        request.method.encode() + request.path.encode() + b"\0" + request.get_data()
    ).hexdigest()
    record = _claim(key, fingerprint)
    if isinstance(record, Response):
        return record
    return _commit_or_rollback(create, record)


def _commit_or_rollback(create, record: IdempotencyRecord | None) -> Response:
    try:
        response = create()
    except Exception:
        db.session.rollback()  # the claim goes with the rest
        raise
    if response.status_code >= 300:
        # Only completed creates are remembered; a corrected retry may reuse the key.
        db.session.rollback()
        return response
    if record is not None:
        record.status_code = response.status_code
        record.response_body = response.get_data(as_text=True)
        record.location = response.headers.get("Location")
    db.session.commit()
    return response


def _claim(key: str, fingerprint: str):
    """Our own uncommitted record, or the response to give instead (a replay or a conflict)."""
    firm_id = g.firm_id
    if not _key_lock_taken(firm_id, key):
        return _in_progress()
    db.session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.firm_id == firm_id,
            IdempotencyRecord.idempotency_key == key,
            # A committed row without a response is no running request (claims commit only
            # with their create): a claim left by a version that committed it on its own.
            or_(IdempotencyRecord.created_at < utcnow() - REPLAY_WINDOW,
                IdempotencyRecord.status_code.is_(None)),
        )
    )
    existing = _committed(firm_id, key)
    if existing is not None:
        return _answered(existing, fingerprint)
    record = IdempotencyRecord(firm_id=firm_id, idempotency_key=key,
                               request_fingerprint=fingerprint)
    db.session.add(record)
    try:
        db.session.flush()  # SQLite: waits here for a concurrent create to commit
        return record
    except IntegrityError:
        db.session.rollback()
    existing = _committed(firm_id, key)
    return _in_progress() if existing is None else _answered(existing, fingerprint)


def _answered(existing: IdempotencyRecord, fingerprint: str) -> Response:
    """The replay or conflict, its transaction ended: on SQLite the DELETE above holds the one
    write lock, which until teardown would block the request's own log and usage write (another
    connection, portal/diagnostics/buffer.py). With a committed row for the key, it deleted
    nothing."""
    response = _answer_for(existing, fingerprint)
    db.session.rollback()
    return response


def _key_lock_taken(firm_id: str, key: str) -> bool:
    """PostgreSQL: take the key's advisory lock for this transaction, without waiting; False
    while another transaction holds it. The server releases it when that transaction ends,
    however it ends (a commit, a rollback, a killed process)."""
    if db.engine.dialect.name != "postgresql":
        return True
    digest = hashlib.sha256(f"{firm_id}\0{key}".encode()).digest()
    lock_id = int.from_bytes(digest[:8], "big", signed=True)
    return db.session.execute(select(func.pg_try_advisory_xact_lock(lock_id))).scalar_one()


def _committed(firm_id: str, key: str) -> IdempotencyRecord | None:
    return db.session.execute(
        select(IdempotencyRecord).filter_by(firm_id=firm_id, idempotency_key=key)
    ).scalar_one_or_none()


def _answer_for(existing: IdempotencyRecord, fingerprint: str) -> Response:
    if existing.request_fingerprint != fingerprint:
        return json_error(
            409, "IDEMPOTENCY_KEY_REUSED",
            "This Idempotency-Key was already used with a different request body.",
        )
    response = current_app.response_class(
        existing.response_body, status=existing.status_code, mimetype="application/json"
    )
    if existing.location:
        response.headers["Location"] = existing.location
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _in_progress() -> Response:
    return json_error(
        409, "IDEMPOTENCY_IN_PROGRESS",
        "A request with this Idempotency-Key is still being processed; retry shortly.",
        headers={"Retry-After": "1"},
    )
