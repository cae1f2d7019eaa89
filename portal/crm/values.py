"""The CRM's value types: stripped, length-capped strings, codes, dates, e-mails, UTC times."""

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

import email_validator
from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from portal.crm.countries import COUNTRY_CODES

INITIALS_PATTERN = r"^[A-Za-z0-9]{1,4}$"
FIELD_NAME_PATTERN = r"^[A-Za-z0-9_]{1,64}$"
ClientTypeName = Literal["company", "private_person"]
ClientStatusName = Literal["active", "inactive"]
FieldTypeName = Literal["text", "number", "date", "boolean"]


def _refuse(kind: str, message: str):
    return PydanticCustomError(kind, message)


def _check_initials(value: str) -> str:
    if not re.fullmatch(INITIALS_PATTERN, value):
        raise _refuse("client_initials", "Use 1 to 4 letters or digits, e.g. NWT.")
    return value.upper()


def _check_country(value: str) -> str:
    if value not in COUNTRY_CODES:
        raise _refuse("country_code", "Use an ISO 3166-1 alpha-2 country code, e.g. EE.")
    return value


def _check_email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise _refuse("email", "Enter a valid e-mail address.") from error


def parse_iso_date(value: Any) -> date:
    """A YYYY-MM-DD string (or a date) as a date; never a timestamp or another format."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _refuse("date", "Enter a date as YYYY-MM-DD.")


def not_in_future(value: date | None) -> date | None:
    if value is not None and value > date.today():
        raise _refuse("birthday", "A birthday cannot be in the future.")
    return value


def _blank_to_none(value: str | None) -> str | None:
    return value or None


def _iso_z(value: datetime) -> str:
    """Stored datetimes are naive UTC; the API writes them as ISO 8601 with Z."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="seconds") + "Z"


def check_field_name(value: str) -> str:
    if not re.fullmatch(FIELD_NAME_PATTERN, value):
        raise _refuse("field_name", "Use letters, digits and underscores only, e.g. year_end.")
    return value


# What the models' str_strip_whitespace strips: Unicode White_Space (pydantic trims in Rust;
# Python's str.strip() would also take \x1c-\x1f).
STRIPPED = "\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
# A required text in the reference: something left after stripping, and no NUL (the API refuses
# a NUL anywhere in a body: PostgreSQL cannot store one).
NON_BLANK_TEXT = f"^[^\\x00]*[^\\x00{STRIPPED}][^\\x00]*$"
NON_BLANK = Field(json_schema_extra={"pattern": NON_BLANK_TEXT})

# Required strings are stripped and non-empty; optional ones turn blank into null.
Text100 = Annotated[str, StringConstraints(min_length=1, max_length=100), NON_BLANK]
Text200 = Annotated[str, StringConstraints(min_length=1, max_length=200), NON_BLANK]
OptionalText64 = Annotated[
    Annotated[str, StringConstraints(max_length=64)] | None, AfterValidator(_blank_to_none)
]
OptionalText200 = Annotated[
    Annotated[str, StringConstraints(max_length=200)] | None, AfterValidator(_blank_to_none)
]


def _any_case(word: str) -> str:
    """A regex matching `word` in any case (JSON Schema patterns take no flags)."""
    return "".join(f"[{c.lower()}{c.upper()}]" for c in word)


# Format "email" allows addresses _check_email refuses: a quoted local part, an IP literal, a
# domain without a dot, a special-use domain (RFC 6761: .test, .local, .onion, ...; nobody can
# mail them). The reference says so with this pattern.
MAILABLE_ADDRESS = '^(?!.*@(.+\\.)?({})$)[^"]+@[^@\\[]+\\.[^@]+$'.format(
    "|".join(_any_case(name) for name in email_validator.SPECIAL_USE_DOMAIN_NAMES)
)
EMAIL_SCHEMA = {"type": "string", "format": "email", "pattern": MAILABLE_ADDRESS,
                "description": "No quoted local part or IP address; the domain has a dot and "
                               "is not a special-use one such as .test or .local."}
Email = Annotated[
    str, StringConstraints(min_length=1, max_length=254), AfterValidator(_check_email),
    WithJsonSchema({**EMAIL_SCHEMA, "minLength": 1, "maxLength": 254}),
]
OptionalEmail = Annotated[
    Annotated[str, StringConstraints(max_length=254)] | None,
    AfterValidator(_blank_to_none),
    AfterValidator(lambda value: value and _check_email(value)),
    # Blank (only spaces, or empty) is taken as none, like null.
    WithJsonSchema({"anyOf": [{**EMAIL_SCHEMA, "maxLength": 254},
                              {"type": "string", "pattern": f"^[{STRIPPED}]*$", "maxLength": 254},
                              {"type": "null"}]}),
]
Initials = Annotated[
    str, AfterValidator(_check_initials),
    WithJsonSchema({"type": "string", "pattern": INITIALS_PATTERN,
                    "description": "1 to 4 letters or digits; stored upper-case."}),
]
CountryCode = Annotated[
    str, AfterValidator(_check_country),
    WithJsonSchema({"type": "string", "enum": sorted(COUNTRY_CODES),
                    "description": "ISO 3166-1 alpha-2 country code, upper-case."}),
]
IsoDate = Annotated[date, BeforeValidator(parse_iso_date)]
ObjectId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
UtcDateTime = Annotated[
    datetime, PlainSerializer(_iso_z, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
# A custom field value; its type is checked against the field's definition by the service.
FieldValue = Annotated[Any, WithJsonSchema({"type": ["string", "number", "boolean", "null"]})]
FieldName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
FieldMachineName = Annotated[
    str, StringConstraints(min_length=1, max_length=64), AfterValidator(check_field_name),
    Field(json_schema_extra={"pattern": FIELD_NAME_PATTERN}),
]
