"""Keyset pagination and its cursors: a page costs the same at row 10 and row 1,000,000."""

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Select, tuple_

if TYPE_CHECKING:
    from portal.api.list_query import ListQuery

# Each sort also descending ("-name"): keyset pages walk the same indexes backwards.
SORTS = ("created_at", "-created_at", "name", "-name", "updated_at", "-updated_at")
TIME_SORTS = {"created_at", "updated_at"}


class ParamError(ValueError):
    """A bad query parameter; answered as 400 VALIDATION_ERROR naming it."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def naive_utc(value: datetime) -> datetime:
    """Stored datetimes are naive UTC; an offset that leaves the calendar raises OverflowError."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def sort_column(model, sort: str):
    return getattr(model, sort.lstrip("-"))


def apply_keyset(query: Select, model, params: "ListQuery") -> Select:
    """Order by (sort column, id) and start after the cursor's row; fetch one extra row."""
    if params.after is not None:
        query = query.where(keyset_after(model, params.sort, *params.after))
    return query.order_by(*keyset_order(model, params.sort)).limit(params.limit + 1)


def public_id(model):
    """The id a list shows and its cursor holds: `public_id` where a model keeps its primary
    key inside the portal (users), else `id`."""
    return getattr(model, "public_id", None) or model.id


def keyset_after(model, sort: str, value, row_id):
    """Rows after (value, row_id) in the sort order: values, or bound parameters for them."""
    position = tuple_(sort_column(model, sort), public_id(model))
    bound = tuple_(value, row_id)
    return position < bound if sort.startswith("-") else position > bound


def keyset_order(model, sort: str) -> tuple:
    column, row_id = sort_column(model, sort), public_id(model)
    if sort.startswith("-"):
        return column.desc(), row_id.desc()
    return column.asc(), row_id.asc()


def page_of(rows: list, model, params: "ListQuery") -> tuple[list, str | None]:
    """Trim the extra row; its presence means there is a next page."""
    if len(rows) <= params.limit:
        return rows, None
    rows = rows[: params.limit]
    last = rows[-1]
    return rows, encode_cursor(params.sort, getattr(last, params.sort.lstrip("-")),
                               public_id(last))


def encode_cursor(sort: str, value, row_id: str) -> str:
    if isinstance(value, datetime):
        value = {"t": value.isoformat()}
    raw = json.dumps([sort, value, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# A cursor holds a sort, one value (at most 254 characters, each up to 12 bytes escaped) and an
# id: anything longer was not made by encode_cursor.
MAX_CURSOR = 4096


def decode_cursor(cursor: str, sort: str) -> tuple:
    try:
        if len(cursor) > MAX_CURSOR:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, value, row_id = json.loads(raw)
        if isinstance(value, dict):
            value = naive_utc(datetime.fromisoformat(value["t"]))
    # RecursionError: deeply nested JSON ("[[[[...") exhausts the decoder's stack, and unwinds.
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError,
            OverflowError, RecursionError) as error:
        raise ParamError("cursor", "cursor is not valid; use next_cursor from a list.") from error
    # The value must be of the sort column's type: a string compared with a timestamp column
    # is an error on PostgreSQL (and a silently wrong page on SQLite).
    expected = datetime if sort.lstrip("-") in TIME_SORTS else str
    if (
        cursor_sort != sort or not isinstance(row_id, str) or not isinstance(value, expected)
        or "\x00" in row_id or (isinstance(value, str) and "\x00" in value)
    ):
        raise ParamError("cursor", "cursor belongs to another sort order or is not valid.")
    return value, row_id
