"""The OpenAPI document as generators and linters want it: tags, prose, contact and licence,
absolute servers, examples that fit their schemas, declared headers, typed date filters, open
output enums and named ones everywhere else. (`make lint-spec` runs Redocly and Spectral.)"""

import pytest
from jsonschema import Draft202012Validator

from tests.api_helpers import API


@pytest.fixture
def document(client):
    return client.get(f"{API}/openapi.json", base_url="https://crm.uku.test").json


def operations(document):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield f"{method} {path}", operation


def test_every_operation_has_a_declared_tag_a_summary_and_a_description(document):
    declared = {tag["name"] for tag in document["tags"]}
    assert all(tag.get("description") for tag in document["tags"])
    for label, operation in operations(document):
        assert len(operation["tags"]) == 1 and operation["tags"][0] in declared, label
        assert operation["summary"] and operation["description"], label


def test_info_and_servers_are_absolute_urls_of_the_host_asked(document, client):
    assert document["servers"] == [{"url": "https://crm.uku.test/api/v1"}]
    assert document["info"]["contact"]["url"] == "https://crm.uku.test/docs/api"
    assert document["info"]["license"]["url"].startswith("https://crm.uku.test/docs/api")
    other = client.get(f"{API}/openapi.json", base_url="http://127.0.0.1:5000").json
    assert other["servers"] == [{"url": "http://127.0.0.1:5000/api/v1"}]
    assert "Vary" in client.get(f"{API}/openapi.json").headers


def test_rate_limits_are_described(document):
    description = document["info"]["description"]
    for words in ("600 reads", "120 writes", "X-RateLimit-Remaining", "Retry-After", "429"):
        assert words in description


def validator(document, schema) -> Draft202012Validator:
    """The schema, its #/components/... references resolved in the document."""
    return Draft202012Validator({"components": document["components"], **schema},
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_every_body_and_answer_has_an_example_that_fits_its_schema(document):
    for label, operation in operations(document):
        contents = [("request", operation["requestBody"]["content"])] if (
            "requestBody" in operation) else []
        contents += [(status, response["content"])
                     for status, response in operation["responses"].items()]
        for where, content in contents:
            media = content["application/json"]
            assert "example" in media, (label, where)
            validator(document, media["schema"]).validate(media["example"])


def test_answers_declare_their_headers(document):
    for label, operation in operations(document):
        for status, response in operation["responses"].items():
            headers = set(response["headers"])
            assert "X-Request-Id" in headers, (label, status)
            assert ("X-RateLimit-Remaining" in headers) == (status != "401"), (label, status)
            if status in ("429", "503"):
                assert "Retry-After" in headers, (label, status)
            if status == "201":
                assert {"Location", "Idempotent-Replayed"} <= headers, label
    for name in document["components"]["headers"]:
        assert document["components"]["headers"][name]["description"]


def test_limit_shows_its_default_and_maximum(document):
    limit = next(p for p in document["paths"]["/clients"]["get"]["parameters"]
                 if p["name"] == "limit")
    assert (limit["schema"]["default"], limit["schema"]["maximum"]) == (25, 100)


def test_date_filters_are_typed_and_updated_since_is_explained(document):
    params = {p["name"]: p for p in document["paths"]["/clients"]["get"]["parameters"]}
    for name in ("created_since", "updated_since"):
        assert params[name]["schema"]["anyOf"] == [
            {"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]
    assert "boundary is included" in params["updated_since"]["description"]


def test_output_country_codes_are_open_and_every_other_enum_is_named(document):
    schemas = document["components"]["schemas"]
    country = schemas["ClientOut"]["properties"]["address_country_code"]
    assert country["pattern"] == "^[A-Z]{2}$" and "enum" not in country
    assert schemas["ClientCreate"]["properties"]["address_country_code"] == {
        "$ref": "#/components/schemas/CountryCode"}

    def inline_enums(value, path):
        if isinstance(value, dict):
            if "enum" in value and not (len(path) == 3 and path[:2] == ["components", "schemas"]):
                yield "/".join(path)
            for key, item in value.items():
                yield from inline_enums(item, [*path, key])
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from inline_enums(item, [*path, str(index)])

    headers = {"components/headers/Idempotent-Replayed/schema"}
    assert set(inline_enums(document, [])) == headers
