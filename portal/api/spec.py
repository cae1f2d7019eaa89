"""The OpenAPI 3.1 reference, built from the views' own pydantic models so they cannot disagree."""

import copy
from dataclasses import dataclass, field

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from portal.api.envelopes import ErrorResponse, ListMeta
from portal.api.examples import LIST_META, error_example, example_of
from portal.api.list_query import NO_NUL_TEXT
from portal.api.spec_docs import (
    DESCRIPTION,
    HEADERS,
    TAG_OF_SEGMENT,
    TAGS,
    headers_for,
    name_enums,
)

REF = "#/components/schemas/{model}"
SECURITY = [{"basicAuth": []}, {"apiKey": [], "apiSecret": []}, {"bearerAuth": []}]
ERRORS = {
    "400": "Bad parameters or a body that is not JSON",
    "401": "Missing, wrong, deleted or inactive credentials",
    "403": "The key's IP allow-list excludes the caller, or a read-scope key tried to write",
    "404": "No such object in your firm",
    "409": "Idempotency-Key conflict",
    "412": "If-Match is not the object's current ETag: it changed since you read it",
    "428": "If-Match is missing",
    "413": "Body over 1 MiB",
    "415": "Body is not application/json",
    "422": "Validation failed; see details",
    "429": "Rate limited",
    "500": "Something failed on our side; nothing was saved",
    "503": "Briefly unavailable; retry after Retry-After seconds",
}
# Every operation: rate limited (per key, and per IP and key for failed authentication),
# subject to the key's IP allow-list (and, for writes, its scope), and may fail on our side.
EVERY_OPERATION_ERRORS = ("403", "429", "500", "503")


# The id of the object a create or a read answered with ({"data": {"id": ...}}).
RESPONSE_ID = "$response.body#/data/id"


@dataclass(frozen=True)
class Link:
    """An OpenAPI link: how a value of this operation's answer feeds another operation.

    Clients (and schemathesis' stateful tests) follow links to chain calls, e.g. create a client,
    then read it back by the id the answer carried.
    """

    name: str
    operation: str  # the target's operationId: its view function's name
    description: str
    parameters: dict[str, str] = field(default_factory=dict)  # target parameter: expression
    body: dict[str, str] | None = None  # fields of the target's request body: expression

    def document(self) -> dict:
        link: dict = {"operationId": self.operation, "description": self.description}
        if self.parameters:
            link["parameters"] = dict(self.parameters)
        if self.body is not None:
            link["requestBody"] = dict(self.body)
        return link


@dataclass
class Operation:
    summary: str
    description: str = ""  # the view's docstring when not given
    response: type[BaseModel] | None = None
    request: type[BaseModel] | None = None
    many: bool = False
    status: int = 200
    params: list[dict] = field(default_factory=list)
    errors: tuple[str, ...] = ("401",)
    public: bool = False
    raw_response: bool = False  # the response is the model itself, not {"data": model}
    links: tuple[Link, ...] = ()  # follow-up operations, from the success response
    etag: bool = False  # the success answer carries the object's ETag


def documented(**kwargs):
    """Attach reference metadata to a view; spec.build() reads it from the URL map."""

    def decorate(view):
        view.openapi = Operation(**{"description": view.__doc__ or "", **kwargs})
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
    _check_links(operations)
    models = {ErrorResponse, ListMeta}
    for _, op in operations:
        models.update(m for m in (op.request, op.response) if m is not None)
    schemas = _component_schemas(models)
    for _, op in operations:
        if op.request is not None:
            _refuse_nul(schemas[op.request.__name__])
    paths: dict = {}
    for rule, op in operations:
        path = _openapi_path(rule.rule, server_url)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(rule, op)
    document = copy.deepcopy({
        "openapi": "3.1.0",
        "info": {"title": "Uku Public API", "version": "1.0.0", "description": DESCRIPTION},
        "servers": [{"url": server_url}],
        "security": SECURITY,
        "tags": [{"name": name, "description": text} for name, text in TAGS.items()],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": _security_schemes(),
                       "headers": HEADERS},
    })
    name_enums(document["components"]["schemas"], [
        param for methods in document["paths"].values() for operation in methods.values()
        for param in operation["parameters"]])
    return document


def served(document: dict, root_url: str) -> dict:
    """The document as served at `root_url` (scheme and host, from the request or SERVER_NAME):
    absolute server, contact and licence URLs, which generators and linters want."""
    root_url = root_url.rstrip("/")
    docs = root_url + "/docs/api"
    info = {**document["info"], "contact": {"name": "Uku API support", "url": docs},
            "license": {"name": "Uku API terms", "url": docs + "#terms"}}
    servers = [{"url": root_url + server["url"]} for server in document["servers"]]
    return {**document, "info": info, "servers": servers}


def _component_schemas(models: set) -> dict:
    ordered = sorted(models, key=lambda m: m.__name__)
    _, top = models_json_schema(
        [(m, "validation") for m in ordered], ref_template=REF
    )
    return dict(sorted(top.get("$defs", {}).items()))


