"""Response headers every page gets, and the request id that ties logs and errors together."""

import re
import secrets

from flask import Flask, abort, g, request

from portal.errors import API_PREFIX

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
# What a portal form is sent as. Flask-WTF would read a JSON body too, with values of any type,
# which neither the forms nor the login limiter (keyed on request.form) expect.
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
WRITES = ("POST", "PUT", "PATCH", "DELETE")
# A caller's X-Request-Id is echoed only when it is short and plain, so logs cannot be forged.
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def register(app: Flask) -> None:
    app.before_request(assign_request_id)
    app.before_request(_refuse_unreadable_input)
    app.before_request(_refuse_bodies_forms_do_not_take)
    app.after_request(_add_headers)
    app.context_processor(lambda: {"url_rules": app.view_functions})


def assign_request_id() -> None:
    given = request.headers.get("X-Request-Id", "")
    g.request_id = given if _SANE_REQUEST_ID.match(given) else "req_" + secrets.token_hex(12)


def _refuse_unreadable_input() -> None:
    """400 for a query string that is not UTF-8 (werkzeug raises UnicodeDecodeError on raw
    bytes, a 500 wherever request.args is read). And NUL: no text has a use for it, and
    PostgreSQL refuses it even in a comparison, so an id in the URL holding one names nothing
    (404) and a portal form or query value holding one is a 400."""
    try:
        args = request.args
    except UnicodeDecodeError:
        abort(400)
    if any("\x00" in str(value) for value in (request.view_args or {}).values()):
        abort(404)
    if request.path.startswith(API_PREFIX):
        return  # the API names the offending field itself (api/body.py, api/pagination.py)
    for values in (args, request.form):
        for name, value in values.items(multi=True):
            if "\x00" in name or "\x00" in value:
                abort(400)


def _refuse_bodies_forms_do_not_take() -> None:
    """415 for a portal write whose body is not form fields (JSON, say) or holds a file part:
    no portal form takes a file, and every field a form or a limit reads is then text."""
    if request.method not in WRITES or request.path.startswith(API_PREFIX):
        return
    if (request.mimetype and request.mimetype not in FORM_TYPES) or request.files:
        abort(415)


def _add_headers(response):
    response.headers["X-Request-Id"] = g.get("request_id", "")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", CSP)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response
