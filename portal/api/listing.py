"""One list endpoint recipe for every resource: firm scope, filters, keyset page, envelope."""

from collections.abc import Callable

from flask import g, request
from sqlalchemy import ColumnCollection, Select

from portal.api.pagination import (
    ParamError,
    apply_keyset,
    page_of,
    parse_list_params,
    sort_column,
)
from portal.api.responses import list_response, list_response_from_json
from portal.extensions import db


def list_resource(
    query: Select,
    model,
    to_out: Callable | None = None,
    *,
    statuses: tuple[str, ...] = (),
    sorts: tuple[str, ...] | None = None,
    status_filter: Callable | None = None,
    extra_params: tuple[str, ...] = (),
):
    """Answer GET /<resource>: the firm's rows, filtered, one keyset page at a time.

    `model` is a mapped class (rows are ORM objects, turned into data by `to_out`) or, for the
    busiest lists, a table's columns: then `query` selects each row's JSON as written by the
    database (a `json_row`), and the page is those texts joined (see portal/sql_json.py)."""
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
    if isinstance(model, ColumnCollection):
        # The next cursor is made of the last row's sort value and id.
        query = query.add_columns(model.id, sort_column(model, params.sort))
        rows, cursor = page_of(db.session.execute(query).all(), model, params)
        page = "[" + ",".join(row.json for row in rows) + "]"
        return list_response_from_json(page.encode(), params.limit, cursor)
    rows, cursor = page_of(list(db.session.execute(query).scalars()), model, params)
    return list_response([to_out(row) for row in rows], params.limit, cursor)
