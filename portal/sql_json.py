"""JSON written by the database: a list page leaves it as the API's JSON text, row by row.

Turning 100 rows into Python objects, validating them and serialising them again costs several
times more than the whole rest of a request; SQLite (json_object, json_group_array) and
PostgreSQL (to_json, array_to_json) write the same JSON in C. These constructs compile to
either dialect, so a query is written once. Every value keeps the API's format, byte for byte
what Python's compact json.dumps writes: ISO 8601 seconds with Z, true/false, id arrays in a
fixed order. Tests compare each list item with the single-object answer.
"""

import json

from pydantic import BaseModel
from sqlalchemy import Boolean, ColumnCollection, DateTime, Select, Text, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class json_object(FunctionElement):  # noqa: N801 (lower case like the SQL it becomes)
    """One JSON object, keys in the given order, as text. Arguments: name, value, name, ...;
    each value is one of the constructs below (`json_row` wraps plain columns). SQLite's
    json_object() takes them as its arguments; on PostgreSQL each is JSON text, written out."""

    type = Text()
    inherit_cache = True


class json_scalar(FunctionElement):  # noqa: N801
    """A text or number column as JSON: a quoted, escaped string, a number, or null."""

    inherit_cache = True


class json_bool(FunctionElement):  # noqa: N801
    """A boolean column as JSON true/false (SQLite stores 0/1)."""

    inherit_cache = True


class json_embedded(FunctionElement):  # noqa: N801
    """A JSON column's stored document, embedded as it is (see stored_json); NULL as {}."""

    inherit_cache = True


class json_iso_seconds_z(FunctionElement):  # noqa: N801
    """A naive-UTC datetime column as "YYYY-MM-DDTHH:MM:SSZ" (fractions cut, as in Python)."""

    inherit_cache = True


class json_array_of(FunctionElement):  # noqa: N801
    """The values of a one-column ordered subquery as a JSON array, in that order ([] if none)."""

    inherit_cache = True

    def __init__(self, query: Select):
        (column,) = query.selected_columns
        super().__init__(query.with_only_columns(column.label("value")).scalar_subquery())


_TO_JSON_PG = "coalesce(CAST(to_json({0}) AS TEXT), 'null')"
# What each construct becomes, as (SQLite, PostgreSQL); {0} is its compiled argument.
_SQL = {
    json_object: ("json_object({0})", None),  # PostgreSQL: _object_pg below
    json_scalar: ("{0}", _TO_JSON_PG),  # SQLite's json_object quotes and escapes it
    json_bool: ("json(CASE WHEN {0} THEN 'true' WHEN NOT {0} THEN 'false' END)", _TO_JSON_PG),
    json_embedded: (
        "json(coalesce({0}, '{{}}'))",
        "coalesce(CAST({0} AS TEXT), '{{}}')",
    ),
    json_iso_seconds_z: (
        # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff'.
        "(substr({0}, 1, 10) || 'T' || substr({0}, 12, 8) || 'Z')",
        """coalesce('"' || to_char({0}, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || '"', 'null')""",
    ),
    json_array_of: (
        # An aggregate reads a FROM subquery in the subquery's order (SQLite does not flatten
        # an ORDER BY subquery into an aggregate); json_group_array has no ORDER BY of its own
        # before SQLite 3.44.
        "(SELECT json_group_array(value) FROM {0})",
        "CAST(array_to_json(ARRAY{0}) AS TEXT)",
    ),
}


def _compiles_to(sql: str):
    def compile_construct(element, compiler, **kw):
        return sql.format(compiler.process(element.clauses, **kw))
    return compile_construct


for _construct, (_sqlite, _postgresql) in _SQL.items():
    compiles(_construct)(_compiles_to(_sqlite))
    if _postgresql:
        compiles(_construct, "postgresql")(_compiles_to(_postgresql))


@compiles(json_object, "postgresql")
def _object_pg(element, compiler, **kw):
    # Written out: json_build_object would put spaces around every colon.
    pieces = []
    arguments = list(element.clauses)
    for key, value in zip(arguments[::2], arguments[1::2], strict=True):
        name = key.name.strip("'")
        pieces.append(f"""'"{name}":' || {compiler.process(value, **kw)}""")
    return "('{' || " + " || ',' || ".join(pieces) + " || '}')"


def json_row(schema: type[BaseModel], columns: ColumnCollection, **computed) -> ColumnElement:
    """One row as `schema` shows it: its fields, in its order, from the columns of the same
    names (datetimes as ISO seconds with Z, booleans as true/false) or from `computed`.

    The schema stays the allow-list: a column it does not name is never written."""
    pairs = []
    for name in schema.model_fields:
        if not name.isidentifier():  # written into the SQL as a literal key
            raise ValueError(f"{schema.__name__}.{name} is not a plain field name")
        value = computed.pop(name, None)
        if value is None:
            value = columns[name]
            if isinstance(value.type, DateTime):
                value = json_iso_seconds_z(value)
            elif isinstance(value.type, Boolean):
                value = json_bool(value)
            else:
                value = json_scalar(value)
        pairs += [literal_column(f"'{name}'"), value]
    if computed:
        raise ValueError(f"{schema.__name__} has no field {', '.join(computed)}")
    return json_object(*pairs).label("json")


def stored_json(value) -> str:
    """How JSON columns are written: compact and UTF-8, as the API writes JSON, because list
    pages embed a column's text as it is stored (PostgreSQL's json type keeps it verbatim)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
