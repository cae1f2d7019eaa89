"""The production shape the README recommends (`make serve`: gunicorn's sync workers behind
nginx, scripts/serve): 200 connections left idle, or stalled in their headers or body, do not
stop a normal request, which answers within a second; refusals stay JSON, nginx's own too; the
app sees each client's own address. Loopback only; each wait is bounded."""

import http.client
import json
import os
import socket
import subprocess
import time

import pytest
from flask import url_for

from portal.error_codes import CATALOGUE
from portal.extensions import db
from tests.api_helpers import API, make_pair, pair_headers
from tests.gunicorn_helpers import ROOT, free_port, latency_bound, started_gunicorn, timed_get
from tests.test_serving import raw_exchange

IDLE_CONNECTIONS = 200


# gunicorn's worker's refusals (portal/serving.py, gunicorn.conf.py's limits), which nginx's
# own answer with the same words.
MESSAGES = {
    414: "The address is too long: the request line (method, path and query) may be at most "
         "4,094 bytes.",
    431: "The request's headers are too many or too large: at most 100 headers of 8,190 "
         "bytes each.",
}


@pytest.fixture
def served(request, app, app_config, tmp_path):
    return started_gunicorn(request, app_config, tmp_path, behind_nginx=True)


@pytest.fixture
def nginx_alone(request, tmp_path):
    """scripts/serve's nginx with no gunicorn behind it (as while gunicorn starts or is down):
    a stand-in that never listens takes gunicorn's place. Its port."""
    stand_in = tmp_path / "no-gunicorn"
    stand_in.write_text("#!/bin/sh\nexec sleep 300\n")
    stand_in.chmod(0o755)
    port = free_port()
    env = {**os.environ, "PORT": str(port), "UPSTREAM_PORT": str(free_port()),
           "GUNICORN": str(stand_in)}
    process = subprocess.Popen([str(ROOT / "scripts/serve")], cwd=ROOT, env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)

    def stop():
        process.terminate()
        process.wait(timeout=20)

    request.addfinalizer(stop)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, "scripts/serve exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return port
        except OSError:
            time.sleep(0.05)
    pytest.fail("nginx did not listen")


def answer(port: int, raw: bytes) -> tuple[int, dict, dict]:
    """Send `raw` as is: the answer's status, headers and JSON error. Read by its length, not
    until nginx closes the connection (after a 413 it lingers, reading the body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(raw)
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
    headers = {name.lower(): value for name, value in response.getheaders()}
    assert headers["content-type"] == "application/json", body
    assert headers["cache-control"] == "no-store"
    error = json.loads(body)["error"]
    assert error["code"] in CATALOGUE
    return response.status, headers, error


def nginx_answer(port: int, raw: bytes) -> tuple[int, dict, dict]:
    """`answer`, checking the JSON error has every field of the API's (request_id null)."""
    status, headers, error = answer(port, raw)
    assert set(error) == {"code", "message", "request_id", "doc_url"}
    assert error["request_id"] is None
    return status, headers, error


def doc_url(app, code: str) -> str:
    """The app's own link to the code's entry in the error reference."""
    with app.test_request_context(base_url="http://localhost"):
        return url_for("docs.error_reference", _anchor=code, _external=True)


