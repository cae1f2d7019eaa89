"""Every `error.code` the API answers with: its statuses, what it means and what to do.

The one source of the error reference page (/docs/api/errors), of each error body's `doc_url`
and of `ErrorBody.code`'s enum in the OpenAPI document.
"""

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class ErrorEntry:
    code: str
    statuses: tuple[int, ...]
    meaning: str
    action: str
    retry: bool = False  # the same request may succeed later, unchanged


CATALOGUE: dict[str, ErrorEntry] = {entry.code: entry for entry in (
    ErrorEntry(
        "VALIDATION_ERROR", (400, 413, 414, 417, 422, 431, 501, 505),
        "The request was refused as sent: a parameter, header or body field is missing, "
        "malformed or breaks a rule of your firm's data (400 a parameter or a body that is "
        "not JSON, 413 a body over 1 MiB, 414/431 a URL or headers too long, 422 a body "
        "field), or our web server does not take its form (417 an `Expect` other than "
        "`100-continue`, 501 a `Transfer-Encoding` other than `chunked`, 505 an HTTP version "
        "it does not speak: send HTTP/1.1).",
        "Read `details`: each item names the `field` and what is wrong with it (a refusal of "
        "the web server's has none: its message says what to change). Fix those and send "
        "again; the same request unchanged will fail the same way.",
    ),
    ErrorEntry(
        "PATH_REDIRECTED", (308,),
        "Not an error: the path had a trailing or doubled slash, and the API's paths have "
        "neither.",
        "Follow `Location` (a 308 keeps the method and the body), and fix the path in your "
        "code.",
        retry=True,
    ),
    ErrorEntry(
        "UNSUPPORTED_MEDIA_TYPE", (415,),
        "The request has a body that is not declared as JSON.",
        "Send the body as JSON with the header `Content-Type: application/json`.",
    ),
    ErrorEntry(
        "UNAUTHENTICATED", (401,),
        "The credentials are missing, wrong, deleted or expired. For your keys' safety, "
        "well-formed credentials that fail never say which.",
        "Check that you send the API key and its API secret from Settings and Apps > Public "
        "API (HTTP Basic, X-API-Key and X-API-Secret, or a Bearer token), and that the key "
        "was not deleted or rolled.",
    ),
    ErrorEntry(
        "MALFORMED_CREDENTIALS", (401,),
        "The credentials' format is wrong: a value of the wrong length or with characters an "
        "API key or secret never holds, spaces or quotes around it, a missing secret, a Basic "
        "value that is not base64 of KEY:SECRET. The message says which; it is told from what "
        "you sent alone.",
        "Fix what the message names. An API key is 32 letters and digits, its secret 48: if "
        "a value has the other's length, you swapped them.",
    ),
    ErrorEntry(
        "TOKEN_EXPIRED", (401,),
        "The Bearer token is past its hour.",
        "Ask `POST /api/v1/auth/token` for a new one with the API key and secret, and send "
        "that; refresh a little before `expires_in` runs out.",
    ),
    ErrorEntry(
        "TOKEN_INVALID", (401,),
        "The Bearer token was altered, was not issued by this API, or its key changed since "
        "(a new secret, deleted, rolled or expired).",
        "Ask `POST /api/v1/auth/token` for a new one; if that answers `UNAUTHENTICATED`, the "
        "key itself no longer works.",
    ),
    ErrorEntry(
        "API_APP_INACTIVE", (401,),
        "The credentials are right, but the firm's Public API app is deactivated.",
        "Ask an admin of the firm to activate it in Settings and Apps > Public API; the same "
        "keys then work again.",
    ),
    ErrorEntry(
        "FORBIDDEN", (403,),
        "The key may not do this: its IP allow-list excludes the caller's address, or it has "
        "the read scope and the request writes.",
        "Ask an admin to add your address to the key's IP allow-list or to give the key the "
        "write scope (Settings and Apps > Public API), or use another key.",
    ),
    ErrorEntry(
        "HTTPS_REQUIRED", (403,),
        "Credentials were sent over plain HTTP, where anyone on the way can read them.",
        "Send the request to the `https://` URL the message names. Treat the secret you sent "
        "as exposed: roll the key in Settings and Apps > Public API.",
    ),
    ErrorEntry(
        "NOT_FOUND", (404,),
        "No such path, or no such object in your firm (another firm's id reads the same as a "
        "missing one).",
        "Check the path against the reference and the id against a list call.",
    ),
    ErrorEntry(
        "METHOD_NOT_ALLOWED", (405,),
        "The path exists, but not with this HTTP method.",
        "Use one of the methods the `Allow` header lists.",
    ),
    ErrorEntry(
        "CONFLICT", (409,),
        "The request conflicts with the current state of the data.",
        "Read the current state again, then decide whether to send the change.",
    ),
    ErrorEntry(
        "IDEMPOTENCY_KEY_REUSED", (409,),
        "This Idempotency-Key was already used with a different request.",
        "Use a new Idempotency-Key for each distinct request; reuse one only to retry the "
        "very same request.",
    ),
    ErrorEntry(
        "IDEMPOTENCY_IN_PROGRESS", (409,),
        "A request with this Idempotency-Key is still being processed.",
        "Wait for `Retry-After` seconds and send the same request again: you will get its "
        "answer.",
        retry=True,
    ),
    ErrorEntry(
        "PRECONDITION_FAILED", (412,),
        "The object changed since you read it: your `If-Match` no longer matches its `ETag`.",
        "Read the object again (GET), merge your change into what it holds now, and send the "
        "update with the new `ETag` in `If-Match`.",
    ),
    ErrorEntry(
        "PRECONDITION_REQUIRED", (428,),
        "An update must say which version of the object it changes.",
        "Send the `ETag` from the object's GET (or create) in the `If-Match` header.",
    ),
    ErrorEntry(
        "RATE_LIMITED", (429,),
        "Too many requests: the key's reads or writes per minute, or failed authentications "
        "from your address, are used up.",
        "Wait for `Retry-After` seconds before the next request; `X-RateLimit-Remaining` and "
        "`X-RateLimit-Reset` tell you how close you are before you reach it.",
        retry=True,
    ),
    ErrorEntry(
        "SERVER_ERROR", (500,),
        "Something went wrong on our side; nothing was saved.",
        "Retry with backoff (creates with the same Idempotency-Key). If it persists, contact "
        "support with the `request_id`.",
        retry=True,
    ),
    ErrorEntry(
        "SERVICE_UNAVAILABLE", (502, 503, 504),
        "The service is briefly unable to answer: its database is unreachable or busy (503), "
        "or the application behind our web server is restarting (502) or too slow (504).",
        "Wait for `Retry-After` seconds and retry (creates with the same Idempotency-Key: "
        "after a 502 or 504 the first one may have been saved).",
        retry=True,
    ),
    ErrorEntry(
        "ERROR", (),
        "Another HTTP error with no code of its own; the status and message say what it is.",
        "Read the message; if it does not help, contact support with the `request_id`.",
    ),
)}

# Where portal/docs/views.py serves the error reference (tests/test_serving.py checks it).
ERROR_REFERENCE_PATH = "/docs/api/errors"

# For generated clients and the reference: ErrorBody.code takes exactly these values.
ErrorCode = StrEnum("ErrorCode", {code: code for code in CATALOGUE})


def relative_doc_url(code: str) -> str:
    """The code's entry in the error reference, for an answer whose host is not known (the
    app's own answers link it absolutely: portal/errors.py::json_error)."""
    return f"{ERROR_REFERENCE_PATH}#{code}"


def code_for_status(status: int, default: str = "ERROR") -> str:
    """The code of an error the framework raised with only a status (routing, size limits)."""
    for entry in CATALOGUE.values():
        if status in entry.statuses and entry.code not in SPECIFIC_CODES:
            return entry.code
    return default


# Codes the API chooses on purpose; a bare status never maps to one of them.
SPECIFIC_CODES = {"PATH_REDIRECTED", "API_APP_INACTIVE", "HTTPS_REQUIRED",
                  "MALFORMED_CREDENTIALS", "TOKEN_EXPIRED", "TOKEN_INVALID",
                  "IDEMPOTENCY_KEY_REUSED", "IDEMPOTENCY_IN_PROGRESS"}
