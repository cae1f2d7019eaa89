"""The reference's prose and shared parts: tags, the description (rate limits included),
response headers, and names for the enums generators would otherwise name after a field."""

DESCRIPTION = """\
Query your firm's data, build integrations, and create and update clients and contacts.

**Authentication.** An API key and API secret from Settings and Apps > Public API: HTTP Basic
(key as user name, secret as password), the `X-API-Key` and `X-API-Secret` headers, or a Bearer
token from `POST /auth/token`. Production accepts credentials only over HTTPS.

**Rate limits.** Each key may make 600 reads (GET) and 120 writes a minute; a firm may have
other limits. Every answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
`X-RateLimit-Reset` (Unix time, in seconds, when the window resets). Over the limit the answer is
`429 RATE_LIMITED` with `Retry-After` in seconds: wait that long, then retry; spread bulk work
so `X-RateLimit-Remaining` never reaches 0. Failed authentication is limited to 30 a minute
per client IP and key.

**Errors** are `{"error": {"code", "message", "request_id", "doc_url", "details"}}`; every
`code` is listed, with what to do, at `/docs/api/errors`.

**Versioning.** Within v1 changes are additive only (new operations, optional fields,
response fields, enum values where documented as open); anything to be removed is announced
with `Deprecation` and `Sunset` headers first. What changed and when: `/docs/api/changelog`.
"""

TAGS = {
    "Authentication": "Check credentials and exchange them for a Bearer token.",
    "Clients": "The firm's clients: list, read, create, update.",
    "Contacts": "Contact people of the firm's clients: list, read, create, update.",
    "Members": "The firm's users (read only).",
    "Client groups": "Groups the firm sorts its clients into (read only).",
    "Client fields": "The firm's custom client field definitions (read only).",
}
# The first segment of an operation's path names its tag.
TAG_OF_SEGMENT = {
    "ping": "Authentication", "auth": "Authentication", "clients": "Clients",
    "contacts": "Contacts", "members": "Members", "client-groups": "Client groups",
    "client-fields": "Client fields",
}

HEADERS = {
    "X-Request-Id": {"description": "This request's id: quote it to support.",
                     "schema": {"type": "string"}},
    "X-RateLimit-Limit": {"description": "Requests of this kind (reads or writes) the key may "
                          "make per minute.", "schema": {"type": "integer"}},
    "X-RateLimit-Remaining": {"description": "Requests left in the current minute.",
                              "schema": {"type": "integer"}},
    "X-RateLimit-Reset": {"description": "When the current window resets: Unix time, in "
                          "seconds.",
                          "schema": {"type": "integer"}},
    "Retry-After": {"description": "Seconds to wait before retrying.",
                    "schema": {"type": "integer"}},
    "Location": {"description": "URL of the created object.", "schema": {"type": "string"}},
    "ETag": {"description": "The object's version: send it in If-Match to update it.",
             "schema": {"type": "string"}},
    "Idempotent-Replayed": {"description": "`true` when this is the stored answer to an "
                            "earlier request with the same Idempotency-Key.",
                            "schema": {"type": "string", "enum": ["true"]}},
}
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def headers_for(status: str, *names: str) -> dict:
    """References to the headers an answer carries: every answer its request id; all but a
    401 (which must read the same whatever was sent) the key's rate-limit state."""
    names = ("X-Request-Id", *(() if status == "401" else RATE_HEADERS), *names)
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


# Enum values (sorted) -> the schema name a generated client gets for them.
ENUM_NAMES = {
    ("company", "private_person"): "ClientType",
    ("active", "inactive"): "Status",
    ("admin", "member", "owner"): "MemberRole",
    ("boolean", "date", "number", "text"): "FieldType",
    ("-created_at", "-name", "-updated_at", "created_at", "name", "updated_at"): "Sort",
    ("-created_at", "-name", "created_at", "name"): "ReferenceSort",
}


def name_enums(schemas: dict, parameters: list[dict]) -> None:
    """Replace every inline enum of the component schemas' properties and of the parameters
    with a reference to a named one; an enum of values not named here fails the build."""
    for schema in list(schemas.values()):
        for name, prop in schema.get("properties", {}).items():
            _hoist(prop, schemas, name)
    for param in parameters:
        _hoist(param["schema"], schemas, param["name"])


def _hoist(prop: dict, schemas: dict, field: str) -> None:
    for option in prop.get("anyOf", []):
        _hoist(option, schemas, field)
    if "enum" not in prop or prop.get("type") != "string":
        return
    values = prop["enum"]
    name = "CountryCode" if field == "address_country_code" else ENUM_NAMES[
        tuple(sorted(values))]
    schemas[name] = {"type": "string", "enum": values, "title": name}
    if "description" in prop and name == "CountryCode":
        schemas[name]["description"] = prop.pop("description")
    for key in ("type", "enum", "title"):
        prop.pop(key, None)
    prop["$ref"] = f"#/components/schemas/{name}"
