"""The busiest list pages as SQL compiled once per shape, their rows as the database's JSON.

A page's statement depends only on its shape: the sort, whether a cursor and which filters are
given. Their values are bound. Building a Select per request, letting SQLAlchemy key and look
up its compiled form and turning 101 rows into typed Row objects cost more than SQLite's own
work for a page of 100 (measured in bench/RESULTS.md, session 4). So each shape is built and
compiled once per process, with the same filters as every other list (portal/api/listing.py),
and run as a plain read (portal/plain_reads.py).
"""

from dataclasses import dataclass, field

from sqlalchemy import ColumnCollection, ColumnElement, Select, bindparam, select
from sqlalchemy.sql.functions import coalesce

from portal.api.pagination import (
    ListParams,
    encode_cursor,
    keyset_after,
    keyset_order,
    sort_column,
)
from portal.plain_reads import compiled, fetch_all


@dataclass(frozen=True)
class JsonRows:
    """A resource whose rows the database writes as JSON: `row_json` is a json_row over
    `columns`; `filters` names its own equality filters (columns of the same names)."""

    row_json: ColumnElement
    columns: ColumnCollection
    filters: tuple[str, ...] = ()
    # A column that may hold row_json already written (NULL where not): read instead.
    stored: ColumnElement | None = None
    # One statement per shape (at most 4 sorts x 2^(filters + 5)), built on first use;
    # plain_reads.compiled compiles each once for the app's database.
    _statements: dict = field(default_factory=dict, compare=False, repr=False)

    def page(self, firm_id: str, params: ListParams, filters: dict[str, str]):
        """The JSON texts of one page and the next page's cursor (None on the last page)."""
        values = {"firm_id": firm_id, "limit": params.limit + 1}
        shape = [params.sort]
        for name, value in [*_list_filters(params), *filters.items()]:
            shape.append(name)
            if name == "after":
                values["after"], values["after_id"] = value
            else:
                values[name] = value
        query = compiled(self._statement(tuple(shape)))
        rows = fetch_all(query, values)
        if len(rows) <= params.limit:
            return [row[0] for row in rows], None
        # Only the last row's id and sort value are needed (for the cursor): typed just there.
        _json, row_id, value = query.typed(rows[params.limit - 1])
        return [row[0] for row in rows[: params.limit]], encode_cursor(params.sort, value, row_id)

    def _statement(self, shape: tuple[str, ...]) -> Select:
        statement = self._statements.get(shape)
        if statement is None:
            statement = self._statements[shape] = self._build(shape)
        return statement

    def _build(self, shape: tuple[str, ...]) -> Select:
        sort, *given = shape
        columns = self.columns
        column = sort_column(columns, sort)
        row_json = self.row_json if self.stored is None else coalesce(self.stored, self.row_json)
        query = select(row_json, columns.id, column).where(
            columns.firm_id == bindparam("firm_id")
        )
        for name in given:
            query = query.where(self._condition(name, sort))
        return query.order_by(*keyset_order(columns, sort)).limit(bindparam("limit"))

    def _condition(self, name: str, sort: str):
        columns = self.columns
        if name == "after":
            return keyset_after(
                columns, sort, bindparam("after", type_=sort_column(columns, sort).type),
                bindparam("after_id", type_=columns.id.type),
            )
        if name == "q":
            return columns.name.icontains(bindparam("q"), escape=_LIKE_ESCAPE)
        if name in ("created_since", "updated_since"):
            column = columns[name.removesuffix("_since") + "_at"]
            return column >= bindparam(name, type_=column.type)
        if name == "status" or name in self.filters:
            return columns[name] == bindparam(name, type_=columns[name].type)
        raise ValueError(f"no filter {name}")


# Wildcards in q are matched literally, as autoescape=True does for the ORM lists.
_LIKE_ESCAPE = "/"


def _list_filters(params: ListParams):
    """(name, value) of the common filters given: the cursor, q, the times and status."""
    if params.after is not None:
        yield "after", params.after  # (sort value, id)
    if params.q:
        yield "q", params.q.replace("/", "//").replace("%", "/%").replace("_", "/_")
    if params.created_since:
        yield "created_since", params.created_since
    if params.updated_since:
        yield "updated_since", params.updated_since
    if params.status:
        yield "status", params.status
