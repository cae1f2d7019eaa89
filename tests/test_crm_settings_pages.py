"""The client groups and client fields settings pages: htmx components, no-JS, CSRF, audit."""

import re

import pytest
from sqlalchemy import select

from portal import create_app
from portal.accounts.models import Firm
from portal.crm.models import Client, ClientField, ClientGroup
from portal.extensions import db
from tests.conftest import PASSWORD, IsolatedClient, make_user
from tests.crm_helpers import actions, count, seed_objects
from tests.helpers import HX

GROUPS = "/settings/client-groups"
FIELDS = "/settings/client-fields"


@pytest.fixture
def objects(world):
    return seed_objects(world)


# --- client groups -------------------------------------------------------------------------


def test_groups_page_lists_groups_with_client_counts(admin_client, objects):
    page = admin_client.get(GROUPS).text
    assert "Annual report" in page and 'id="client-groups"' in page
    assert re.search(r">Annual report</td>\s*<td[^>]*>1</td>", page)
    assert 'hx-target="this"' in page and 'name="csrf_token"' in page


def test_add_group_with_htmx_returns_the_component(admin_client, world):
    response = admin_client.post(GROUPS, data={"name": "  Monthly   bookkeeping "}, headers=HX)
    assert response.status_code == 200 and "<html" not in response.text
    assert response.text.lstrip().startswith('<section class="card" id="client-groups"')
    assert ">Monthly bookkeeping</td>" in response.text
    assert "Client group “Monthly bookkeeping” added." in response.text
    assert actions() == ["client_group.created"]


def test_add_group_without_javascript_redirects_with_a_message(admin_client):
    response = admin_client.post(GROUPS, data={"name": "Payroll"})
    assert response.status_code == 302 and response.headers["Location"] == GROUPS
    assert "Client group “Payroll” added." in admin_client.get(GROUPS).text


@pytest.mark.parametrize(
    "name, message",
    [("", "cannot be empty"), ("   ", "cannot be empty"), ("x" * 101, "at most 100"),
     ("annual REPORT", "already exists")],
)
def test_bad_group_names_get_an_inline_error(admin_client, objects, name, message):
    before = actions()
    response = admin_client.post(GROUPS, data={"name": name}, headers=HX)
    assert response.status_code == 422 and "<html" not in response.text
    assert message in response.text and 'role="alert"' in response.text
    assert 'aria-invalid="true"' in response.text
    assert count(ClientGroup) == 2 and actions() == before


def test_group_error_without_javascript_renders_the_page(admin_client):
    response = admin_client.post(GROUPS, data={"name": ""})
    assert response.status_code == 422 and "<html" in response.text
    assert "cannot be empty" in response.text


def test_delete_group_confirm_then_delete_with_htmx(admin_client, objects):
    dialog = admin_client.get(f"{GROUPS}/{objects['group']}/delete", headers=HX)
    assert "<dialog" in dialog.text and "<html" not in dialog.text
    assert f'hx-delete="{GROUPS}/{objects["group"]}"' in dialog.text
    response = admin_client.delete(f"{GROUPS}/{objects['group']}", headers=HX)
    assert response.status_code == 200 and 'id="client-groups"' in response.text
    assert "Annual report</td>" not in response.text and "deleted" in response.text
    assert db.session.get(ClientGroup, objects["group"]) is None
    assert db.session.get(ClientGroup, objects["other_group"]) is not None
    assert db.session.get(Client, objects["client"]).groups == []
    assert actions()[-1] == "client_group.deleted"


def test_delete_group_without_javascript(admin_client, objects):
    page = admin_client.get(f"{GROUPS}/{objects['group']}/delete")
    assert "<html" in page.text and "<dialog" in page.text
    assert f'action="{GROUPS}/{objects["group"]}/delete"' in page.text
    response = admin_client.post(f"{GROUPS}/{objects['group']}/delete")
    assert response.status_code == 302 and response.headers["Location"] == GROUPS
    assert "Client group “Annual report” deleted." in admin_client.get(GROUPS).text


