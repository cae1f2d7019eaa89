"""The API reference: valid OpenAPI 3.1, and a readable docs page with curl examples."""

import html
import re
import time

import pytest
from flask import Flask
from openapi_spec_validator import validate

from portal.api import spec
from portal.api.spec import RESPONSE_ID, Link, documented
from portal.docs.operations import describe_operations
from portal.docs.schema_text import ValueLists, type_words
from portal.extensions import db
from tests.api_helpers import basic, make_pair


def test_openapi_document_is_valid_3_1(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json
    assert document["openapi"].startswith("3.1")
    validate(document)
    schemes = document["components"]["securitySchemes"]
    assert {"basicAuth", "apiKey", "apiSecret", "bearerAuth"} <= schemes.keys()
    assert "/ping" in document["paths"] and "/auth/token" in document["paths"]


def test_docs_page_for_anonymous_uses_placeholders(client, world):
    page = client.get("/docs/api").text
    assert "curl -u YOUR_API_KEY:YOUR_API_SECRET" in page
    assert "/api/v1/ping" in page


def test_docs_page_for_an_admin_uses_their_api_key_never_the_secret(client, world, auth):
    pair = make_pair(world.firm, world.admin)
    auth.login("admin@alpha.example")
    response = client.get("/docs/api")
    page = response.text
    assert f"curl -u {pair.key.api_key}:YOUR_API_SECRET" in page
    assert f"auth=(&#39;{pair.key.api_key}&#39;, &#39;YOUR_API_SECRET&#39;)" in page  # Python
    assert f"&#34;X-API-Key&#34;: &#34;{pair.key.api_key}&#34;" in page  # JavaScript
    assert f"&#34;api_key&#34;: &#34;{pair.key.api_key}&#34;" in page  # the token exchange
    assert pair.secret not in page
    # The page names the admin's key: no cache keeps it.
    assert response.headers["Cache-Control"] == "no-store"


def test_docs_linked_from_footer_and_public_api_page(client, world, auth):
    auth.login("admin@alpha.example")
    assert 'href="/docs/api"' in client.get("/settings").text
    assert 'href="/docs/api"' in client.get("/settings/apps/public-api").text


def test_members_never_see_the_docs(client, world, auth):
    auth.login("member@alpha.example")
    assert 'href="/docs/api"' not in client.get("/settings").text
    assert client.get("/docs/api").status_code == 403


def test_docs_page_shows_each_operations_links(client):
    page = client.get("/docs/api").text
    create_client = page[page.index('id="create_client"'):page.index('id="get_client"')]
    assert ('<a href="#get_client"><span class="method method-get">GET</span> '
            "<code>/api/v1/clients/{client_id}</code></a> Read the new client.") in create_client
    assert "(client_id = data.id)" in create_client


def _app_linking(link: Link) -> Flask:
    """A bare app whose POST /things answer links to GET /things/<thing_id>."""
    app = Flask(__name__)
    app.add_url_rule("/api/v1/things/<thing_id>", "api.get_thing",
                     documented(summary="Read a thing")(lambda thing_id: ""))
    app.add_url_rule("/api/v1/things", "api.make_thing", methods=["POST"],
                     view_func=documented(summary="Make a thing", status=201,
                                          links=(link,))(lambda: ""))
    return app


def test_a_link_becomes_part_of_the_success_response():
    link = Link("GetThing", "get_thing", "Read it.", {"thing_id": RESPONSE_ID})
    responses = spec.build(_app_linking(link))["paths"]["/things"]["post"]["responses"]
    assert responses["201"]["links"] == {"GetThing": {
        "operationId": "get_thing", "description": "Read it.",
        "parameters": {"thing_id": "$response.body#/data/id"},
    }}


@pytest.mark.parametrize(("link", "problem"), [
    (Link("GetThing", "get_thingy", "Read it.", {"thing_id": RESPONSE_ID}), "no operation"),
    (Link("GetThing", "get_thing", "Read it.", {"id": RESPONSE_ID}), "takes no id"),
    (Link("GetThing", "get_thing", "Read it.", body={"thing_id": RESPONSE_ID}), "takes no thing"),
])
def test_a_dangling_link_is_refused(link, problem):
    with pytest.raises(ValueError, match=problem):
        spec.build(_app_linking(link))


def _section(page: str, operation_id: str) -> str:
    start = page.index(f'<section class="endpoint" id="{operation_id}"')
    return page[start:page.index("</section>", start)]


def test_a_long_enum_is_collapsed_and_listed_once(client):
    page = client.get("/docs/api").text
    create_client = _section(page, "create_client")
    assert "string, e.g. EE" in create_client
    assert '<a href="#values-CountryCode">full list (249)</a>' in create_client
    assert "<code>ZW</code>" not in create_client
    assert page.count("<code>ZW</code>") == 1
    assert '<h3 class="value-list-title" id="values-CountryCode">' in page


def test_types_read_as_a_person_would_say_them(client):
    create_client = _section(client.get("/docs/api").text, "create_client")
    email = create_client[create_client.index('field-name">email<'):]
    assert email.index("email or null") < 200
    assert "string (email)" not in create_client
    assert ('one of <code class="choice">company</code> <code class="choice">private_person</code>'
            in create_client)


@pytest.mark.parametrize(("schema", "words"), [
    ({"anyOf": [{"type": "string", "format": "email"}, {"type": "string"}, {"type": "null"}]},
     "email or null"),
    ({"type": ["string", "number", "null"]}, "string, number or null"),
    ({"type": "string", "anyOf": [{"format": "date-time"}, {"format": "date"}]},
     "date-time or date"),
    ({"type": "array", "items": {"type": "string"}}, "array of strings"),
    ({"anyOf": [{"type": "integer"}, {"type": "string"}]}, "integer or string"),
    ({"enum": ["a", "b", "c"], "type": "string"}, "one of a, b or c"),
    ({"type": "object", "additionalProperties": {"type": "boolean"}},
     "object of names to boolean"),
])
def test_type_words(schema, words):
    assert type_words(schema) == words


def test_every_call_is_shown_in_three_languages_that_work_without_javascript(client):
    ping = _section(client.get("/docs/api").text, "ping")
    # The tab list is for docs.js to show; without it every language's block is there, labelled.
    assert re.search(r'<div class="code-tablist" role="tablist" aria-label="[^"]+" hidden>', ping)
    for language, label, code in (("curl", "curl", "curl -u YOUR_API_KEY:YOUR_API_SECRET"),
                                  ("python", "Python", "requests.get("),
                                  ("javascript", "JavaScript", "await fetch(")):
        assert f'<span class="code-label" id="ping-label-{language}">{label}</span>' in ping
        assert code in ping
        assert f'<pre tabindex="0" role="group" aria-label="{label} example: ' in ping


def test_examples_come_from_the_spec_when_it_has_them():
    document = {
        "openapi": "3.1.0", "servers": [{"url": "/api/v1"}],
        "paths": {"/things": {"post": {
            "operationId": "make_thing", "summary": "Make a thing", "tags": ["Things"],
            "requestBody": {"content": {"application/json": {
                "schema": {"type": "object"}, "example": {"name": "Widget"}}}},
            "responses": {
                "201": {"description": "Created", "headers": {
                    "Location": {"schema": {"type": "string"}, "description": "Its URL"}},
                    "content": {"application/json": {"schema": {"type": "object"}, "examples": {
                        "made": {"summary": "A new thing", "value": {"data": {"id": "thg_1"}}}}}}},
                "429": {"description": "Slow down", "content": {"application/json": {
                    "schema": {"type": "object"},
                    "example": {"error": {"code": "RATE_LIMITED"}}}}},
            },
        }}},
        "components": {"schemas": {}},
    }
    [op] = describe_operations(document, "https://example.com/api/v1", "KEY", ValueLists())
    assert op.group == "Things"
    assert op.success.examples == [("A new thing", {"data": {"id": "thg_1"}})]
    assert [(h.name, h.type.text, h.description) for h in op.success.headers] == [
        ("Location", "string", "Its URL")]
    assert op.errors[0].examples == [("", {"error": {"code": "RATE_LIMITED"}})]
    assert '"name": "Widget"' in op.samples[0].code


def test_rate_limits_are_the_apps_and_the_firms_own(app, client, world, auth):
    app.config["API_RATE_LIMIT_READS"] = 1234
    app.config["API_AUTH_FAILURES_PER_IP_AND_KEY"] = 17
    section = client.get("/docs/api").text.split('id="rate-limits"')[1]
    assert "<strong>1234 reads</strong>" in section and "<strong>120 writes</strong>" in section
    assert "<strong>17 a minute</strong>" in section
    for header in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
                   "Retry-After"):
        assert f"<code>{header}</code>" in section
    world.firm.api_write_limit = 45
    db.session.commit()
    auth.login("admin@alpha.example")
    section = client.get("/docs/api").text.split('id="rate-limits"')[1]
    assert "<strong>45 writes</strong> (" in section and "your firm's own limits" in section


