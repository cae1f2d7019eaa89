"""Idempotency-Key on creates: the same key and body within 24 h replays the first response.

A request first claims the key in a committed row (unique per firm), so concurrent retries
find it; the create and the stored response then commit together in one transaction.
"""

import hashlib
import time
from collections.abc import Callable
from datetime import timedelta

from flask import Response, current_app, g, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from portal.crm.models import IdempotencyRecord
from portal.errors import json_error
from portal.extensions import db
from portal.ids import utcnow

REPLAY_WINDOW = timedelta(hours=24)
MAX_KEY_LENGTH = 255
WAIT_FOR_FIRST_SECONDS = 10.0


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
        db.session.rollback()
        _release(record)
        raise
    if response.status_code >= 300:
        # Only completed creates are remembered; a corrected retry may reuse the key.
        db.session.rollback()
        _release(record)
        return response
    if record is not None:
        record.status_code = response.status_code
        record.response_body = response.get_data(as_text=True)
        record.location = response.headers.get("Location")
    db.session.commit()
    return response


def _claim(key: str, fingerprint: str):
    """Our own fresh record, or the response to give instead (a replay or a conflict)."""
    firm_id = g.firm_id
    db.session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.firm_id == firm_id,
            IdempotencyRecord.idempotency_key == key,
            IdempotencyRecord.created_at < utcnow() - REPLAY_WINDOW,
        )
    )
    record = IdempotencyRecord(firm_id=firm_id, idempotency_key=key,
                               request_fingerprint=fingerprint)
    db.session.add(record)
    try:
        db.session.commit()
        return record
    except IntegrityError:
        db.session.rollback()
    return _answer_for_existing(firm_id, key, fingerprint)


def _answer_for_existing(firm_id: str, key: str, fingerprint: str) -> Response:
    deadline = time.monotonic() + WAIT_FOR_FIRST_SECONDS
    while True:
        existing = db.session.execute(
            select(IdempotencyRecord).filter_by(firm_id=firm_id, idempotency_key=key)
        ).scalar_one_or_none()
        if existing is not None and existing.request_fingerprint != fingerprint:
            return json_error(
                409, "IDEMPOTENCY_KEY_REUSED",
                "This Idempotency-Key was already used with a different request body.",
            )
        if existing is not None and existing.status_code is not None:
            return _replay(existing)
        if existing is None or time.monotonic() > deadline:
            return json_error(
                409, "IDEMPOTENCY_IN_PROGRESS",
                "A request with this Idempotency-Key is still being processed; retry shortly.",
                headers={"Retry-After": "1"},
            )
        db.session.rollback()  # end the read transaction so the next poll sees new commits
        time.sleep(0.05)


def _replay(record: IdempotencyRecord) -> Response:
    response = current_app.response_class(
        record.response_body, status=record.status_code, mimetype="application/json"
    )
    if record.location:
        response.headers["Location"] = record.location
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _release(record: IdempotencyRecord | None) -> None:
    if record is None:
        return
    db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record.id))
    db.session.commit()
