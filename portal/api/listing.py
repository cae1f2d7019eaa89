"""One list endpoint recipe for every resource: firm scope, filters, keyset page, envelope."""

from collections.abc import Callable

from flask import g, request
from sqlalchemy import Select

from portal.api.page_queries import JsonRows
from portal.api.pagination import (
    ParamError,
    apply_keyset,
    page_of,
    parse_list_params,
)
from portal.api.responses import list_response, list_response_from_json
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
):
    """Answer GET /<resource>: the firm's rows (ORM objects of `model`, turned into data by
    `to_out`), filtered, one keyset page at a time."""
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
    query = apply_keyset(query, model, params)
    rows, cursor = page_of(list(db.session.execute(query).scalars()), model, params)
    return list_response([to_out(row) for row in rows], params.limit, cursor)


def list_json_resource(rows: JsonRows, *, statuses: tuple[str, ...] = (),
                       filters: dict[str, str] | None = None):
    """Answer GET /<resource> for a resource whose rows the database writes as JSON: the
    same parameters, filters and pages as list_resource; `filters` holds the values of the
    resource's own filters that were given (see JsonRows)."""
    params = parse_list_params(request.args, statuses=statuses, extra=rows.filters)
    items, cursor = rows.page(g.firm_id, params, filters or {})
    page = "[" + ",".join(items) + "]"
    return list_response_from_json(page.encode(), params.limit, cursor)
