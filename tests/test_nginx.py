"""The production shape the README recommends (`make serve`: gunicorn's sync workers behind
nginx, scripts/serve): 200 connections left idle, or stalled in their headers or body, do not
stop a normal request, which answers within a second; refusals stay JSON; the app sees each
client's own address. Loopback only; each wait is bounded."""

import http.client
import json
import socket
import time

import pytest

from portal.extensions import db
from tests.api_helpers import API, make_pair, pair_headers
from tests.gunicorn_helpers import latency_bound, started_gunicorn, timed_get
from tests.test_serving import raw_exchange

IDLE_CONNECTIONS = 200


@pytest.fixture
def served(request, app, app_config, tmp_path):
    return started_gunicorn(request, app_config, tmp_path, behind_nginx=True)


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
    """nginx's own limits sit above gunicorn's, so an integration still gets the API's JSON."""
    head = b"Host: localhost\r\nConnection: close\r\n"
    for raw, status in ((b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n" + head, "414"),
                        (b"GET /healthz HTTP/1.1\r\n" + head + b"X-Big: " + b"y" * 9000, "431")):
        status_line, headers, body = raw_exchange(served.port, raw + b"\r\n\r\n")
        assert status_line.split(" ")[1] == status
        assert headers["content-type"] == "application/json"
        assert json.loads(body)["error"]["code"] == "VALIDATION_ERROR"


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
