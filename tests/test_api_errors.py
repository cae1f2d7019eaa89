"""The error reference: one catalogue of every error.code, each body's doc_url to its entry,
the page that lists them, and the spec's enum; and paths under /api/ that routing refuses."""

import ast
import inspect
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from gunicorn.workers.base import Worker

from portal.error_codes import CATALOGUE, code_for_status
from portal.serving import refusal_code
from tests.api_helpers import API, make_tenants

ROOT = Path(__file__).resolve().parent.parent
PORTAL = ROOT / "portal"


def codes_in_source() -> set[str]:
    """Every code the app can answer with: the literal codes passed to json_error anywhere in
    portal/, those of deploy/nginx.conf's own answers, and what code_for_status gives a bare
    status."""
    codes = {"VALIDATION_ERROR"}  # responses.validation_error's own
    for path in PORTAL.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "json_error"
                    and len(node.args) > 1):
                code = node.args[1]
                if isinstance(code, ast.Call) and code.func.id == "code_for_status":
                    continue  # covered below
                assert isinstance(code, ast.Constant), f"{path}:{node.lineno}: a literal code"
                codes.add(code.value)
    # and the codes of the errors nginx answers itself (make serve)
    codes |= set(re.findall(r'"code":"(\w+)"', (ROOT / "deploy/nginx.conf").read_text()))
    return codes | {code_for_status(status) for status in range(300, 600)}


def test_every_code_answered_is_in_the_catalogue_and_every_entry_is_answered():
    assert codes_in_source() == set(CATALOGUE)


def test_the_servers_refusals_answer_codes_listed_for_their_status():
    """What gunicorn's worker (portal/serving.py) and nginx (deploy/nginx.conf) answer before
    the app sees a request: each code's entry in the reference lists that status."""
    gunicorn_statuses = {int(status) for status in re.findall(
        r"status_int = (\d+)", inspect.getsource(Worker.handle_error))}
    assert {400, 414, 431, 501} <= gunicorn_statuses  # the source was read
    answered = {(status, refusal_code(status)) for status in gunicorn_statuses}
    answered |= {(int(status), code) for status, code in re.findall(
        r"return (\d+) '\{\"error\":\{\"code\":\"(\w+)\"",
        (ROOT / "deploy/nginx.conf").read_text())}
    assert (505, "VALIDATION_ERROR") in answered
    unlisted = {(status, code) for status, code in answered
                if status not in CATALOGUE[code].statuses}
    assert not unlisted


def test_the_spec_enumerates_the_catalogue(client):
    document = client.get(f"{API}/openapi.json").json
    schemas = document["components"]["schemas"]
    assert set(schemas["ErrorCode"]["enum"]) == set(CATALOGUE)
    assert "doc_url" in schemas["ErrorBody"]["required"]


def test_every_operation_declares_its_errors(client):
    document = client.get(f"{API}/openapi.json").json
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            statuses = set(operation["responses"])
            assert {"429", "500", "503"} <= statuses, (method, path)
            if operation.get("security") != []:
                assert {"401", "403"} <= statuses, (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "415", "422"} <= statuses, (method, path)
            if "{" in path:
                assert "404" in statuses, (method, path)


def test_an_error_links_to_its_entry_on_the_reference_page(client, app):
    error = client.get(f"{API}/clients").json["error"]
    assert error["code"] == "UNAUTHENTICATED"
    url = urlsplit(error["doc_url"])
    assert (url.scheme, url.netloc, url.fragment) == ("http", "localhost", "UNAUTHENTICATED")
    page = client.get(url.path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for entry in CATALOGUE.values():
        assert f'id="{entry.code}"' in html
    # The catalogue's `code` spans are markup; its other text is escaped.
    assert "<code>Retry-After</code>" in html


def test_a_body_that_is_not_json_is_unsupported_media_type(client, app):
    tenants = make_tenants()
    response = client.post(f"{API}/clients", data="name=x", headers=tenants.headers,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert response.json["error"]["details"][0]["field"] == "body"


@pytest.mark.parametrize(("path", "location"), [
    ("/clients/", "/clients"),
    ("/clients/?limit=2&sort=name", "/clients?limit=2&sort=name"),
    ("//clients", "/clients"),
    ("/openapi.json/", "/openapi.json"),
    ("/clients/cli_123/", "/clients/cli_123"),
])
def test_a_misspelt_path_redirects_to_the_api_path_in_json(client, path, location):
    response = client.get(API + path)
    assert response.status_code == 308
    assert response.headers["Location"] == API + location
    error = response.json["error"]
    assert error["code"] == "PATH_REDIRECTED"
    assert f"{API}{location.split('?')[0]}" in error["message"]
    assert error["request_id"] == response.headers["X-Request-Id"]


def test_a_redirect_keeps_the_method(client):
    response = client.post(f"{API}/clients/", json={"name": "x"})
    assert response.status_code == 308
    assert response.headers["Location"] == f"{API}/clients"


@pytest.mark.parametrize("path", ["/api/", "/api/v1/", "/api/v1/nope/", "/api/v2/clients",
                                  "/api/v1/clients/x/y/"])
def test_every_path_under_api_answers_json(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    assert response.json["error"]["code"] == "NOT_FOUND"


def test_the_changelog_states_the_policy_and_the_latest_changes(client):
    page = client.get("/docs/api/changelog")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for words in ("additive only", "<code>Deprecation</code>", "<code>Sunset</code>",
                  "PATCH /clients/{client_id}", 'href="/docs/api/errors"'):
        assert words in text
    dates = re.findall(r'<time datetime="([\d-]+)">', text)
    assert dates == sorted(dates, reverse=True) and dates
