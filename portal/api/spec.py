"""The OpenAPI 3.1 reference, built from the views' own pydantic models so they cannot disagree."""

from dataclasses import dataclass, field

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from portal.api.envelopes import ErrorResponse, ListMeta

REF = "#/components/schemas/{model}"
SECURITY = [{"basicAuth": []}, {"apiKey": [], "apiSecret": []}, {"bearerAuth": []}]
ERRORS = {
    "400": "Bad parameters or a body that is not JSON",
    "401": "Missing, wrong, deleted or inactive credentials",
    "403": "The key's IP allow-list excludes the caller, or a read-scope key tried to write",
    "404": "No such object in your firm",
    "409": "Idempotency-Key conflict",
    "413": "Body over 1 MiB",
    "415": "Body is not application/json",
    "422": "Validation failed; see details",
    "429": "Rate limited",
}


@dataclass
class Operation:
    summary: str
    response: type[BaseModel] | None = None
    request: type[BaseModel] | None = None
    many: bool = False
    status: int = 200
    params: list[dict] = field(default_factory=list)
    errors: tuple[str, ...] = ("401",)
    public: bool = False
    raw_response: bool = False  # the response is the model itself, not {"data": model}


def documented(**kwargs):
    """Attach reference metadata to a view; spec.build() reads it from the URL map."""

    def decorate(view):
        view.openapi = Operation(**kwargs)
        return view

    return decorate


def build(app: Flask, server_url: str = "/api/v1") -> dict:
    """The whole document for every documented /api/v1 route."""
    operations = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        op = getattr(view, "openapi", None)
        if op is not None:
            operations.append((rule, op))
    models = {ErrorResponse, ListMeta}
    for _, op in operations:
        models.update(m for m in (op.request, op.response) if m is not None)
    schemas = _component_schemas(models)
    paths: dict = {}
    for rule, op in operations:
        path = _openapi_path(rule.rule, server_url)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(rule, op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Uku Public API",
            "version": "1.0.0",
            "description": "Query your firm's data, build integrations, and create clients and "
            "contacts. Authenticate with an API key and API secret from Settings and Apps.",
        },
        "servers": [{"url": server_url}],
        "security": SECURITY,
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": _security_schemes()},
    }


def _component_schemas(models: set) -> dict:
    ordered = sorted(models, key=lambda m: m.__name__)
    _, top = models_json_schema(
        [(m, "validation") for m in ordered], ref_template=REF
    )
    return dict(sorted(top.get("$defs", {}).items()))


def _openapi_path(rule: str, prefix: str) -> str:
    path = rule.removeprefix(prefix) or "/"
    return path.replace("<", "{").replace(">", "}")


def _operation(rule, op: Operation) -> dict:
    result: dict = {
        "summary": op.summary,
        "operationId": rule.endpoint.split(".")[-1],
        "responses": {str(op.status): _success(op)},
        "parameters": _path_params(rule) + op.params,
    }
    if op.public:
        result["security"] = []
    if op.request is not None:
        result["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(op.request)}},
        }
        if op.status == 201:
            result["parameters"].append(IDEMPOTENCY_PARAM)
    # Every operation is rate limited (per key, and per IP for failed authentication) and
    # subject to the key's IP allow-list (and, for writes, its scope): 403 and 429 everywhere.
    for status in sorted({*op.errors, "403", "429"}):
        result["responses"][status] = {
            "description": ERRORS[status],
            "content": {"application/json": {"schema": _ref(ErrorResponse)}},
        }
    return result


def _success(op: Operation) -> dict:
    if op.response is None:
        return {"description": "OK"}
    if op.raw_response:
        schema = _ref(op.response)
    elif op.many:
        schema = {
            "type": "object",
            "required": ["data", "meta"],
            "properties": {"data": {"type": "array", "items": _ref(op.response)},
                           "meta": _ref(ListMeta)},
        }
    else:
        schema = {"type": "object", "required": ["data"],
                  "properties": {"data": _ref(op.response)}}
    response = {"description": "OK" if op.status == 200 else "Created",
                "content": {"application/json": {"schema": schema}}}
    if op.status == 201:
        response["headers"] = {"Location": {"schema": {"type": "string"},
                                            "description": "URL of the new object"}}
    return response


def _path_params(rule) -> list[dict]:
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in rule.arguments
    ]


def _ref(model) -> dict:
    return {"$ref": REF.format(model=model.__name__)}


def _security_schemes() -> dict:
    return {
        "basicAuth": {"type": "http", "scheme": "basic",
                      "description": "API key as the user name, API secret as the password."},
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        "apiSecret": {"type": "apiKey", "in": "header", "name": "X-API-Secret"},
        "bearerAuth": {"type": "http", "scheme": "bearer",
                       "description": "A token from POST /auth/token (1 hour)."},
    }


IDEMPOTENCY_PARAM = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "Retry safely: the same key and body within 24 h returns the first response.",
}


# Query texts: never a NUL character (a database cannot store one), and not only spaces.
NON_BLANK_TEXT = "^[^\\x00]*[^\\s\\x00][^\\x00]*$"
NO_NUL_TEXT = "^[^\\x00]*$"
SINCE = {"type": "string", "anyOf": [{"format": "date-time"}, {"format": "date"}]}


def list_params(statuses: tuple[str, ...] = (), extra: tuple[dict, ...] = ()) -> list[dict]:
    """The query parameters every list takes."""
    params = [
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                     "maximum": 100, "default": 25}},
        {"name": "cursor", "in": "query",
         "schema": {"type": "string", "minLength": 1, "pattern": "^[A-Za-z0-9_-]+$"},
         "description": "next_cursor from the previous page, with the same sort; opaque."},
        {"name": "sort", "in": "query",
         "schema": {"type": "string", "enum": ["created_at", "-created_at", "name",
                                               "updated_at"], "default": "created_at"}},
        {"name": "q", "in": "query",
         "schema": {"type": "string", "minLength": 1, "maxLength": 200,
                    "pattern": NON_BLANK_TEXT},
         "description": "Name search (case-insensitive, part of the name); not only spaces."},
        {"name": "created_since", "in": "query", "schema": SINCE,
         "description": "Only rows created at or after this time (a date means its midnight "
                        "UTC; a time without an offset is UTC)."},
        {"name": "updated_since", "in": "query", "schema": SINCE,
         "description": "Only rows updated at or after this time."},
    ]
    if statuses:
        params.append({"name": "status", "in": "query",
                       "schema": {"type": "string", "enum": list(statuses)}})
    return params + list(extra)
