"""Fragment or page: one decision for every view that serves both."""

from flask import make_response, render_template, request


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def wants_fragment() -> bool:
    """htmx swaps fragments, but boosted navigation and history restores need the whole page."""
    return (
        is_htmx()
        and request.headers.get("HX-Boosted") != "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render(fragment: str, page: str, status: int = 200, **context):
    """Render the fragment for htmx, the page otherwise; caches must key on HX-Request."""
    template = fragment if wants_fragment() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def no_store(response):
    """Anything showing a secret must never be cached, by the browser or a proxy."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
