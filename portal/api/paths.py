"""Paths under /api/ that routing refused answer JSON, and a misspelt path says the right one."""

from urllib.parse import urlsplit

from flask import current_app, request
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import RequestRedirect

from portal.api.views import bp
from portal.errors import is_api_request, json_error
from portal.security import assign_request_id


@bp.before_app_request
def redirect_misspelt_paths():
    """A trailing or doubled slash answers 308 with the API's own path, in JSON: Werkzeug's
    own redirect has an HTML body, and a trailing slash would otherwise be a bare 404."""
    error = request.routing_exception
    if error is None or not is_api_request():
        return None
    if isinstance(error, RequestRedirect):
        return _moved(urlsplit(error.new_url).path)
    stripped = request.path.rstrip("/")
    if isinstance(error, NotFound) and stripped != request.path and _routed(stripped):
        return _moved(stripped)
    return None


def _routed(path: str) -> bool:
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        adapter.match(path, method=request.method)
    except NotFound:
        return False
    except HTTPException:
        return True  # a 405 or another redirect: the path exists
    return True


def _moved(path: str):
    assign_request_id()  # app-wide hooks run in order, and this one may run first
    query = request.query_string.decode("latin-1")
    location = f"{path}?{query}" if query else path
    return json_error(308, "PATH_REDIRECTED",
                      f"API paths have no trailing or doubled slash: use {path}.",
                      headers={"Location": location})
