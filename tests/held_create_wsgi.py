"""wsgi:app for fault tests: a client create sent with `X-Test-Hold: 1` stops after its rows
(and its Idempotency-Key's claim) are written, before the commit, and waits there while the file
TEST_HOLD_FILE exists (30 s at most). The file holds the worker's pid, so the test knows when
the create is waiting and which process to kill."""

import os
import time
from pathlib import Path

from flask import request

from portal.crm import service
from wsgi import app

HOLD_FILE = Path(os.environ["TEST_HOLD_FILE"])
HOLD_SECONDS = 30
_create_client = service.create_client


def held_create_client(firm_id, payload):
    created = _create_client(firm_id, payload)
    if request.headers.get("X-Test-Hold"):
        HOLD_FILE.write_text(str(os.getpid()))
        deadline = time.monotonic() + HOLD_SECONDS
        while HOLD_FILE.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    return created


service.create_client = held_create_client
__all__ = ["app"]
