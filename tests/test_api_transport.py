"""In production the API refuses credentials over plain HTTP, judged by the scheme after
ProxyFix; API_ALLOW_PLAIN_HTTP allows it (development always does)."""

import pytest

from tests.api_helpers import API, make_tenants


@pytest.fixture
def app_config(app_config):
    return {**app_config, "PORTAL_ENV": "production"}


def refused(response, url: str) -> None:
    assert response.status_code == 403
    error = response.json["error"]
    assert error["code"] == "HTTPS_REQUIRED"
    assert url in error["message"]


def test_production_refuses_credentials_over_http(client):
    tenants = make_tenants()
    refused(client.get(f"{API}/clients?limit=1", headers=tenants.headers),
            "https://localhost/api/v1/clients?limit=1")
    token = client.post(f"{API}/auth/token", json={"api_key": "k", "api_secret": "s"})
    refused(token, "https://localhost/api/v1/auth/token")


def test_production_answers_over_https(client):
    tenants = make_tenants()
    response = client.get(f"{API}/clients", headers=tenants.headers, base_url="https://localhost")
    assert response.status_code == 200


def test_the_reference_needs_no_https(client):
    assert client.get(f"{API}/openapi.json").status_code == 200


@pytest.mark.parametrize(("proxies", "proto", "status"), [
    (1, "https", 200),  # the trusted proxy took the request over HTTPS
    (1, "http", 403),
    (0, "https", 403),  # no proxy is trusted: the header is the caller's own claim
])
def test_the_scheme_is_judged_after_proxy_fix(app_config, proxies, proto, status):
    from tests.api_helpers import module_app

    with module_app({**app_config, "TRUSTED_PROXIES": proxies}) as app:
        tenants = make_tenants()
        response = app.test_client().get(f"{API}/ping", headers={
            **tenants.headers, "X-Forwarded-Proto": proto, "X-Forwarded-For": "127.0.0.1"})
        assert response.status_code == status


@pytest.fixture
def plain_http_allowed(app):
    app.config["API_ALLOW_PLAIN_HTTP"] = True


def test_a_setting_allows_plain_http(client, plain_http_allowed):
    tenants = make_tenants()
    assert client.get(f"{API}/ping", headers=tenants.headers).status_code == 200
