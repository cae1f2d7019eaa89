"""The API reference as a readable portal page, rendered from the same OpenAPI document."""

import json
import re

from flask import Blueprint, abort, current_app, render_template, request
from flask_login import current_user
from markupsafe import Markup, escape

from portal.api import spec
from portal.error_codes import CATALOGUE
from portal.public_api.service import live_keys

bp = Blueprint("docs", __name__, url_prefix="/docs")

# Request bodies for the curl examples, keyed by operationId.
EXAMPLE_BODIES = {
    "issue_token": {"api_key": "API_KEY", "api_secret": "YOUR_API_SECRET"},
    "create_client": {"name": "Northwind Traders", "client_initials": "NWT",
                      "address_country_code": "EE", "email": "info@northwind.example"},
    "create_contact": {"client_id": "cli_...", "name": "Anna", "surname": "Tamm",
                       "email": "anna@northwind.example", "is_primary": True},
}


@bp.get("/api")
def reference():
    """The reference with copy-paste curl examples (an admin's own API key, never a secret)."""
    if current_user.is_authenticated and not current_user.is_admin:
        abort(403)  # members never see the Public API
    document = spec.build(current_app)
    api_key = _example_api_key()
    base_url = request.host_url.rstrip("/") + document["servers"][0]["url"]
    operations = [
        _describe(path, method, op, document, base_url, api_key)
        for path, methods in document["paths"].items()
        for method, op in methods.items()
    ]
    return render_template("docs/reference.html", operations=operations, api_key=api_key,
                           base_url=base_url, document=document)


@bp.get("/api/errors")
def error_reference():
    """Every error.code the API answers with: status, meaning, what to do (each body's doc_url
    points at its entry here)."""
    if current_user.is_authenticated and not current_user.is_admin:
        abort(403)
    entries = [
        {"code": entry.code, "statuses": entry.statuses, "retry": entry.retry,
         "meaning": _inline_code(entry.meaning), "action": _inline_code(entry.action)}
        for entry in CATALOGUE.values()
    ]
    return render_template("docs/errors.html", entries=entries)


@bp.get("/api/changelog")
def changelog():
    """What changed in /api/v1 and when, and the versioning and deprecation policy (a partial,
    docs/_changelog.html, that the reference can include too)."""
    if current_user.is_authenticated and not current_user.is_admin:
        abort(403)
    return render_template("docs/changelog.html")


def _inline_code(text: str) -> Markup:
    """The catalogue's `backticks` as <code>, everything else escaped."""
    marked = re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text)))
    return Markup(marked)  # noqa: S704  (escaped above; only <code> is added)


def _example_api_key() -> str:
    if current_user.is_authenticated and current_user.is_admin:
        keys = live_keys(current_user.firm)
        if keys:
            return keys[0].api_key
    return "YOUR_API_KEY"


def _describe(path, method, op, document, base_url, api_key) -> dict:
    body_ref = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    body_schema = _resolve(body_ref.get("schema"), document)
    return {
        "method": method.upper(),
        "path": path,
        "summary": op["summary"],
        "id": op["operationId"],
        "params": [p for p in op.get("parameters", []) if p["in"] in ("query", "path")],
        "fields": _fields(body_schema, document) if body_schema else [],
        "responses": sorted(op["responses"].items()),
        "links": [_link(link, document) for response in op["responses"].values()
                  for link in response.get("links", {}).values()],
        "curl": _curl(method.upper(), base_url + path, op, api_key),
        "public": op.get("security") == [],
    }


def _link(link: dict, document) -> dict:
    """A follow-up call, with where its values come from ("client_id = data.id")."""
    method, path = next(
        (method.upper(), path) for path, methods in document["paths"].items()
        for method, op in methods.items() if op["operationId"] == link["operationId"]
    )
    expressions = {**link.get("parameters", {}), **link.get("requestBody", {})}
    sources = ", ".join(f"{name} = {expression.split('#/', 1)[-1].replace('/', '.')}"
                       for name, expression in expressions.items())
    return {"id": link["operationId"], "method": method, "path": path,
            "description": link["description"], "sources": sources}


def _resolve(schema, document):
    if schema and "$ref" in schema:
        return document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _fields(schema, document) -> list[dict]:
    required = set(schema.get("required", []))
    return [
        {"name": name, "type": _type_name(prop), "required": name in required,
         "description": prop.get("description", "")}
        for name, prop in schema.get("properties", {}).items()
    ]


def _type_name(prop: dict) -> str:
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in prop:
        return " or ".join(_type_name(p) for p in prop["anyOf"])
    if "enum" in prop:
        return " | ".join(json.dumps(v) for v in prop["enum"])
    if prop.get("type") == "array":
        return f"array of {_type_name(prop.get('items', {}))}"
    if "format" in prop:
        return f"{prop.get('type', 'string')} ({prop['format']})"
    return prop.get("type", "any")


def _curl(method: str, url: str, op: dict, api_key: str) -> str:
    if op.get("security") == []:
        body = json.dumps(EXAMPLE_BODIES.get(op["operationId"], {})).replace("API_KEY", api_key)
        return f"curl -X {method} {url} \\\n  -H 'Content-Type: application/json' \\\n  -d '{body}'"
    lines = [f"curl -u {api_key}:YOUR_API_SECRET"]
    if method != "GET":
        lines[0] += f" -X {method}"
    lines.append(f"  '{url}'")
    if op["operationId"] in EXAMPLE_BODIES:
        body = json.dumps(EXAMPLE_BODIES[op["operationId"]])
        lines.append("  -H 'Content-Type: application/json'")
        lines.append(f"  -d '{body}'")
    return " \\\n".join(lines)
