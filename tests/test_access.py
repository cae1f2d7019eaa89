"""Who sees the Public API: admins yes, members never (menu or URL), other firms 404."""

import pytest

from tests.helpers import HX, generate_and_save

PAGE = "/settings/apps/public-api"

ADMIN_ROUTES = [
    ("GET", PAGE),
    ("POST", f"{PAGE}/activate"),
    ("POST", f"{PAGE}/deactivate"),
    ("POST", f"{PAGE}/keys/generate"),
    ("POST", f"{PAGE}/keys/save"),
    ("POST", f"{PAGE}/keys/cancel"),
    ("POST", f"{PAGE}/keys/KEY/reveal"),
    ("GET", f"{PAGE}/keys/KEY/secret"),
    ("GET", f"{PAGE}/keys/KEY/delete"),
    ("POST", f"{PAGE}/keys/KEY/delete"),
    ("DELETE", f"{PAGE}/keys/KEY"),
    ("GET", "/settings/audit-log"),
]


@pytest.fixture
def key_id(client, world, auth):
    auth.login("admin@alpha.example")
    key, _ = generate_and_save(client)
    auth.logout()
    return key.id


@pytest.mark.parametrize("method, path", ADMIN_ROUTES)
@pytest.mark.parametrize(
    "who, expected",
    [(None, 302), ("member@alpha.example", 403), ("admin@beta.example", 404)],
)
def test_non_admins_are_refused(client, auth, key_id, method, path, who, expected):
    if who:
        auth.login(who)
    status = client.open(path.replace("KEY", key_id), method=method).status_code
    if who == "admin@beta.example" and "KEY" not in path:
        # another firm's admin may use their own firm's page; they just never see this key
        assert status in (200, 302, 422)
    else:
        assert status == expected


@pytest.mark.parametrize("who", ["owner@alpha.example", "admin@alpha.example"])
def test_owner_and_admin_see_the_card(client, world, auth, who):
    auth.login(who)
    assert f'href="{PAGE}"' in client.get("/settings").text


def test_member_sees_no_public_api_anywhere(client, world, auth):
    auth.login("member@alpha.example")
    for path in ("/settings",):
        page = client.get(path).text
        assert "Public API" not in page and PAGE not in page
        assert "Audit log" not in page
    assert client.get(PAGE).status_code == 403


def test_member_gets_a_readable_403(client, world, auth):
    auth.login("member@alpha.example")
    response = client.get(PAGE)
    assert "You do not have permission" in response.text and "Traceback" not in response.text


def test_member_htmx_403_is_plain_text(client, world, auth):
    auth.login("member@alpha.example")
    response = client.post(f"{PAGE}/activate", headers=HX)
    assert response.status_code == 403 and "<html" not in response.text


def test_other_firm_admin_never_sees_the_key(client, auth, key_id):
    auth.login("admin@beta.example")
    assert key_id not in client.get(PAGE).text
    assert client.post(f"{PAGE}/keys/{key_id}/reveal", headers=HX).status_code == 404
