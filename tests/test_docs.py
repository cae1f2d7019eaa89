"""The API reference: valid OpenAPI 3.1, and a readable docs page with curl examples."""

from openapi_spec_validator import validate

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
