"""Example bodies for the docs: the OpenAPI document's own examples where it has them, else
built from the schema (its examples, defaults and first allowed values), so an example added to
the spec shows up on the page without touching the page."""

FORMAT_SAMPLES = {"email": "anna@example.com", "date": "2026-01-31",
                  "date-time": "2026-01-31T09:30:00Z", "uri": "https://example.com/",
                  "uuid": "3f0c1b4e-8d6a-4c2e-9b1a-2f5d7e8c9a10"}
SCALAR_SAMPLES = {"integer": 1, "number": 1.5, "boolean": True, "null": None}
MAX_DEPTH = 6  # a recursive schema still ends


def resolve(schema: dict | None, document: dict) -> dict:
    """The schema a local $ref points at, with the referring schema's own keywords (a default,
    an example) on top; or the schema itself."""
    while schema and "$ref" in schema:
        section, name = schema["$ref"].split("/")[-2:]
        siblings = {key: value for key, value in schema.items() if key != "$ref"}
        schema = {**document["components"][section][name], **siblings}
    return schema or {}


def resolve_value(schema: dict, document: dict) -> tuple[dict, str]:
    """A field's schema with a named enum or scalar inlined (an object stays a named $ref), and
    the name it had, if any."""
    if "$ref" not in schema:
        return schema, ""
    resolved = resolve(schema, document)
    if resolved.get("type") == "object" or "properties" in resolved:
        return schema, ""
    return resolved, schema["$ref"].rsplit("/", 1)[-1]


def media_examples(media: dict, document: dict) -> list[tuple[str, object]]:
    """(label, value) for each example of a media type: its `example`, its named `examples`, the
    schema's own `examples`, or one built from the schema."""
    if "example" in media:
        return [("", media["example"])]
    if media.get("examples"):
        return [(example.get("summary", name), example.get("value"))
                for name, example in media["examples"].items()]
    schema = resolve(media.get("schema"), document)
    if schema.get("examples"):
        return [("", schema["examples"][0])]
    return [("", sample(media.get("schema", {}), document))]


def request_example(operation: dict, document: dict):
    """The JSON body an example call sends, or None when the operation takes none."""
    media = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if media is None:
        return None
    schema = resolve(media.get("schema"), document)
    if "example" in media or media.get("examples") or schema.get("examples"):
        return media_examples(media, document)[0][1]
    # Built: the required fields, and the optional ones the schema gives an example for.
    required = set(schema.get("required", ()))
    return {name: sample(prop, document, 1) for name, prop in schema.get("properties", {}).items()
            if name in required or "examples" in prop or "example" in prop}


def sample(schema: dict, document: dict, depth: int = 0, inherited: str | None = None):
    """A value that fits `schema`, preferring what the schema says about itself."""
    schema = resolve(schema, document)
    for key in ("examples", "example", "const", "default", "enum"):
        if key in schema and schema[key] not in (None, [], {}):
            value = schema[key]
            return value[0] if key in ("examples", "enum") else value
    variants = schema.get("anyOf") or schema.get("oneOf")
    kind = schema.get("type", inherited)
    if variants:
        usable = [v for v in variants if v.get("type") != "null"] or variants
        return sample(usable[0], document, depth, kind)
    if isinstance(kind, list):
        kind = kind[0]
    if depth >= MAX_DEPTH:
        return None
    if kind == "object" or "properties" in schema:
        return {name: sample(prop, document, depth + 1)
                for name, prop in schema.get("properties", {}).items()}
    if kind == "array":
        return [sample(schema.get("items", {}), document, depth + 1)]
    if kind == "string":
        return FORMAT_SAMPLES.get(schema.get("format"), "string")
    return SCALAR_SAMPLES.get(kind)

