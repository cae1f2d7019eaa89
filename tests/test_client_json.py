"""Each client's stored JSON: written beside every write that changes what the client shows,
and sent by lists as it is (portal/crm/serializers.py::store_client_json)."""

import json

import pytest
from sqlalchemy import event, select, update

from portal.crm import service as crm
from portal.crm.models import Client
from portal.crm.serializers import client_to_out
from portal.extensions import db
from tests.api_helpers import API, make_pair, new_client, new_contact, pair_headers


@pytest.fixture
def headers(world):
    return pair_headers(make_pair(world.firm, world.admin))


def stored(client_id: str) -> dict | None:
    db.session.expire_all()
    raw = db.session.execute(select(Client.api_json).where(Client.id == client_id)).scalar()
    return None if raw is None else json.loads(raw)


def listed(client, headers) -> dict:
    page = client.get(f"{API}/clients?limit=100", headers=headers)
    assert page.status_code == 200, page.text
    return {item["id"]: item for item in page.json["data"]}


def assert_current(client, headers, *clients: Client) -> None:
    """Stored, listed and read alone, each client shows the same."""
    items = listed(client, headers)
    for one in clients:
        single = client.get(f"{API}/clients/{one.id}", headers=headers).json["data"]
        assert stored(one.id) == single == items[one.id]


def test_every_write_that_changes_a_client_stores_its_json(client, headers, world):
    group = crm.create_client_group(world.firm.id, "Monthly")
    crm.create_client_field(world.firm.id, "employees", "Employees", "number")
    db.session.commit()
    created = client.post(f"{API}/clients", headers=headers, json={
        "name": "Alder", "client_initials": "AL", "address_country_code": "EE",
        "group_ids": [group.id], "fields": {"employees": 3}})
    made = created.json["data"]
    other = new_client(world.firm, name="Birch")
    alder = db.session.get(Client, made["id"])
    assert_current(client, headers, alder)
    # The create answers with what it stored: the same as a read, ETag included.
    read = client.get(f"{API}/clients/{alder.id}", headers=headers)
    assert made == read.json["data"] and created.headers["ETag"] == read.headers["ETag"]

    etag = client.get(f"{API}/clients/{alder.id}", headers=headers).headers["ETag"]
    assert client.patch(f"{API}/clients/{alder.id}", json={"name": "Alder Ltd"},
                        headers={**headers, "If-Match": etag}).status_code == 200
    assert stored(alder.id)["name"] == "Alder Ltd"

    contact = client.post(f"{API}/contacts", headers=headers, json={
        "client_id": alder.id, "name": "Ann", "email": "ann@example.com"}).json["data"]
    assert stored(alder.id)["contacts"] == [contact["id"]]

    etag = client.get(f"{API}/contacts/{contact['id']}", headers=headers).headers["ETag"]
    assert client.patch(f"{API}/contacts/{contact['id']}", json={"client_id": other.id},
                        headers={**headers, "If-Match": etag}).status_code == 200
    assert stored(alder.id)["contacts"] == [] and stored(other.id)["contacts"] == [
        contact["id"]]

    crm.delete_client_group(db.session.get(type(group), group.id))
    crm.delete_client_field(crm.list_client_fields(world.firm.id)[0])
    db.session.commit()
    assert stored(alder.id)["group_ids"] == [] and stored(alder.id)["fields"] == {}
    assert_current(client, headers, db.session.get(Client, alder.id),
                   db.session.get(Client, other.id))


def test_a_list_sends_the_stored_json_and_reads_nothing_else_of_its_clients(
        client, headers, world):
    made = new_client(world.firm, name="Alder")
    new_contact(world.firm, made, name="Ann")
    sent = []

    def record(_conn, _cursor, statement, *_args):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        items = listed(client, headers)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert items[made.id] == stored(made.id)
    # One page query; no contacts or groups are read to build it.
    assert len([s for s in sent if "FROM clients" in s]) == 1
    assert not [s for s in sent if "FROM contacts" in s or "client_group_members" in s]


def test_a_client_without_stored_json_is_serialized_until_the_command_stores_it(
        app, client, headers, world, runner):
    made = new_client(world.firm, name="Alder")
    new_contact(world.firm, made, name="Ann")
    db.session.execute(update(Client).values(api_json=None))
    db.session.commit()
    assert listed(client, headers)[made.id] == client_to_out(db.session.get(Client, made.id))
    result = runner.invoke(args=["store-client-json"])
    assert result.exit_code == 0 and "Stored the JSON of 1 clients" in result.output
    assert stored(made.id) == client_to_out(db.session.get(Client, made.id))
    # Nothing missing now: the command stores nothing again.
    assert "of 0 clients" in runner.invoke(args=["store-client-json"]).output


def test_store_client_json_all_rewrites_every_client(client, headers, world, runner):
    made = new_client(world.firm, name="Alder")
    db.session.execute(update(Client).values(api_json='{"id": "stale"}'))
    db.session.commit()
    result = runner.invoke(args=["store-client-json", "--all"])
    assert result.exit_code == 0, result.output
    assert stored(made.id) == client_to_out(db.session.get(Client, made.id))


def test_lists_read_the_same_with_the_stored_json_off(app, client, headers, world):
    group = crm.create_client_group(world.firm.id, "Monthly")
    db.session.commit()
    for n in range(3):
        new_contact(world.firm, new_client(world.firm, name=f"C{n}", group_ids=[group.id]),
                    name=f"P{n}")
    query = f"{API}/clients?limit=2&sort=name"
    stored_body = client.get(query, headers=headers).get_data()
    app.config["CLIENT_LIST_STORED_JSON"] = False
    assert client.get(query, headers=headers).get_data() == stored_body
