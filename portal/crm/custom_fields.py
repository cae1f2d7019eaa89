"""Custom client field values, checked against the firm's field definitions."""

import math

from portal.crm.errors import detail
from portal.crm.models import FieldType
from portal.crm.values import parse_iso_date

TEXT_MAX = 1000


def _text(value) -> str | None:
    if not isinstance(value, str):
        raise ValueError("Enter text.")
    value = value.strip()
    if len(value) > TEXT_MAX:
        raise ValueError(f"Use at most {TEXT_MAX} characters.")
    return value or None


def _number(value) -> int | float:
    # bool is an int in Python, but true is not a number in JSON.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("Enter a number.")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("Enter a finite number.")
    return value


def _date(value) -> str:
    # Stored as the ISO string JSON carries; parse_iso_date refuses with a ValueError.
    return parse_iso_date(value).isoformat()


def _boolean(value) -> bool:
    if not isinstance(value, bool):
        raise ValueError("Enter true or false.")
    return value


CHECKS = {
    FieldType.TEXT: _text,
    FieldType.NUMBER: _number,
    FieldType.DATE: _date,
    FieldType.BOOLEAN: _boolean,
}


def clean_field_values(definitions: list, values: dict) -> tuple[dict, list[dict]]:
    """The values to store (null and blank text dropped) and the problems found, if any.

    `definitions` are the firm's fields: anything with name, title, type and required."""
    by_name = {field.name: field for field in definitions}
    cleaned: dict = {}
    details: list[dict] = []
    for name, value in values.items():
        field = by_name.get(name)
        if field is None:
            details.append(detail(f"fields.{name}", "There is no custom client field "
                                  "with this name."))
            continue
        try:
            value = None if value is None else CHECKS[FieldType(field.type)](value)
        except ValueError as error:
            details.append(detail(f"fields.{name}", str(error)))
            continue
        if value is not None:
            cleaned[name] = value
    refused = {item["field"] for item in details}
    for field in definitions:
        path = f"fields.{field.name}"
        if field.required and field.name not in cleaned and path not in refused:
            details.append(detail(path, f"“{field.title}” is required."))
    return cleaned, details
