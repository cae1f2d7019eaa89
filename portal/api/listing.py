"""One list endpoint recipe for every resource: firm scope, filters, keyset page, envelope."""

from collections.abc import Callable

from flask import g, request
from sqlalchemy import Select

from portal.api.list_query import ListQuery, parse_list_params
from portal.api.pagination import apply_keyset, page_of
from portal.api.responses import list_response
from portal.extensions import db


def list_resource(
    query: Select,
    model,
    to_out: Callable,
    parameters: type[ListQuery] = ListQuery,
    *,
    status_filter: Callable | None = None,
    page_to_out: Callable | None = None,
):
    """Answer GET /<resource>: the firm's rows (ORM objects of `model`, turned into data by
    `to_out`, or a whole page at once by `page_to_out`), filtered as `parameters` declares,
    one keyset page at a time."""
    params, query = page_query(query, model, parameters, status_filter=status_filter)
    rows, cursor = page_of(list(db.session.execute(query).scalars()), model, params)
    items = page_to_out(rows) if page_to_out else [to_out(row) for row in rows]
    return list_response(items, params.limit, cursor)


def page_query(query: Select, model, parameters: type[ListQuery] = ListQuery, *,
               status_filter: Callable | None = None) -> tuple[ListQuery, Select]:
    """The request's list parameters, and `query` narrowed to the firm, the filters and one
    keyset page (plus a row that tells whether there is another)."""
    params = parse_list_params(request.args, parameters)
    query = query.where(model.firm_id == g.firm_id)
    for name, value in params.filters().items():
        query = query.where(getattr(model, name) == value)
    if params.q:
        query = query.where(model.name.icontains(params.q, autoescape=True))
    if params.created_since:
        query = query.where(model.created_at >= params.created_since)
    if getattr(params, "updated_since", None):
        query = query.where(model.updated_at >= params.updated_since)
    status = getattr(params, "status", None)
    if status:
        query = query.where(status_filter(status) if status_filter else model.status == status)
    return params, apply_keyset(query, model, params)
