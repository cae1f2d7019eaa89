"""Every API endpoint (enumerated from the app's URL map, so a new one is covered the day it is
added), fed every type of value in place of every path id, query parameter and body field, and
the body as JSON, form, multipart and file parts: never a 500, always the API's JSON.

The fields and parameters come from the served OpenAPI document, the baseline body from its
example: a field the spec does not show cannot be tested here, nor can it be sent by a client.
"""

import base64
import io
import json
import re
from urllib.parse import quote

import pytest

from tests.api_helpers import api_config, make_tenants, module_app, new_client

NESTED_LIST = json.loads("[" * 100 + "]" * 100)
NESTED_OBJECT = json.loads('{"a":' * 100 + "1" + "}" * 100)
JSON_VALUES = [None, True, -1, 2**70, 1.5, "", "x" * 10_000, "a\x00b", "\ud800", [None],
               ["x"] * 500, {"a": 1}, NESTED_LIST, NESTED_OBJECT]
TEXT_VALUES = ["", "x" * 5000, "a\x00b", "😀\u202e", "[[[{", "-1e309", "../%00",
               base64.urlsafe_b64encode(b"[" * 1100).decode()]
SKIPPED = {"/api/v1/openapi.json"}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with module_app(api_config(tmp_path_factory.mktemp("every-input"))) as app:
        yield app


@pytest.fixture(scope="module")
def world(app):
    tenants = make_tenants()
    client = new_client(tenants.firm, name="Acme")
    spec = app.test_client().get("/api/v1/openapi.json").json
    return {"headers": tenants.headers, "client_id": client.id, "spec": spec}


def _operations(app) -> list[tuple[str, str]]:
    return sorted(
        (rule.rule, method) for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule.rule not in SKIPPED
        for method in rule.methods - {"HEAD", "OPTIONS"}
    )


def _spec_operation(spec: dict, rule: str, method: str) -> dict:
    path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.removeprefix("/api/v1"))
    return spec["paths"][path][method.lower()]


def _body_schema(spec: dict, operation: dict) -> tuple[dict, list[str]]:
    """The request body's example and its field names."""
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return {}, []
    schema = content["schema"]
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return dict(content.get("example") or {}), sorted(schema.get("properties", {}))


def _check(response, what) -> None:
    assert response.status_code < 500, (what, response.status_code, response.text[:300])
    assert response.is_json, (what, response.text[:300])
    if response.status_code >= 400:
        assert set(response.json) == {"error"} and response.json["error"]["code"], what


def _path(rule: str, value: str) -> str:
    return re.sub(r"<(?:\w+:)?\w+>", quote(value, safe=""), rule)


def _send(client, world, rule, method, *, path_value=None, query="", **kwargs):
    path = _path(rule, path_value if path_value is not None else world["client_id"])
    return client.open(path + query, method=method, headers=world["headers"], **kwargs)


def test_every_path_id_and_query_parameter(app, world):
    client = app.test_client()
    for rule, method in _operations(app):
        operation = _spec_operation(world["spec"], rule, method)
        names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
        for name in [*names, "unknown"]:
            for value in TEXT_VALUES:
                query = f"?{quote(name)}={quote(value, safe='')}"
                _check(_send(client, world, rule, method, query=query), (rule, name, value))
        if "<" in rule:
            for value in TEXT_VALUES:
                _check(_send(client, world, rule, method, path_value=value or "x"),
                       (rule, "path", value))


def test_every_type_in_every_body_field(app, world):
    client = app.test_client()
    for rule, method in _operations(app):
        example, fields = _body_schema(world["spec"], _spec_operation(world["spec"], rule,
                                                                      method))
        for field in fields:
            for value in JSON_VALUES:
                body = json.dumps({**example, field: value})
                response = _send(client, world, rule, method, data=body,
                                 content_type="application/json")
                _check(response, (rule, field, repr(value)[:40]))
        for value in JSON_VALUES if fields else []:
            _check(_send(client, world, rule, method, data=json.dumps(value),
                         content_type="application/json"), (rule, "body", repr(value)[:40]))


def test_every_body_framing(app, world):
    """Form, multipart with text parts and with file parts: the API takes JSON only."""
    client = app.test_client()
    for rule, method in _operations(app):
        example, fields = _body_schema(world["spec"], _spec_operation(world["spec"], rule,
                                                                      method))
        text = {field: str(example.get(field, "x")) for field in fields} or {"name": "x"}
        framings = {
            "form": {"data": text},
            "multipart": {"data": text, "content_type": "multipart/form-data"},
            "files": {"data": {name: (io.BytesIO(b"x" * 2000), "f.json") for name in text},
                      "content_type": "multipart/form-data"},
            "json-as-text": {"data": json.dumps(example), "content_type": "text/plain"},
            "json-charset": {"data": json.dumps(example).encode("utf-16"),
                             "content_type": "application/json; charset=utf-16"},
        }
        for name, kwargs in framings.items():
            _check(_send(client, world, rule, method, **kwargs), (rule, method, name))
