"""List parameters and keyset pagination: a page costs the same at row 10 and row 1,000,000."""

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, tuple_

MAX_LIMIT = 100
DEFAULT_LIMIT = 25
# Each sort also descending ("-name"): keyset pages walk the same indexes backwards.
SORTS = ("created_at", "-created_at", "name", "-name", "updated_at", "-updated_at")
TIME_SORTS = {"created_at", "updated_at"}


class ParamError(ValueError):
    """A bad query parameter; answered as 400 VALIDATION_ERROR naming it."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ListParams:
    limit: int
    sort: str
    after: tuple | None  # (sort value, id) of the last row of the previous page
    q: str | None
    created_since: datetime | None
    updated_since: datetime | None
    status: str | None


def parse_list_params(
    args, statuses: tuple[str, ...] = (), sorts: tuple[str, ...] = SORTS,
    extra: tuple[str, ...] = (),
) -> ListParams:
    """Read and check limit, cursor, sort, q, created_since, updated_since and status.

    `extra` names the resource's own filters (read by its view), e.g. client_id on contacts.
    """
    _refuse_unknown(args, KNOWN_PARAMS | set(extra))
    sort = args.get("sort", "created_at")
    if sort not in sorts:
        raise ParamError("sort", f"sort must be one of: {', '.join(sorts)}.")
    status = args.get("status")
    if status is not None and status not in statuses:
        allowed = ", ".join(statuses) or "nothing for this resource"
        raise ParamError("status", f"status must be one of: {allowed}.")
    q = args.get("q")
    if q is not None and (not q.strip() or len(q) > 200):
        raise ParamError("q", "q must be 1 to 200 characters.")
    return ListParams(
        limit=_parse_limit(args.get("limit")),
        sort=sort,
        after=decode_cursor(args["cursor"], sort) if "cursor" in args else None,
        q=q.strip() if q else None,
        created_since=_parse_time(args, "created_since"),
        updated_since=_parse_time(args, "updated_since"),
        status=status,
    )


KNOWN_PARAMS = frozenset({"limit", "cursor", "sort", "q", "created_since", "updated_since",
                          "status"})


def _refuse_unknown(args, known) -> None:
    """A misspelt filter silently ignored would return the wrong rows; name it instead."""
    for name in args:
        if name not in known:
            raise ParamError(name, f"Unknown parameter {name}.")
        values = args.getlist(name)
        if len(values) > 1:
            raise ParamError(name, f"{name} is given more than once.")
        # PostgreSQL refuses NUL in text; it is never part of a valid value anyway.
        if "\x00" in values[0]:
            raise ParamError(name, f"{name} must not contain a NUL character.")


def _parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    # ASCII digits only: str.isdigit() also takes "²", which int() then refuses.
    if not re.fullmatch(r"[0-9]{1,6}", raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise ParamError("limit", f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    return int(raw)


def _parse_time(args, name: str) -> datetime | None:
    raw = args.get(name)
    if raw is None:
        return None
    try:
        return _naive_utc(
            # RFC 3339 allows a lower-case t and z; an unencoded "+" arrives as a space.
            datetime.fromisoformat(raw.upper().replace("Z", "+00:00").replace(" ", "+"))
        )
    except (ValueError, OverflowError) as error:
        raise ParamError(name, f"{name} must be an ISO 8601 date or date-time.") from error


def _naive_utc(value: datetime) -> datetime:
    """Stored datetimes are naive UTC; an offset that leaves the calendar raises OverflowError."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def sort_column(model, sort: str):
    return getattr(model, sort.lstrip("-"))


def apply_keyset(query: Select, model, params: ListParams) -> Select:
    """Order by (sort column, id) and start after the cursor's row; fetch one extra row."""
    if params.after is not None:
        query = query.where(keyset_after(model, params.sort, *params.after))
    return query.order_by(*keyset_order(model, params.sort)).limit(params.limit + 1)


def keyset_after(model, sort: str, value, row_id):
    """Rows after (value, row_id) in the sort order: values, or bound parameters for them."""
    position = tuple_(sort_column(model, sort), model.id)
    bound = tuple_(value, row_id)
    return position < bound if sort.startswith("-") else position > bound


def keyset_order(model, sort: str) -> tuple:
    column = sort_column(model, sort)
    if sort.startswith("-"):
        return column.desc(), model.id.desc()
    return column.asc(), model.id.asc()


def page_of(rows: list, model, params: ListParams) -> tuple[list, str | None]:
    """Trim the extra row; its presence means there is a next page."""
    if len(rows) <= params.limit:
        return rows, None
    rows = rows[: params.limit]
    last = rows[-1]
    return rows, encode_cursor(params.sort, getattr(last, params.sort.lstrip("-")), last.id)


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
            value = _naive_utc(datetime.fromisoformat(value["t"]))
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
