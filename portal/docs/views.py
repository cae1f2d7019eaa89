"""The API reference as a readable portal page, rendered from the same OpenAPI document."""

import json
import re

from flask import Blueprint, abort, current_app, make_response, render_template, request
from flask_login import current_user
from markupsafe import Markup, escape

from portal.api import spec
from portal.docs.operations import describe_operations, group_operations
from portal.docs.samples import KEY_PLACEHOLDER, SECRET_PLACEHOLDER, backoff_samples
from portal.docs.schema_text import ValueLists
from portal.error_codes import CATALOGUE
from portal.htmx import no_store
from portal.public_api.service import live_keys

bp = Blueprint("docs", __name__, url_prefix="/docs")
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After")


@bp.app_template_filter("pretty_json")
def pretty_json(value) -> str:
    """An example body as people write JSON: indented, non-ASCII kept as it is."""
    return json.dumps(value, indent=2, ensure_ascii=False)


@bp.get("/api")
def reference():
    """The reference: quick start, rate limits and every operation with copy-paste calls in
    three languages (a signed-in admin's own API key, never a secret)."""
    if current_user.is_authenticated and not current_user.is_admin:
        abort(403)  # members never see the Public API
    document = spec.build(current_app)
    key = _example_key()
    api_key = key.api_key if key is not None else KEY_PLACEHOLDER
    base_url = spec.served(document, request.url_root)["servers"][0]["url"]
    lists = ValueLists()
    operations = describe_operations(document, base_url, api_key, lists)
    response = make_response(render_template(
        "docs/reference.html", document=document, groups=group_operations(operations, document),
        value_lists=list(lists), example_key=key, base_url=base_url,
        quick_start=_first_call(operations),
        backoff_samples=backoff_samples(base_url + "/clients", api_key),
        limits=_rate_limits(), rate_headers=_rate_headers(document),
        secret_placeholder=SECRET_PLACEHOLDER,
    ))
    # The page of a signed-in admin names their key: keep it out of every cache.
    return no_store(response) if current_user.is_authenticated else response


@bp.get("/api/errors")
def error_reference():
    """Every error.code the API answers with: status, meaning, what to do (each body's doc_url
    points at its entry here)."""
    if current_user.is_authenticated and not current_user.is_admin:
        abort(403)
    entries = [
        {"code": entry.code, "statuses": entry.statuses, "retry": entry.retry,
         "meaning": inline_code(entry.meaning), "action": inline_code(entry.action)}
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


@bp.app_template_filter("inline_code")
def inline_code(text: str) -> Markup:
    """The catalogue's `backticks` as <code>, everything else escaped."""
    marked = re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text)))
    return Markup(marked)  # noqa: S704  (escaped above; only <code> is added)


def _first_call(operations):
    """The quick start's call: who-am-I if there is one, else the first authenticated read."""
    reads = [op for op in operations if op.method == "GET" and not op.public]
    return next((op for op in reads if op.path == "/ping"), reads[0])


def _example_key():
    """The signed-in admin's newest live key (the examples use it), or None."""
    if current_user.is_authenticated and current_user.is_admin:
        keys = live_keys(current_user.firm)
        if keys:
            return keys[0]
    return None


def _rate_headers(document: dict) -> list[tuple[str, str]]:
    """The rate-limit headers as the spec declares them (one wording for both)."""
    declared = document.get("components", {}).get("headers", {})
    return [(name, declared[name].get("description", "")) for name in RATE_HEADERS
            if name in declared]


def _rate_limits() -> dict:
    """Per key per minute: the signed-in admin's firm's own limits, else the defaults."""
    config = current_app.config
    limits = {"reads": config["API_RATE_LIMIT_READS"], "writes": config["API_RATE_LIMIT_WRITES"],
              "auth_failures": config["API_AUTH_FAILURES_PER_IP_AND_KEY"], "own": False}
    firm = current_user.firm if current_user.is_authenticated else None  # support: no firm
    for name, override in (("reads", getattr(firm, "api_read_limit", None)),
                           ("writes", getattr(firm, "api_write_limit", None))):
        if override is not None:
            limits[name], limits["own"] = override, True
    return limits
