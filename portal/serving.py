"""gunicorn's sync worker, answering the requests gunicorn refuses itself in the API's shape.

gunicorn refuses some requests before the app sees them: a request line longer than
`limit_request_line`, too many or too large headers, a line it cannot parse. It answers those
with an HTML page; an integration parses JSON. In this worker the same refusals (same status,
same logging) carry the API's error body instead: {"error": {"code", "message", "request_id",
"doc_url"}}. gunicorn.conf.py makes it the worker of every gunicorn this project starts.
"""

import json
from http import HTTPStatus

from gunicorn import util
from gunicorn.workers.sync import SyncWorker as GunicornSyncWorker

from portal.error_codes import code_for_status, relative_doc_url
from portal.errors import MESSAGES


class SyncWorker(GunicornSyncWorker):
    def init_process(self):
        # gunicorn's handle_error writes every refusal through util.write_error; in this
        # worker process (one per fork, one thread) that now writes JSON.
        util.write_error = self.write_json_error
        super().init_process()

    def write_json_error(self, sock, status: int, _reason: str, _detail: str) -> None:
        """gunicorn's detail (e.g. the rejected line itself) is logged by gunicorn, not echoed.
        Its reason phrase is not used either: it stays "Bad Request" for a 501 or a 500."""
        reason = HTTPStatus(status).phrase
        code = refusal_code(status)
        body = json.dumps({"error": {
            "code": code,
            "message": self.refusal_message(status),
            "request_id": None,
            # The request's Host is not known here (often not even read), so the link is
            # relative, as nginx's own refusals give it for a Host it cannot trust.
            "doc_url": relative_doc_url(code),
        }}, separators=(",", ":"))  # compact, as the app's own JSON
        head = (f"HTTP/1.1 {status} {reason}\r\n"
                "Connection: close\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n"
                "Cache-Control: no-store\r\n"
                "X-Content-Type-Options: nosniff\r\n\r\n")
        util.write_nonblock(sock, (head + body).encode("latin-1"))

    def refusal_message(self, status: int) -> str:
        """What the refusal says: the limit that was passed, or the status's usual words."""
        cfg = self.cfg
        if status == 414:
            return (f"The address is too long: the request line (method, path and query) may be "
                    f"at most {cfg.limit_request_line:,} bytes.")
        if status == 431:
            return (f"The request's headers are too many or too large: at most "
                    f"{cfg.limit_request_fields:,} headers of {cfg.limit_request_field_size:,} "
                    f"bytes each.")
        if status == 501:
            return ("The request's Transfer-Encoding is not supported: send the body with "
                    "Content-Length or chunked.")
        if status == 417:
            return "The request's Expect header is not supported: send 100-continue, or none."
        return MESSAGES.get(status, MESSAGES[400] if status < 500 else MESSAGES[500])


def refusal_code(status: int) -> str:
    """The error code of a refusal: every one but a 500 is the request's to fix (a 501 names
    its Transfer-Encoding, a 417 its Expect)."""
    return code_for_status(status, default="VALIDATION_ERROR")