# --- client fields -------------------------------------------------------------------------


def test_add_field_with_htmx(admin_client):
    data = {"name": "year_end", "title": "Year end", "type": "date", "required": "on"}
    response = admin_client.post(FIELDS, data=data, headers=HX)
    assert response.status_code == 200 and "<html" not in response.text
    assert 'id="client-fields"' in response.text and "year_end" in response.text
    field = db.session.execute(select(ClientField)).scalar_one()
    assert (field.type, field.required, field.title) == ("date", True, "Year end")
    assert actions() == ["client_field.created"]


def test_add_field_without_javascript_redirects(admin_client):
    response = admin_client.post(FIELDS, data={"name": "vat", "title": "VAT", "type": "text"})
    assert response.status_code == 302 and response.headers["Location"] == FIELDS
    page = admin_client.get(FIELDS).text
    assert "Client field “VAT” added." in page and "data-label=\"Required\">No</td>" in page


@pytest.mark.parametrize(
    "data, field_id",
    [
        ({"name": "year end", "title": "Year end", "type": "date"}, "field-name-error"),
        ({"name": "employees", "title": "Staff", "type": "number"}, "field-name-error"),
        ({"name": "year_end", "title": "", "type": "date"}, "field-title-error"),
        ({"name": "year_end", "title": "Year end", "type": "colour"}, "field-type-error"),
    ],
)
def test_bad_fields_get_an_inline_error_on_the_input(admin_client, objects, data, field_id):
    response = admin_client.post(FIELDS, data=data, headers=HX)
    assert response.status_code == 422 and f'id="{field_id}"' in response.text
    assert f'value="{data["name"]}"' in response.text
    assert count(ClientField) == 2


def test_delete_field_deletes_the_values(admin_client, objects):
    dialog = admin_client.get(f"{FIELDS}/{objects['field']}/delete", headers=HX)
    assert "value of this field is deleted" in dialog.text
    response = admin_client.delete(f"{FIELDS}/{objects['field']}", headers=HX)
    assert response.status_code == 200 and "Client field “Employees” deleted." in response.text
    assert db.session.get(Client, objects["client"]).fields == {}
    assert db.session.get(Client, objects["other_client"]).fields == {"employees": 7}
    assert actions()[-1] == "client_field.deleted"


def test_audit_log_shows_crm_labels(admin_client):
    admin_client.post(GROUPS, data={"name": "Payroll"}, headers=HX)
    admin_client.post(FIELDS, data={"name": "vat", "title": "VAT", "type": "text"}, headers=HX)
    page = admin_client.get("/settings/audit-log").text
    assert "Added client group" in page and "Added client field" in page


# --- CSRF ----------------------------------------------------------------------------------


@pytest.fixture
def csrf_client(app_config):
    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    with app.app_context():
        db.create_all()
        firm = Firm(name="Gamma")
        db.session.add(firm)
        db.session.flush()
        make_user(firm, "admin@gamma.example", "admin")
        db.session.commit()
        app.test_client_class = IsolatedClient
        client = app.test_client()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                          client.get("/login").text).group(1)
        client.post("/login", data={"email": "admin@gamma.example", "password": PASSWORD,
                                    "csrf_token": token})
        yield client


def test_crm_writes_need_the_csrf_token(csrf_client):
    refused = csrf_client.post(GROUPS, data={"name": "Payroll"})
    assert refused.status_code == 400 and count(ClientGroup) == 0
    page = csrf_client.get(GROUPS).text
    header_token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    accepted = csrf_client.post(GROUPS, data={"name": "Payroll"},
                                headers={"X-CSRFToken": header_token, **HX})
    assert accepted.status_code == 200 and count(ClientGroup) == 1
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    group_id = db.session.execute(select(ClientGroup.id)).scalar_one()
    assert csrf_client.delete(f"{GROUPS}/{group_id}", headers=HX).status_code == 400
    deleted = csrf_client.post(f"{GROUPS}/{group_id}/delete", data={"csrf_token": form_token})
    assert deleted.status_code == 302 and count(ClientGroup) == 0
