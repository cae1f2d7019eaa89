"""A list's query parameters, declared once: pydantic validates them and the OpenAPI reference
is built from the same models (portal/api/spec.py: list_params)."""

import re
from datetime import datetime
from functools import cached_property
from typing import Annotated, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema

from portal.api.pagination import MAX_CURSOR, SORTS, ParamError, decode_cursor, naive_utc

MAX_LIMIT = 100
DEFAULT_LIMIT = 25
# Query texts: never a NUL character (a database cannot store one), and not only spaces.
NON_BLANK_TEXT = "^[^\\x00]*[^\\s\\x00][^\\x00]*$"
NO_NUL_TEXT = "^[^\\x00]*$"


def _ascii_digits(value):
    # str.isdigit() and int() also take "²" or "1_0"; a limit is plain digits.
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{1,6}", value):
        raise ValueError("must be a whole number")
    return value


def _utc_time(value):
    """RFC 3339 allows a lower-case t and z; an unencoded "+" arrives as a space."""
    if not isinstance(value, str):
        return value
    try:
        return naive_utc(
            datetime.fromisoformat(value.upper().replace("Z", "+00:00").replace(" ", "+")))
    except (ValueError, OverflowError) as error:
        raise ValueError("must be an ISO 8601 date or date-time") from error


Since = Annotated[
    datetime | SkipJsonSchema[None], BeforeValidator(_utc_time),
    WithJsonSchema({"anyOf": [{"type": "string", "format": "date-time"},
                              {"type": "string", "format": "date"}]}),
]


def text(**constraints):
    """An optional text parameter: the constraints are the reference's and the check's."""
    return Annotated[str, StringConstraints(**constraints)] | SkipJsonSchema[None]


class ListQuery(BaseModel):
    """The query parameters every list takes; a resource's own filters subclass it."""

    model_config = ConfigDict(extra="forbid")
    # Fields of a subclass that filter by the column of the same name.
    equality_filters: ClassVar[tuple[str, ...]] = ()

    limit: Annotated[int, BeforeValidator(_ascii_digits)] = Field(
        DEFAULT_LIMIT, ge=1, le=MAX_LIMIT,
        description=f"Items per page: 1 to {MAX_LIMIT}, {DEFAULT_LIMIT} when not given.")
    cursor: text(min_length=1, max_length=MAX_CURSOR, pattern="^[A-Za-z0-9_-]+$") = Field(
        None, description="next_cursor from the previous page, with the same sort; opaque.")
    sort: Literal["created_at", "-created_at", "name", "-name"] = Field(
        "created_at",
        description="The order: a field, or with a leading - the same field descending.")
    q: text(min_length=1, max_length=200, pattern=NON_BLANK_TEXT) = Field(
        None, description="Name search (case-insensitive, part of the name); "
                          "not only spaces.")
    created_since: Since = Field(
        None, description="Only rows created at or after this time (a date means its "
                          "midnight UTC; a time without an offset is UTC).")

    @field_validator("q")
    @classmethod
    def _strip(cls, value):
        return value.strip() if value is not None else value

    @cached_property
    def after(self) -> tuple | None:
        """(sort value, id) of the last row of the previous page, from the cursor."""
        return decode_cursor(self.cursor, self.sort) if self.cursor is not None else None

    def filters(self) -> dict:
        """The resource's own equality filters that were given."""
        return {name: getattr(self, name) for name in self.equality_filters
                if getattr(self, name) is not None}


UPDATED_SINCE = (
    "Only rows whose updated_at is at or after this time: the boundary is included, so pass "
    "the newest updated_at you have seen and skip the objects you already hold (same id and "
    "updated_at). updated_at is kept to the microsecond and shown to the second. It moves when "
    "the object itself changes (create, PATCH, a portal edit); a client's also when a contact "
    "is added to it, and when a group it is in or a custom field it has a value for is deleted "
    "in Settings and Apps."
)


class TimedListQuery(ListQuery):
    """A list of rows that also have updated_at."""

    sort: Literal[SORTS] = Field(  # type: ignore[valid-type]
        "created_at",
        description="The order: a field, or with a leading - the same field descending.")
    updated_since: Since = Field(None, description=UPDATED_SINCE)


Status = Literal["active", "inactive"] | SkipJsonSchema[None]


def parse_list_params(args, model: type[ListQuery]) -> ListQuery:
    """Check the request's query string against `model`; ParamError names the first problem."""
    for name in args:
        values = args.getlist(name)
        if len(values) > 1:
            raise ParamError(name, f"{name} is given more than once.")
        # PostgreSQL refuses NUL in text; it is never part of a valid value anyway.
        if "\x00" in values[0]:
            raise ParamError(name, f"{name} must not contain a NUL character.")
    try:
        query = model.model_validate(args.to_dict())
    except ValidationError as error:
        raise _param_error(error.errors()[0]) from error
    query.after  # noqa: B018  (a bad cursor is refused now, before any query runs)
    return query


def _param_error(problem: dict) -> ParamError:
    name = str(problem["loc"][0])
    if problem["type"] == "extra_forbidden":
        # A misspelt filter silently ignored would return the wrong rows; name it instead.
        return ParamError(name, f"Unknown parameter {name}.")
    message = problem["msg"].removeprefix("Value error, ")
    return ParamError(name, f"{name}: {message[:1].lower()}{message[1:]}.")
