"""One list endpoint recipe for every resource: firm scope, filters, keyset page, envelope."""

from collections.abc import Callable

from flask import g, request
from sqlalchemy import Select

from portal.api.pagination import ParamError, apply_keyset, page_of, parse_list_params
from portal.api.responses import list_response
from portal.extensions import db


def list_resource(
    query: Select,
    model,
    to_out: Callable,
    *,
    statuses: tuple[str, ...] = (),
    sorts: tuple[str, ...] | None = None,
    status_filter: Callable | None = None,
    extra_params: tuple[str, ...] = (),
    page_to_out: Callable | None = None,
):
    """Answer GET /<resource>: the firm's rows, filtered, one keyset page at a time."""
    kwargs = {"statuses": statuses, "extra": extra_params}
    if sorts:
        kwargs["sorts"] = sorts
    params = parse_list_params(request.args, **kwargs)
    query = query.where(model.firm_id == g.firm_id)
    if params.q:
        query = query.where(model.name.icontains(params.q, autoescape=True))
    if params.created_since:
        query = query.where(model.created_at >= params.created_since)
    if params.updated_since:
        if not hasattr(model, "updated_at"):
            raise ParamError("updated_since", "updated_since is not available here.")
        query = query.where(model.updated_at >= params.updated_since)
    if params.status:
        query = query.where(
            status_filter(params.status) if status_filter else model.status == params.status
        )
    rows = list(db.session.execute(apply_keyset(query, model, params)).scalars())
    rows, cursor = page_of(rows, model, params)
    items = page_to_out(rows) if page_to_out else [to_out(row) for row in rows]
    return list_response(items, params.limit, cursor)
