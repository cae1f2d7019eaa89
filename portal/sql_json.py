"""JSON written by the database: a list page leaves it as the API's JSON text, row by row.

Turning 100 rows into Python objects, validating them and serialising them again costs several
times more than the whole rest of a request; SQLite (json_object) and PostgreSQL
(json_build_object) write the same JSON in C. These constructs compile to either dialect, so a
query is written once. Every value keeps the API's format: ISO 8601 seconds with Z, true/false,
id arrays in a fixed order. Tests compare each list item with the single-object answer.
"""

import json

from pydantic import BaseModel
from sqlalchemy import Boolean, ColumnCollection, DateTime, Select, Text, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class json_object(FunctionElement):  # noqa: N801 (reads like the SQL function it becomes)
    """`json_object(name, value, ...)`: one JSON object, keys in the given order, as text."""

    type = Text()
    inherit_cache = True


class json_bool(FunctionElement):  # noqa: N801
    """A boolean column as JSON true/false (SQLite stores 0/1)."""

    inherit_cache = True


class json_embedded(FunctionElement):  # noqa: N801
    """A JSON column's document as a nested value (not as a quoted string); NULL as {}."""

    inherit_cache = True


class iso_seconds_z(FunctionElement):  # noqa: N801
    """A naive-UTC datetime column as 'YYYY-MM-DDTHH:MM:SSZ' (fractions cut, as in Python)."""

    type = Text()
    inherit_cache = True


class json_array_of(FunctionElement):  # noqa: N801
    """The values of a one-column ordered subquery as a JSON array, in that order ([] if none)."""

    inherit_cache = True

    def __init__(self, query: Select):
        (column,) = query.selected_columns
        super().__init__(query.with_only_columns(column.label("value")).scalar_subquery())


def _args(element, compiler, **kw) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(json_object)
def _object(element, compiler, **kw):
    return f"json_object({_args(element, compiler, **kw)})"


@compiles(json_object, "postgresql")
def _object_pg(element, compiler, **kw):
    # json_build_object would write '{"id" : ...}' (spaces around the colon); written out,
    # the object is byte for byte what Python's compact json.dumps writes.
    pieces = []
    arguments = list(element.clauses)
    for key, value in zip(arguments[::2], arguments[1::2], strict=True):
        name = key.name.strip("'")
        value = compiler.process(value, **kw)
        pieces.append(f"""'"{name}":' || coalesce(CAST(to_json({value}) AS TEXT), 'null')""")
    return "('{' || " + " || ',' || ".join(pieces) + " || '}')"


@compiles(json_bool)
def _bool(element, compiler, **kw):
    return f"json(CASE WHEN {_args(element, compiler, **kw)} THEN 'true' ELSE 'false' END)"


@compiles(json_bool, "postgresql")
def _bool_pg(element, compiler, **kw):
    return _args(element, compiler, **kw)


@compiles(json_embedded)
def _embedded(element, compiler, **kw):
    return f"json(coalesce({_args(element, compiler, **kw)}, '{{}}'))"


@compiles(json_embedded, "postgresql")
def _embedded_pg(element, compiler, **kw):
    return f"coalesce({_args(element, compiler, **kw)}, CAST('{{}}' AS JSON))"


@compiles(iso_seconds_z)
def _iso(element, compiler, **kw):
    # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff'.
    column = _args(element, compiler, **kw)
    return f"(substr({column}, 1, 10) || 'T' || substr({column}, 12, 8) || 'Z')"


@compiles(iso_seconds_z, "postgresql")
def _iso_pg(element, compiler, **kw):
    return f"""to_char({_args(element, compiler, **kw)}, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""


@compiles(json_array_of)
def _array(element, compiler, **kw):
    # An aggregate reads a FROM subquery in the subquery's order (SQLite does not flatten an
    # ORDER BY subquery into an aggregate); json_group_array has no ORDER BY of its own before
    # SQLite 3.44.
    subquery = _args(element, compiler, **kw)
    return f"(SELECT json_group_array(value) FROM {subquery})"  # noqa: S608 (compiled SQL)


@compiles(json_array_of, "postgresql")
def _array_pg(element, compiler, **kw):
    return f"array_to_json(ARRAY{_args(element, compiler, **kw)})"


def json_row(schema: type[BaseModel], columns: ColumnCollection, **computed) -> json_object:
    """One row as `schema` shows it: its fields, in its order, from the columns of the same
    names (datetimes as ISO seconds with Z, booleans as true/false) or from `computed`.

    The schema stays the allow-list: a column it does not name is never written."""
    pairs = []
    for name in schema.model_fields:
        assert name.isidentifier()  # written into the SQL as a literal key
        value = computed.pop(name, None)
        if value is None:
            value = columns[name]
            if isinstance(value.type, DateTime):
                value = iso_seconds_z(value)
            elif isinstance(value.type, Boolean):
                value = json_bool(value)
        pairs += [literal_column(f"'{name}'"), value]
    if computed:
        raise ValueError(f"{schema.__name__} has no field {', '.join(computed)}")
    return json_object(*pairs).label("json")


def stored_json(value) -> str:
    """How JSON columns are written: compact and UTF-8, as the API writes JSON, because list
    pages embed a column's text as it is stored (PostgreSQL's json type keeps it verbatim)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
