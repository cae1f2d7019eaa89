"""The admins' CRM pages: who may open them, the client list and the client detail page."""

import re

import pytest

from portal.crm import service
from portal.crm.models import ClientField, ClientGroup
from portal.crm.schemas import ClientCreate, ContactCreate
from portal.extensions import db
from tests.crm_helpers import count, seed_objects
from tests.helpers import HX

GROUPS = "/settings/client-groups"
FIELDS = "/settings/client-fields"


@pytest.fixture
def objects(world):
    return seed_objects(world)


def make_clients(firm, names):
    for name in names:
        service.create_client(
            firm.id, ClientCreate(name=name, client_initials="X", address_country_code="FI")
        )
        db.session.commit()


ROUTES = [
    ("GET", "/clients"),
    ("GET", "/clients/CLIENT"),
    ("GET", GROUPS),
    ("POST", GROUPS),
    ("GET", f"{GROUPS}/GROUP/delete"),
    ("POST", f"{GROUPS}/GROUP/delete"),
    ("DELETE", f"{GROUPS}/GROUP"),
    ("GET", FIELDS),
    ("POST", FIELDS),
    ("GET", f"{FIELDS}/FIELD/delete"),
    ("POST", f"{FIELDS}/FIELD/delete"),
    ("DELETE", f"{FIELDS}/FIELD"),
]


def _fill(path: str, ids: dict) -> str:
    return (path.replace("CLIENT", ids["client"]).replace("GROUP", ids["group"])
            .replace("FIELD", ids["field"]))


@pytest.mark.parametrize("method, path", ROUTES)
@pytest.mark.parametrize("who, expected", [(None, 302), ("member@alpha.example", 403)])
def test_only_admins_reach_the_crm_pages(client, auth, objects, method, path, who, expected):
    if who:
        auth.login(who)
    response = client.open(_fill(path, objects), method=method, data={"name": "Sneaky"})
    assert response.status_code == expected
    assert count(ClientGroup) == 2 and count(ClientField) == 2


@pytest.mark.parametrize("method, path", [r for r in ROUTES if any(
    word in r[1] for word in ("CLIENT", "GROUP", "FIELD"))])
def test_another_firms_objects_are_404(client, auth, objects, method, path):
    auth.login("admin@beta.example")
    assert client.open(_fill(path, objects), method=method, headers=HX).status_code == 404
    assert count(ClientGroup) == 2 and count(ClientField) == 2


@pytest.mark.parametrize("path", ["/clients/cli_nope", f"{GROUPS}/grp_nope/delete",
                                  f"{FIELDS}/fld_nope/delete"])
def test_unknown_ids_are_404(admin_client, path):
    assert admin_client.get(path).status_code == 404


@pytest.mark.parametrize("who", ["owner@alpha.example", "admin@alpha.example"])
def test_admins_see_firm_data_links_in_settings(client, world, auth, who):
    auth.login(who)
    page = client.get("/settings").text
    assert "Firm data" in page
    assert f'href="{GROUPS}"' in page and f'href="{FIELDS}"' in page
    assert 'href="/clients"' in page


def test_member_sees_no_firm_data_card(client, world, auth):
    auth.login("member@alpha.example")
    page = client.get("/settings").text
    assert "Firm data" not in page and GROUPS not in page


# --- clients -------------------------------------------------------------------------------


def test_client_list_shows_only_the_firms_clients_newest_first(admin_client, world, objects):
    make_clients(world.firm, ["Older Ltd", "Newer Ltd"])
    page = admin_client.get("/clients").text
    assert page.index("Newer Ltd") < page.index("Older Ltd") < page.index("Alpha Accounting Client")
    assert "Beta Books Client" not in page
    assert f'href="/clients/{objects["client"]}"' in page


def test_client_search_with_htmx_returns_the_list_fragment(admin_client, world):
    make_clients(world.firm, ["Baltic Bakery", "Fjord Logistics"])
    response = admin_client.get("/clients?q=bak", headers=HX)
    assert response.status_code == 200 and "<html" not in response.text
    assert 'id="client-list"' in response.text
    assert "Baltic Bakery" in response.text and "Fjord" not in response.text
    assert "HX-Request" in response.headers["Vary"]
    page = admin_client.get("/clients?q=bak")
    assert "<html" in page.text and 'value="bak"' in page.text
    restore = admin_client.get("/clients?q=bak", headers={**HX, "HX-History-Restore-Request":
                                                           "true"})
    assert "<html" in restore.text


def test_client_search_without_matches_says_so(admin_client, world):
    make_clients(world.firm, ["Baltic Bakery"])
    assert "No clients match “zzz”" in admin_client.get("/clients?q=zzz").text


def test_empty_client_list_explains_where_clients_come_from(admin_client):
    assert "No clients yet" in admin_client.get("/clients").text


def test_client_list_pages_with_keyset_links(admin_client, app, world):
    app.config["PAGE_SIZE"] = 2
    make_clients(world.firm, ["C1", "C2", "C3", "C4", "C5"])
    seen = []
    url = "/clients"
    while url:
        page = admin_client.get(url).text
        seen += re.findall(r'">(C\d)</a>', page)
        older = re.search(r'href="([^"]+)">Older clients', page)
        url = older.group(1).replace("&amp;", "&") if older else None
    assert seen == ["C5", "C4", "C3", "C2", "C1"]


def test_client_detail_shows_groups_fields_and_contacts(admin_client, world, objects):
    service.create_contact(world.firm.id, ContactCreate(
        client_id=objects["client"], name="Mari", surname="Tamm", email="mari@example.com",
        is_primary=True, job_title="CFO", birthday="1980-05-17"))
    db.session.commit()
    page = admin_client.get(f"/clients/{objects['client']}").text
    assert "Alpha Accounting Client" in page and "Estonia (EE)" in page
    assert "Annual report" in page
    assert "Employees" in page and "<dd>7</dd>" in page
    assert "Mari Tamm" in page and "mari@example.com" in page and "Primary" in page
    assert "1980-05-17" in page


def test_what_the_api_creates_is_visible_in_the_portal(admin_client, world):
    make_clients(world.firm, ["Created By Integration"])
    assert "Created By Integration" in admin_client.get("/clients").text


@pytest.mark.parametrize("path", ["/clients", "/clients/CLIENT", GROUPS, FIELDS])
def test_pages_have_no_inline_script_or_style(admin_client, objects, path):
    page = admin_client.get(_fill(path, objects)).text
    for tag in re.findall(r"<script[^>]*>", page):
        assert "src=" in tag
    assert " style=" not in page and " onclick=" not in page
