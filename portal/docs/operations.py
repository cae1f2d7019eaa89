"""What the docs page shows for each operation, read from the OpenAPI document alone, so that a
tag, summary, description, header or example added to the spec shows up on the page."""

from dataclasses import dataclass, field

from portal.docs.examples import media_examples, request_example, resolve, resolve_value
from portal.docs.samples import Call, Sample, samples, with_credentials
from portal.docs.schema_text import TypeText, ValueLists, constraints, describe_type

JSON = "application/json"


@dataclass
class FieldRow:
    """One parameter, body field, response field or header."""

    name: str
    type: TypeText
    description: str = ""
    required: bool = False
    where: str = ""  # "query", "path" or "header" for parameters
    notes: list[str] = field(default_factory=list)


@dataclass
class Response:
    status: str
    description: str
    examples: list[tuple[str, object]]
    headers: list[FieldRow]


@dataclass
class Operation:
    id: str
    method: str
    path: str
    summary: str
    description: str
    group: str
    public: bool
    params: list[FieldRow]
    fields: list[FieldRow]
    result_fields: list[FieldRow]
    success: Response
    errors: list[Response]
    links: list[dict]
    samples: list[Sample]


def describe_operations(document: dict, base_url: str, api_key: str,
                        lists: ValueLists) -> list[Operation]:
    """Every operation of the document, in its order."""
    return [_operation(path, method, op, document, base_url, api_key, lists)
            for path, methods in document["paths"].items()
            for method, op in methods.items()]


def group_operations(ops: list[Operation], document: dict) -> list[tuple[str, str, list]]:
    """(name, description, operations) per tag (or first path segment), in order of first
    appearance."""
    described = {tag["name"]: tag.get("description", "") for tag in document.get("tags", [])}
    grouped: dict[str, list[Operation]] = {}
    for op in ops:
        grouped.setdefault(op.group, []).append(op)
    return [(name, described.get(name, ""), members) for name, members in grouped.items()]


def _operation(path, method, op, document, base_url, api_key, lists) -> Operation:
    public = op.get("security") == []
    statuses = sorted(op["responses"].items())
    success = [_response(s, r, document, lists) for s, r in statuses if s.startswith("2")]
    example = request_example(op, document)
    body = with_credentials(example, api_key)
    url = base_url + _filled_path(path, op.get("parameters", []))
    return Operation(
        id=op["operationId"], method=method.upper(), path=path,
        summary=op.get("summary", ""), description=op.get("description", ""),
        group=_group(path, op), public=public,
        params=[_parameter(p, document, lists) for p in op.get("parameters", [])],
        fields=_properties(_body_schema(op.get("requestBody", {}), document), document, lists,
                           example),
        result_fields=_properties(_result_schema(op["responses"], document), document, lists),
        success=success[0],
        errors=[_response(s, r, document, lists, built=False)
                for s, r in statuses if not s.startswith("2")],
        links=[_link(link, document) for response in op["responses"].values()
               for link in response.get("links", {}).values()],
        samples=samples(Call(method.upper(), url, None if public else api_key, body,
                             _required_headers(op.get("parameters", [])))),
    )


def _required_headers(parameters: list[dict]) -> tuple[tuple[str, str], ...]:
    """Headers a call cannot go without (If-Match on an update), with a placeholder value."""
    return tuple((p["name"], HEADER_PLACEHOLDERS.get(p["name"], p["name"].upper()))
                 for p in parameters if p["in"] == "header" and p.get("required"))


HEADER_PLACEHOLDERS = {"If-Match": '"ETAG_FROM_YOUR_LAST_READ"'}


def _group(path: str, op: dict) -> str:
    if op.get("tags"):
        return op["tags"][0]
    return path.strip("/").split("/")[0].replace("-", " ").capitalize()


def _filled_path(path: str, parameters: list[dict]) -> str:
    """The path with an example in each {parameter}: the spec's, else NAME in capitals."""
    for param in parameters:
        if param["in"] == "path":
            schema = param.get("schema", {})
            value = param.get("example") or (schema.get("examples") or [None])[0]
            path = path.replace(f"{{{param['name']}}}", value or param["name"].upper())
    return path


def _parameter(param: dict, document: dict, lists: ValueLists) -> FieldRow:
    schema, named = resolve_value(param.get("schema", {}), document)
    return FieldRow(param["name"], describe_type(schema, named or param["name"], lists),
                    param.get("description") or schema.get("description", ""),
                    param.get("required", False), param["in"], constraints(schema))


def _properties(schema: dict, document: dict, lists: ValueLists,
                example=None) -> list[FieldRow]:
    required = set(schema.get("required", ()))
    example = example if isinstance(example, dict) else {}
    rows = []
    for name, prop in schema.get("properties", {}).items():
        prop, named = resolve_value(prop, document)
        rows.append(FieldRow(name, describe_type(prop, named or name, lists, example.get(name)),
                             prop.get("description", ""), name in required,
                             notes=constraints(prop)))
    return rows


def _body_schema(request_body: dict, document: dict) -> dict:
    return resolve(request_body.get("content", {}).get(JSON, {}).get("schema"), document)


def _result_schema(responses: dict, document: dict) -> dict:
    """The object a success answers with: inside {"data": ...} (or its list), else itself."""
    status = min(s for s in responses if s.startswith("2"))
    schema = resolve(responses[status].get("content", {}).get(JSON, {}).get("schema"), document)
    data = schema.get("properties", {}).get("data")
    if data is None:
        return schema
    return resolve(data.get("items", data), document)


def _response(status, response, document, lists, built=True) -> Response:
    """A response; an error's example only when the spec gives one (a built one would guess its
    code wrongly)."""
    media = response.get("content", {}).get(JSON)
    examples = []
    if media is not None and (built or "example" in media or media.get("examples")):
        examples = media_examples(media, document)
    headers = []
    for name, header in response.get("headers", {}).items():
        header = resolve(header, document)
        headers.append(FieldRow(name, describe_type(header.get("schema", {}), name, lists),
                                header.get("description", "")))
    return Response(status, response.get("description", ""), examples, headers)


def _link(link: dict, document) -> dict:
    """A follow-up call, with where its values come from ("client_id = data.id")."""
    method, path = next(
        (method.upper(), path) for path, methods in document["paths"].items()
        for method, op in methods.items() if op["operationId"] == link["operationId"]
    )
    expressions = {**link.get("parameters", {}), **link.get("requestBody", {})}
    sources = ", ".join(f"{name} = {expression.split('#/', 1)[-1].replace('/', '.')}"
                        for name, expression in expressions.items())
    return {"id": link["operationId"], "method": method, "path": path,
            "description": link["description"], "sources": sources}
