"""Reading a JSON request body strictly: content type, size, duplicate keys, depth, schema."""

import json
from functools import cache
from typing import Annotated

from flask import request
from pydantic import BaseModel, TypeAdapter, ValidationError

from portal.crm.schemas import validation_details

MAX_DEPTH = 20


class BodyError(Exception):
    """The body cannot be accepted; status is 400, 415 or 422."""

    def __init__(self, status: int, details: list[dict], message: str | None = None,
                 body: dict | None = None):
        super().__init__(message or "The request body is not valid.")
        self.status = status
        self.details = details
        self.message = message or "The request body is not valid; see details."
        # The parsed JSON object, when it was the schema that refused it: the firm's own rules
        # can still be checked on its well-formed parts (see api.resources).
        self.body = body


def parse_body(model: type[BaseModel]) -> BaseModel:
    """Validate the JSON body against a pydantic model (the same one the reference shows)."""
    if request.mimetype != "application/json":
        raise BodyError(415, [_detail("body", "Send JSON with Content-Type: application/json.")])
    raw = request.get_data(cache=True)  # MAX_CONTENT_LENGTH makes this 413 above 1 MiB
    try:
        text = raw.decode("utf-8")
        data = json.loads(text, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        message = str(error) if isinstance(error, DuplicateKey) else "The body is not valid JSON."
        raise BodyError(400, [_detail("body", message)]) from error
    if not isinstance(data, dict):
        raise BodyError(400, [_detail("body", "The body must be a JSON object.")])
    if _depth(data) > MAX_DEPTH:
        raise BodyError(400, [_detail("body", "The body is nested too deeply.")])
    nul = [_detail(path, "Must not contain a NUL character.") for path in _nul_paths(data)]
    if nul:
        # PostgreSQL cannot store NUL in text, and no field has a use for it.
        raise BodyError(422, nul)
    try:
        return model.model_validate_json(text, strict=True)
    except ValidationError as error:
        details = validation_details(error)
        # e.g. a lone surrogate escape ("\ud800"): Python's parser takes it, pydantic's not.
        if any(item["type"] == "json_invalid" for item in error.errors()):
            raise BodyError(400, details) from error
        raise BodyError(422, details, body=data) from error


def accepted_parts(model: type[BaseModel], body: dict, names: tuple[str, ...]) -> dict:
    """Those of the `names` fields of a body `model` refused that the schema accepts on their
    own, read as the schema reads them (stripped, bounded), with the defaults of those not
    given: what the firm's own rules can still be checked on. A part the schema refused (too
    long a list, a value of the wrong type) is left out: the schema's answer covers it."""
    parts = {}
    for name in names:
        field = model.model_fields[name]
        if name not in body:
            if not field.is_required():
                parts[name] = field.get_default(call_default_factory=True)
            continue
        try:
            parts[name] = _field_adapter(model, name).validate_json(json.dumps(body[name]),
                                                                    strict=True)
        except ValidationError:
            pass
    return parts


@cache
def _field_adapter(model: type[BaseModel], name: str) -> TypeAdapter:
    field = model.model_fields[name]
    annotation = Annotated[field.annotation, *field.metadata] if field.metadata else (
        field.annotation)
    return TypeAdapter(annotation, config=model.model_config)


class DuplicateKey(ValueError):
    pass


def _refuse_duplicates(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKey(f"The key {key!r} appears more than once.")
        result[key] = value
    return result


def _refuse(constant):
    raise ValueError(f"{constant} is not valid JSON.")


def _depth(value, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def _nul_paths(value, path: str = ""):
    """The dotted paths (as in details) of every key or string value holding a NUL."""
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else key
            if "\x00" in key:
                yield here
            else:
                yield from _nul_paths(item, here)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_paths(item, f"{path}.{index}" if path else str(index))
    elif isinstance(value, str) and "\x00" in value:
        yield path or "body"


def _detail(field: str, message: str) -> dict:
    return {"field": field, "message": message}
