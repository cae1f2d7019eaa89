"""JSON Schema types written as a person would say them: "email or null", "one of company or
private_person", "country code, e.g. EE (full list)", read from the OpenAPI document."""

import json
from dataclasses import dataclass, field

# An enum with more values than this is collapsed: an example and a link to its full list.
LONG_ENUM = 12
FORMATS = {"email": "email", "date": "date", "date-time": "date-time", "uri": "URL",
           "uuid": "UUID", "ipv4": "IPv4 address", "ipv6": "IPv6 address"}
PLURALS = {"string": "strings", "integer": "integers", "number": "numbers",
           "boolean": "booleans", "object": "objects"}


@dataclass(frozen=True)
class ValueList:
    """A long enum, listed once at the end of the page and linked from every field using it."""

    anchor: str
    title: str
    values: tuple


@dataclass
class TypeText:
    """A field's type in words, and the long enum it collapsed, if any."""

    text: str
    value_list: ValueList | None = None
    choices: tuple = ()  # a short enum's values, each shown as code


@dataclass
class ValueLists:
    """The long enums met while describing one document, one per distinct set of values."""

    by_values: dict = field(default_factory=dict)

    def add(self, name: str, schema: dict) -> ValueList:
        values = tuple(schema["enum"])
        if values not in self.by_values:
            title = schema.get("description") or schema.get("title") or name
            self.by_values[values] = ValueList(f"values-{name}", title, values)
        return self.by_values[values]

    def __iter__(self):
        return iter(self.by_values.values())


def describe_type(schema: dict, name: str, lists: ValueLists, example=None) -> TypeText:
    """The type of property `name` in words; a long enum is collapsed into `lists`, with
    `example` (the operation's own, when it has one) as its e.g."""
    if "enum" in schema and len(schema["enum"]) > LONG_ENUM:
        value_list = lists.add(name, schema)
        shown = example if example in schema["enum"] else example_value(schema)
        return TypeText(f"{_base(schema)}, e.g. {shown}", value_list)
    if "enum" in schema:
        return TypeText("one of", choices=tuple(_quoted(value) for value in schema["enum"]))
    return TypeText(type_words(schema))


def type_words(schema: dict, inherited: str | None = None) -> str:
    """"email or null", "array of strings", "one of company or private_person"."""
    kind = schema.get("type", inherited)
    variants = schema.get("anyOf") or schema.get("oneOf")
    if variants:
        precise = any(_is_precise_string(variant, kind) for variant in variants)
        return _either([type_words(variant, kind) for variant in variants], precise)
    if isinstance(kind, list):
        return _either([type_words({**schema, "type": one}) for one in kind], False)
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "const" in schema:
        return _quoted(schema["const"])
    if "enum" in schema:
        return "one of " + _join([_quoted(value) for value in schema["enum"]], "or")
    if kind == "array":
        items = type_words(schema.get("items", {}))
        return f"array of {PLURALS.get(items, items)}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"object of names to {type_words(schema['additionalProperties'])}"
    return _base(schema, inherited)


def constraints(schema: dict) -> list[str]:
    """Limits worth knowing before a 422: lengths, ranges, sizes and the default."""
    notes = [note for variant in schema.get("anyOf", ()) for note in constraints(variant)]
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        notes.append(f"{low} to {high}")
    elif high is not None:
        notes.append(f"at most {high}")
    if schema.get("maxLength") is not None:
        notes.append(f"up to {schema['maxLength']} characters")
    if schema.get("maxItems") is not None:
        notes.append(f"up to {schema['maxItems']} items")
    if schema.get("maxProperties") is not None:
        notes.append(f"up to {schema['maxProperties']} entries")
    if schema.get("default") not in (None, [], {}):
        notes.append(f"default {_quoted(schema['default'])}")
    return list(dict.fromkeys(notes))


def example_value(schema: dict):
    """The schema's own example, else its first allowed value."""
    if schema.get("examples"):
        return schema["examples"][0]
    if "example" in schema:
        return schema["example"]
    return schema["enum"][0]


def _base(schema: dict, inherited: str | None = None) -> str:
    kind = schema.get("type", inherited) or "any value"
    if kind == "string" and schema.get("format"):
        return FORMATS.get(schema["format"], schema["format"])
    return kind


def _is_precise_string(schema: dict, inherited: str | None) -> bool:
    return schema.get("type", inherited) == "string" and bool(
        {"format", "enum", "const"} & schema.keys())


def _either(names: list[str], precise_string: bool) -> str:
    """Alternatives without repeats; a plain "string" says nothing next to a more precise
    one ("email or null", not "string (email) or string or null"); null last."""
    unique = list(dict.fromkeys(names))
    if precise_string and "string" in unique:
        unique.remove("string")
    if "null" in unique:
        unique.remove("null")
        unique.append("null")
    return _join(unique, "or")


def _join(words: list[str], last: str) -> str:
    if len(words) < 2:
        return "".join(words)
    return f"{', '.join(words[:-1])} {last} {words[-1]}"


def _quoted(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)
