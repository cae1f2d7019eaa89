"""Helpers shared by the diagnostics and support tests: read log rows out of a page."""

import html
import re

LOG = "/settings/apps/public-api/log"
PAGE = "/settings/apps/public-api"
PING = "/api/v1/ping"

_ROW = re.compile(r'<tr id="log-\d+" class="log-row">.*?</tr>', re.S)


def log_rows(page: str) -> list[str]:
    """Each request-log row of a page, as unescaped text without tags."""
    return [html.unescape(re.sub(r"<[^>]+>", " ", row)) for row in _ROW.findall(page)]


def row_with(page: str, request_id: str) -> str | None:
    """The one row showing this request id, or None."""
    rows = [row for row in log_rows(page) if request_id in row]
    assert len(rows) <= 1, rows
    return rows[0] if rows else None


def text_of(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def wrong(secret: str) -> str:
    """The same secret with its first character changed."""
    return ("x" if secret[0] != "x" else "y") + secret[1:]


class _Running:
    """Stands in for the background writer: as if it were running, so none is started."""

    def is_alive(self) -> bool:
        return True


def hold_traffic(app):
    """Make the app's recorder keep traffic in memory, as in production, until a flush."""
    traffic = app.extensions["api_traffic"]
    traffic.interval = 3600
    traffic._flusher = _Running()
    return traffic
