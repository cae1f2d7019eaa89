"""Error pages: JSON under /api/, a readable HTML page everywhere else; never a traceback."""

from flask import Flask, current_app, g, jsonify, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, InternalServerError

from portal.error_codes import code_for_status
from portal.extensions import db, login_manager
from portal.htmx import is_htmx

API_PREFIX = "/api/"

MESSAGES = {
    400: "The request could not be understood.",
    401: "Authentication is required.",
    403: "You do not have permission to open this page.",
    404: "This page does not exist, or you do not have access to it.",
    405: "That action is not allowed here.",
    409: "The request conflicts with the current state.",
    413: "What you sent is too large.",
    415: "The request body must be JSON (Content-Type: application/json).",
    429: "Too many requests. Wait a moment and try again.",
    500: "Something went wrong on our side. Nothing was saved; please try again.",
    503: "The service is briefly unavailable. Please try again in a moment.",
}

# Where the portal's wording differs from the API's.
PORTAL_MESSAGES = {
    415: "This form takes form fields only (no JSON, no files). Reload the page and send it "
         "again.",
}
# Where the portal's wording speaks of pages, the API's speaks of resources.
API_MESSAGES = {
    404: "No such resource: the address is wrong, or what it names does not exist.",
}

# How long a client should wait before retrying while the database is unreachable or locked.
DATABASE_RETRY_AFTER_SECONDS = 5


def register(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DBAPIError, _database_error)
    app.register_error_handler(PoolTimeoutError, _database_error)
    app.register_error_handler(Exception, _unexpected_error)


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def json_error(status: int, code: str, message: str, details=None, headers=None):
    """The API's one error shape: {"error": {"code", "message", "request_id", "doc_url",
    ["details"]}}; doc_url is the code's entry in the error reference (portal/error_codes.py)."""
    error = {"code": code, "message": message, "request_id": g.get("request_id"),
             "doc_url": url_for("docs.error_reference", _anchor=code, _external=True)}
    if details:
        error["details"] = details
    response = jsonify(error=error)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _csrf_error(error: CSRFError):
    message = "Your form expired or was sent from elsewhere. Reload the page and try again."
    return _html_error(400, message)


def _http_error(error: HTTPException):
    status = error.code or 500
    message = MESSAGES.get(status, error.description or "")
    if is_api_request():
        message = API_MESSAGES.get(status, message)
        # A 405 must say which methods are allowed (RFC 9110); routing raises it without a
        # response, so the Allow header comes from the exception's own headers.
        headers = {k: v for k, v in error.get_headers() if k.lower() == "allow"}
        return json_error(status, code_for_status(status), message, headers=headers)
    return _html_error(status, PORTAL_MESSAGES.get(status, message))


def _unexpected_error(error: Exception):
    # The view's transaction is abandoned whole, so no half-written record survives.
    _rollback()
    current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
    return _http_error(InternalServerError())


def database_unavailable(error: Exception) -> bool:
    """The database could not be reached or answered in time (down, locked, pool exhausted):
    worth a retry. Other database errors (constraints, bad SQL) are bugs and stay 500s."""
    return isinstance(error, OperationalError | InterfaceError | PoolTimeoutError) or bool(
        getattr(error, "connection_invalidated", False)
    )


def database_cause(error: Exception) -> str:
    """The driver's error in one line, without the SQL or its parameters: the statement may
    carry personal data."""
    cause = getattr(error, "orig", None) or error
    text = str(cause)
    return f"{type(cause).__name__}: {text.splitlines()[0][:200] if text else ''}"


def _database_error(error: SQLAlchemyError):
    """503 with Retry-After while the database is unavailable; the next request tries again
    (SQLAlchemy drops broken connections from its pool, and checkouts replace the ones the
    server closed: portal/database.py)."""
    if not database_unavailable(error):
        return _unexpected_error(error)
    _rollback()
    current_app.logger.warning("Database unavailable on %s %s: %s", request.method,
                               request.path, database_cause(error))
    headers = {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
    if is_api_request():
        return json_error(503, "SERVICE_UNAVAILABLE", MESSAGES[503], headers=headers)
    # The page is rendered as for a visitor: the user's own record cannot be read right now.
    login_manager._update_request_context_with_user(None)
    response = current_app.make_response(_html_error(503, MESSAGES[503]))
    response.headers.update(headers)
    return response


def _rollback() -> None:
    try:
        db.session.rollback()
    except SQLAlchemyError:
        # A connection that died mid-request cannot roll back; SQLAlchemy discards it.
        current_app.logger.warning("Rollback failed on %s %s", request.method, request.path)


def _html_error(status: int, message: str):
    if is_htmx():
        # htmx does not swap error responses; portal.js shows this text in a banner instead.
        return message, status, {"Content-Type": "text/plain; charset=utf-8"}
    return render_template("errors/error.html", status=status, message=message), status