def test_the_api_answers_json_while_gunicorn_is_down(app, nginx_alone):
    """502 SERVICE_UNAVAILABLE, to retry after Retry-After; portal pages keep nginx's page."""
    for method in (b"GET", b"POST"):
        raw = method + b" /api/v1/ping HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n"
        status, headers, error = nginx_answer(nginx_alone, raw)
        assert status == 502 and headers["retry-after"] == "5"
        assert error["code"] == "SERVICE_UNAVAILABLE"
        assert error["doc_url"] == doc_url(app, "SERVICE_UNAVAILABLE")
    status_line, headers, _ = raw_exchange(
        nginx_alone, b"GET /settings/apps HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    assert status_line.startswith("HTTP/1.1 502") and headers["content-type"] == "text/html"


@pytest.mark.parametrize(("raw", "status", "code"), [
    pytest.param(b"POST /api/v1/clients HTTP/1.1\r\nHost: localhost\r\n"
                 b"Content-Type: application/json\r\nContent-Length: 2097153\r\n\r\n",
                 413, "VALIDATION_ERROR", id="body-over-2MiB"),
    pytest.param(b"THIS IS NOT HTTP\r\n\r\n", 400, "VALIDATION_ERROR", id="not-http"),
    pytest.param(b"GET /api/v1/ping HTTP/1.1\r\nHost: localhost\r\nNo colon\r\n\r\n", 400,
                 "VALIDATION_ERROR", id="bad-header"),
    pytest.param(b"GET /api/" + b"a" * 20000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n", 414,
                 "VALIDATION_ERROR", id="request-line-over-16k"),
    pytest.param(b"GET /api/v1/ping HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"y" * 20000
                 + b"\r\n\r\n", 431, "VALIDATION_ERROR", id="header-over-16k"),
    pytest.param(b"POST /api/v1/clients HTTP/1.1\r\nHost: localhost\r\n"
                 b"Transfer-Encoding: foo\r\n\r\n", 501, "VALIDATION_ERROR", id="encoding"),
    pytest.param(b"TRACE /api/v1/ping HTTP/1.1\r\nHost: localhost\r\n\r\n", 405,
                 "METHOD_NOT_ALLOWED", id="trace"),
    pytest.param(b"GET /api/v1/ping HTTP/2.0\r\nHost: localhost\r\n\r\n", 505,
                 "VALIDATION_ERROR", id="http-version"),
])
def test_nginxs_own_refusals_answer_the_apis_json(app, nginx_alone, raw, status, code):
    """What nginx refuses before gunicorn could see it, in the API's shape and codes."""
    answered, _, error = nginx_answer(nginx_alone, raw)
    assert (answered, error["code"]) == (status, code)
    assert error["doc_url"] in (doc_url(app, code), f"/docs/api/errors#{code}")


def test_a_doc_url_is_never_built_from_a_host_that_could_break_the_json(nginx_alone):
    _, _, error = nginx_answer(nginx_alone, b'GET /api/v1/ping HTTP/1.1\r\nHost: a"b\r\n\r\n')
    assert error["doc_url"] == "/docs/api/errors#SERVICE_UNAVAILABLE"
    _, _, error = nginx_answer(nginx_alone, b"GET /api/v1/ping HTTP/1.1\r\nHost: api.example\r\n"
                                            b"X-Forwarded-Proto: https\r\n\r\n")
    assert error["doc_url"] == "https://api.example/docs/api/errors#SERVICE_UNAVAILABLE"


def test_slow_and_idle_clients_do_not_hold_the_workers(served, world):
    """Slow clients of each kind: one that sends nothing, one that stops in its headers, one
    that stops in its body."""
    headers = pair_headers(make_pair(world.firm, world.admin))
    stalled = [b"", b"GET /healthz HTTP/1.1\r\nHost: loc",
               b"POST /api/v1/clients HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n"
               b"Content-Type: application/json\r\n\r\n{"]
    urls = {served.base_url + "/healthz": {}, served.base_url + f"{API}/ping": headers}
    bounds = {url: latency_bound(url, url_headers) for url, url_headers in urls.items()}
    idle = [socket.create_connection(("127.0.0.1", served.port), timeout=5)
            for _ in range(IDLE_CONNECTIONS)]
    try:
        for index, sock in enumerate(idle):
            sock.sendall(stalled[index % len(stalled)])
        time.sleep(0.2)  # every connection accepted and waiting for the rest of its request
        for url, url_headers in urls.items():
            status, took = timed_get(url, url_headers)
            assert status == 200 and took < bounds[url], (url, status, took, bounds[url])
    finally:
        for sock in idle:
            sock.close()


def test_gunicorns_refusals_still_answer_json_through_nginx(served):
    """nginx's own limits sit above gunicorn's, so an integration still gets the API's JSON;
    past nginx's limits, nginx answers the same code and message itself."""
    head = b"Host: localhost\r\nConnection: close\r\n"
    for size, status in ((5000, 414), (20000, 414)):
        refused = answer(served.port, b"GET /" + b"a" * size + b" HTTP/1.1\r\n" + head + b"\r\n")
        assert refused[0] == status
        assert refused[2]["message"] == MESSAGES[414]
    for size in (9000, 20000):
        refused = answer(served.port, b"GET /healthz HTTP/1.1\r\n" + head + b"X-Big: "
                         + b"y" * size + b"\r\n\r\n")
        assert refused[0] == 431
        assert refused[2]["message"] == MESSAGES[431]


def test_the_app_sees_each_clients_own_address(served, world):
    """nginx appends the client's address to X-Forwarded-For and the app trusts that one hop
    (TRUSTED_PROXIES=1): a key allowed from 127.0.0.2 works from there, and a client elsewhere
    cannot claim that address in the header."""
    pair = make_pair(world.firm, world.admin)
    pair.key.ip_allowlist = "127.0.0.2"
    db.session.commit()

    def ping_from(source: str, headers: dict) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30,
                                                source_address=(source, 0))
        try:
            connection.request("GET", f"{API}/ping", headers={**pair_headers(pair), **headers})
            return connection.getresponse().status
        finally:
            connection.close()

    assert ping_from("127.0.0.2", {}) == 200
    assert ping_from("127.0.0.1", {"X-Forwarded-For": "127.0.0.2"}) == 403
