"""Bodies without a Content-Length (chunked, or ended by the connection) held to the size limit.

Werkzeug limits such a body by stopping at MAX_CONTENT_LENGTH bytes: a body over the limit is
read as its first MAX_CONTENT_LENGTH bytes, without an error, and a prefix of a JSON document
can itself be valid JSON that gets stored. Here the body is read up to the limit and one byte
more before the app sees it; a longer one gets Content-Length said, so Werkzeug refuses it with
its 413 as it refuses a declared one (JSON under /api/, a page elsewhere).
"""

import io


class SizedBody:
    """WSGI middleware: gives a length-less request body its length, or a 413."""

    def __init__(self, wsgi_app, config):
        self.wsgi_app = wsgi_app
        self.config = config

    def __call__(self, environ, start_response):
        limit = self.config.get("MAX_CONTENT_LENGTH")
        # Only servers that end the stream themselves (wsgi.input_terminated: gunicorn,
        # Werkzeug's) may be read without a length; otherwise Werkzeug reads no body at all.
        if limit is not None and not environ.get("CONTENT_LENGTH") and environ.get(
                "wsgi.input_terminated"):
            body = _read_at_most(environ["wsgi.input"], limit + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            # Werkzeug ignores Content-Length beside "Transfer-Encoding: chunked"; the body
            # handed on is no longer chunked.
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.wsgi_app(environ, start_response)


def _read_at_most(stream, size: int) -> bytes:
    """Up to `size` bytes: a server's stream may return fewer than asked before its end."""
    chunks, remaining = [], size
    while remaining > 0:
        chunk = stream.read(min(remaining, 64 * 1024))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
