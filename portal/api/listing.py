"""One list endpoint recipe for every resource: firm scope, filters, keyset page, envelope."""

from collections.abc import Callable

from flask import g, request
from sqlalchemy import Select

from portal.api.pagination import (
    ParamError,
    apply_keyset,
    page_of,
    parse_list_params,
)
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
    filters: dict | None = None,
):
    """Answer GET /<resource>: the firm's rows (ORM objects of `model`, turned into data by
    `to_out`), filtered, one keyset page at a time. `filters` holds the values of the
    resource's own equality filters that were given, by column name."""
    kwargs = {"statuses": statuses, "extra": extra_params}
    if sorts:
        kwargs["sorts"] = sorts
    params = parse_list_params(request.args, **kwargs)
    query = query.where(model.firm_id == g.firm_id)
    for name, value in (filters or {}).items():
        query = query.where(getattr(model, name) == value)
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
