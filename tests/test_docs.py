"""The API reference: valid OpenAPI 3.1, and a readable docs page with curl examples."""

import pytest
from flask import Flask
from openapi_spec_validator import validate

from portal.api import spec
from portal.api.spec import RESPONSE_ID, Link, documented
from tests.api_helpers import make_pair


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
    page = client.get("/docs/api").text
    assert f"curl -u {pair.key.api_key}:YOUR_API_SECRET" in page
    assert pair.secret not in page


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
