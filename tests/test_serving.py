"""What gunicorn itself answers, before the app sees a request: the API's JSON error shape;
and bodies without a Content-Length, which only a real server sends.

gunicorn refuses a request line over its limit, too many or too large headers and a line it
cannot parse; with gunicorn.conf.py's worker (portal/serving.py) those answers are JSON too.
"""

import json
import socket

import pytest
from flask import url_for
from sqlalchemy import func, select

from portal.api.envelopes import ErrorResponse
from portal.crm.models import Client
from portal.error_codes import relative_doc_url
from portal.extensions import db
from portal.limiter_storage import per_process_warning
from tests.api_helpers import make_pair, pair_headers
from tests.gunicorn_helpers import get, started_gunicorn


@pytest.fixture
def server(request, app, app_config, tmp_path):
    return started_gunicorn(request, app_config, tmp_path)


def raw_exchange(port: int, request: bytes) -> tuple[str, dict, bytes]:
    """Send `request` as is; the status line, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return status_line, {name.lower(): value for name, value in headers.items()}, body


def assert_json_refusal(answer, status: str, message_part: str) -> None:
    status_line, headers, body = answer
    assert status_line == f"HTTP/1.1 {status}"
    assert headers["content-type"] == "application/json"
    assert headers["cache-control"] == "no-store"
    assert int(headers["content-length"]) == len(body)
    # The shape of the app's own errors (the spec's ErrorBody), details aside: none to give.
    error = ErrorResponse.model_validate_json(body).error
    assert set(json.loads(body)["error"]) == {"code", "message", "request_id", "doc_url"}
    assert error.code == "VALIDATION_ERROR" and error.request_id is None
    assert message_part in error.message
    assert error.doc_url == relative_doc_url("VALIDATION_ERROR")


def test_requests_gunicorn_refuses_are_answered_in_the_apis_json_shape(app, server):
    with app.test_request_context():  # the relative doc_url is where the reference is served
        assert relative_doc_url("VALIDATION_ERROR") == url_for(
            "docs.error_reference", _anchor="VALIDATION_ERROR")
    port = server.port
    long_query = "q=" + "x" * 5000
    assert_json_refusal(
        raw_exchange(port, f"GET /api/v1/clients?{long_query} HTTP/1.1\r\n"
                           "Host: localhost\r\n\r\n".encode()),
        "414 Request-URI Too Long", "at most 4,094 bytes")
    too_many_headers = "".join(f"X-Header-{n}: {n}\r\n" for n in range(101))
    assert_json_refusal(
        raw_exchange(port, f"GET /api/v1/ping HTTP/1.1\r\nHost: localhost\r\n"
                           f"{too_many_headers}\r\n".encode()),
        "431 Request Header Fields Too Large", "at most 100 headers of 8,190 bytes")
    huge_header = "X-Big: " + "y" * 9000
    assert_json_refusal(
        raw_exchange(port, f"GET /api/v1/ping HTTP/1.1\r\nHost: localhost\r\n"
                           f"{huge_header}\r\n\r\n".encode()),
        "431 Request Header Fields Too Large", "headers are too many or too large")
    assert_json_refusal(raw_exchange(port, b"THIS IS NOT HTTP\r\n\r\n"), "400 Bad Request",
                        "could not be understood")
    assert_json_refusal(
        raw_exchange(port, b"POST /api/v1/clients HTTP/1.1\r\nHost: localhost\r\n"
                           b"Transfer-Encoding: foo\r\n\r\n"),
        "501 Not Implemented", "Transfer-Encoding is not supported")
    assert_json_refusal(
        raw_exchange(port, b"GET /api/v1/ping HTTP/1.1\r\nHost: localhost\r\n"
                           b"Expect: a-miracle\r\n\r\n"),
        "417 Expectation Failed", "Expect header is not supported")
    # The rejected line is gunicorn's to log, not echoed back.
    assert b"xxxxxxxx" not in raw_exchange(
        port, f"GET /{'x' * 5000} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())[2]


def test_the_worker_still_serves_ordinary_requests(server):
    status, body = get(server.base_url + "/api/v1/ping", {})
    assert status == 401
    assert json.loads(body)["error"]["code"] == "UNAUTHENTICATED"
    assert get(server.base_url + "/healthz", {})[0] == 200


def test_several_workers_with_in_process_limits_say_so_once_at_start(server):
    """gunicorn -w 2 with the default storage: one warning line from the master."""
    lines = [line for line in server.error_log.read_text().splitlines()
             if "Rate limits are counted per process" in line]
    assert len(lines) == 1 and "[WARNING]" in lines[0] and "become 60" in lines[0]


@pytest.mark.parametrize(("workers", "environ", "warned"), [
    (2, {}, True), (4, {"RATELIMIT_STORAGE_URI": "memory://"}, True),
    (1, {}, False), (4, {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}, False),
    (2, {"PORTAL_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}, False),
])
def test_the_warning_names_only_per_process_counting(workers, environ, warned):
    assert (per_process_warning(workers, environ) is not None) == warned


# --- bodies without a Content-Length --------------------------------------------------------

MIB = 1024 * 1024
CLIENT = {"name": "Chunked Ltd", "client_initials": "CL", "address_country_code": "EE"}


def _client_json_of(size: int) -> bytes:
    """A valid client body of exactly `size` bytes (padded with JSON whitespace)."""
    body = json.dumps(CLIENT).encode()
    return body[:-1] + b" " * (size - len(body)) + b"}"


def _chunked_post(port: int, headers: dict, body: bytes, chunk: int = 64 * 1024):
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    chunks = b"".join(f"{len(part):x}\r\n".encode() + part + b"\r\n"
                      for part in (body[i:i + chunk] for i in range(0, len(body), chunk)))
    return raw_exchange(port, (
        f"POST /api/v1/clients HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n{head}\r\n"
    ).encode() + chunks + b"0\r\n\r\n")


def test_a_chunked_body_over_the_limit_is_413_and_nothing_is_stored(server, world):
    """1 MiB of valid client JSON and then garbage: Werkzeug alone read the first 1 MiB and
    stored it (201); the whole body is over the limit, so it is refused."""
    headers = pair_headers(make_pair(world.firm, world.admin))
    over = _client_json_of(MIB) + b"THIS IS NOT JSON" * 1000
    status_line, _, body = _chunked_post(server.port, headers, over)
    assert status_line == "HTTP/1.1 413 REQUEST ENTITY TOO LARGE", body[:300]
    assert json.loads(body)["error"]["message"] == "The request body is too large."
    db.session.expire_all()
    assert db.session.execute(select(func.count()).select_from(Client)).scalar_one() == 0
    # A chunked body of exactly the limit is still read whole, and one below it too.
    for size in (MIB, 1000):
        status_line, _, body = _chunked_post(server.port, headers, _client_json_of(size))
        assert status_line == "HTTP/1.1 201 CREATED", body[:300]