def test_an_admin_sees_the_public_api_tabs_a_visitor_does_not(client, world, auth):
    tabs = '<nav class="tabs" aria-label="API Integration">'
    assert tabs not in client.get("/docs/api").text
    auth.login("admin@alpha.example")
    page = client.get("/docs/api").text
    assert tabs in page
    assert '<a href="/docs/api" aria-current="page">Documentation</a>' in page


def test_the_reset_header_is_documented_as_what_the_api_sends(client, world):
    pair = make_pair(world.firm, world.admin)
    answer = client.get("/api/v1/ping", headers=basic(pair.key.api_key, pair.secret))
    sent = int(answer.headers["X-RateLimit-Reset"])
    assert time.time() - 5 < sent <= time.time() + 61  # a Unix time, not seconds to wait
    section = client.get("/docs/api").text.split('id="rate-limits"')[1]
    reset = section[section.index("<code>X-RateLimit-Reset</code>"):]
    assert "Unix time" in reset[:120]


def test_an_update_example_sends_if_match_in_every_language(client):
    """Without it the copied call would only ever answer 428."""
    section = html.unescape(_section(client.get("/docs/api").text, "update_client"))
    assert "-H 'If-Match: \"ETAG_FROM_YOUR_LAST_READ\"'" in section
    assert "headers={'If-Match': '\"ETAG_FROM_YOUR_LAST_READ\"'}" in section
    assert '"If-Match": "\\"ETAG_FROM_YOUR_LAST_READ\\""' in section