def _refuse_nul(schema) -> None:
    """parse_body refuses a NUL in any string of a body, keys included (PostgreSQL cannot store
    one): say so on every string of a request schema that has no pattern or fixed values."""
    if isinstance(schema, list):
        for item in schema:
            _refuse_nul(item)
        return
    if not isinstance(schema, dict):
        return
    kind = schema.get("type")
    if (kind == "string" or (isinstance(kind, list) and "string" in kind)) and not (
        {"pattern", "enum", "const"} & schema.keys()
    ):
        schema["pattern"] = NO_NUL_TEXT
    if isinstance(schema.get("propertyNames"), dict):
        schema["propertyNames"].setdefault("pattern", NO_NUL_TEXT)
    for value in schema.values():
        _refuse_nul(value)


def _openapi_path(rule: str, prefix: str) -> str:
    path = rule.removeprefix(prefix) or "/"
    return path.replace("<", "{").replace(">", "}")


def _operation(rule, op: Operation) -> dict:
    segment = rule.rule.removeprefix("/api/v1/").split("/")[0]
    result: dict = {
        "tags": [TAG_OF_SEGMENT.get(segment, segment.capitalize())],
        "summary": op.summary,
        "description": op.description,
        "operationId": rule.endpoint.split(".")[-1],
        "responses": {str(op.status): _success(op)},
        "parameters": _path_params(rule) + op.params,
    }
    if op.links:
        result["responses"][str(op.status)]["links"] = {
            link.name: link.document() for link in op.links
        }
    if op.public:
        result["security"] = []
    if op.request is not None:
        result["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(op.request),
                                             "example": example_of(op.request)}},
        }
        if op.status == 201:
            result["parameters"].append(IDEMPOTENCY_PARAM)
    for status in sorted({*op.errors, *EVERY_OPERATION_ERRORS}):
        example = ErrorResponse.model_validate(error_example(status)).model_dump(
            mode="json", exclude_none=True)
        retry = ("Retry-After",) if status in ("429", "503") else ()
        result["responses"][status] = {
            "description": ERRORS[status],
            "headers": headers_for(status, *retry),
            "content": {"application/json": {"schema": _ref(ErrorResponse), "example": example}},
        }
    return result


def _success(op: Operation) -> dict:
    if op.response is None:
        return {"description": "OK", "headers": headers_for(str(op.status))}
    example = example_of(op.response)
    if op.raw_response:
        schema = _ref(op.response)
    elif op.many:
        schema = {
            "type": "object",
            "required": ["data", "meta"],
            "properties": {"data": {"type": "array", "items": _ref(op.response)},
                           "meta": _ref(ListMeta)},
        }
        example = {"data": [example], "meta": ListMeta.model_validate(LIST_META).model_dump()}
    else:
        schema = {"type": "object", "required": ["data"],
                  "properties": {"data": _ref(op.response)}}
        example = {"data": example}
    headers = ("Location", "Idempotent-Replayed") if op.status == 201 else ()
    return {"description": "OK" if op.status == 200 else "Created",
            "headers": headers_for(str(op.status), *headers, *(("ETag",) if op.etag else ())),
            "content": {"application/json": {"schema": schema, "example": example}}}


def _check_links(operations: list) -> None:
    """Refuse a link to a missing operation, parameter or body field: a renamed view or
    parameter would otherwise leave a dangling link that clients find only by following it."""
    targets = {rule.endpoint.split(".")[-1]: (rule, op) for rule, op in operations}
    for _, op in operations:
        for link in op.links:
            if link.operation not in targets:
                raise ValueError(f"link {link.name}: there is no operation {link.operation}")
            rule, target = targets[link.operation]
            params = set(rule.arguments) | {param["name"] for param in target.params}
            fields = set(target.request.model_fields) if target.request is not None else set()
            # A name may say where the parameter goes: "header.If-Match".
            named = {name.split(".", 1)[-1] for name in link.parameters}
            unknown = (named - params) | (set(link.body or ()) - fields)
            if unknown or (link.body is not None and target.request is None):
                raise ValueError(f"link {link.name}: {link.operation} takes no "
                                 f"{', '.join(sorted(unknown)) or 'request body'}")


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


# What run_create takes: printable characters (str.isprintable() of a header value, which WSGI
# gives as Latin-1: no control characters, no NBSP or soft hyphen), not only spaces.
VISIBLE = "!-~\u00a1-\u00ac\u00ae-\u00ff"
IDEMPOTENCY_KEY_TEXT = f"^[ {VISIBLE}]*[{VISIBLE}][ {VISIBLE}]*$"
IDEMPOTENCY_PARAM = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255,
               "pattern": IDEMPOTENCY_KEY_TEXT},
    "description": "Retry safely: the same key and body within 24 h returns the first response. "
                   "1 to 255 printable characters, not only spaces.",
}


def list_params(model: type[BaseModel]) -> list[dict]:
    """A list's query parameters, from the model that validates them (api/list_query.py)."""
    params = []
    for name, schema in model.model_json_schema()["properties"].items():
        schema = {key: value for key, value in schema.items() if key != "title"}
        description = schema.pop("description", None)
        if schema.get("default", "") is None:
            del schema["default"]
        params.append({"name": name, "in": "query", "schema": schema,
                       **({"description": description} if description else {})})
    return params
