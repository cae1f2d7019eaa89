"""Each client's stored list JSON (portal/crm/list_json.py): written with every change, read by
the list, never out of date. (tests/conftest.py also checks the last rule after every test.)"""

import hashlib
import json
import threading
import time

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from portal.crm import list_json, service
from portal.crm.models import Client, Contact
from portal.crm.serializers import CLIENT_JSON
from portal.extensions import db
from tests.api_helpers import API, basic, make_pair
from tests.crm_helpers import contact_payload, make_client

STORED = Client.__table__.c.list_json


def stored(client_id: str) -> dict | None:
    db.session.expire_all()
    text = db.session.execute(select(STORED).where(Client.id == client_id)).scalar_one()
    return None if text is None else json.loads(text)


def listed(client, pair) -> list[dict]:
    response = client.get(f"{API}/clients?limit=100", headers=basic(pair.key.api_key, pair.secret))
    assert response.status_code == 200
    return response.get_json()["data"]


def test_a_created_client_has_its_json_stored_as_the_api_shows_it(world, client):
    group = service.create_client_group(world.firm.id, "Annual report")
    db.session.commit()
    pair = make_pair(world.firm, world.admin)
    response = client.post(f"{API}/clients", headers=basic(pair.key.api_key, pair.secret),
                           json={"name": "Northwind", "client_initials": "NW",
                                 "address_country_code": "EE", "group_ids": [group.id]})
    assert response.status_code == 201
    created = response.get_json()["data"]
    assert stored(created["id"]) == created
    assert listed(client, pair) == [created]


def test_a_new_contact_rewrites_its_clients_json(world, client):
    made = make_client(world.firm)
    contact = service.create_contact(world.firm.id, contact_payload(made.id))
    db.session.commit()
    assert stored(made.id)["contacts"] == [contact.id]
    assert stored(made.id)["updated_at"] == service.client_to_out(made)["updated_at"]


def test_deleting_a_group_or_a_field_rewrites_its_clients_json(world):
    group = service.create_client_group(world.firm.id, "Monthly")
    field = service.create_client_field(world.firm.id, "employees", "Employees", "number")
    db.session.commit()
    made = make_client(world.firm, group_ids=[group.id], fields={"employees": 4})
    assert stored(made.id)["group_ids"] == [group.id]
    service.delete_client_group(group)
    service.delete_client_field(field)
    db.session.commit()
    assert stored(made.id)["group_ids"] == []
    assert stored(made.id)["fields"] == {}


def test_orm_changes_to_a_client_rewrite_its_json(world):
    made = make_client(world.firm)
    made.status = "inactive"
    db.session.commit()
    assert stored(made.id)["status"] == "inactive"


def test_a_rolled_back_change_stores_nothing_and_leaves_no_mark(world):
    made = make_client(world.firm)
    before = stored(made.id)
    db.session.add(Contact(firm_id=world.firm.id, client_id=made.id, name="Gone",
                           email="gone@example.com", is_primary=False))
    db.session.flush()
    db.session.rollback()
    assert db.session.info.get("clients_with_changed_json") is None
    assert stored(made.id) == before


def test_a_client_without_stored_json_is_listed_the_same(world, client):
    pair = make_pair(world.firm, world.admin)
    made = make_client(world.firm)
    service.create_contact(world.firm.id, contact_payload(made.id))
    db.session.commit()
    with_stored = listed(client, pair)
    # updated_at kept: the column's onupdate would move it to now (a second later, at times).
    db.session.execute(update(Client).values(list_json=None, updated_at=Client.updated_at))
    db.session.commit()
    assert stored(made.id) is None
    assert listed(client, pair) == with_stored


def test_the_list_reads_the_stored_json(world, client):
    """The page really is the stored text (what makes it cheap), not computed again."""
    pair = make_pair(world.firm, world.admin)
    made = make_client(world.firm)
    doctored = json.dumps({**stored(made.id), "name": "Stored"}, separators=(",", ":"))
    db.session.execute(update(Client).values(list_json=doctored))
    db.session.commit()
    assert [row["name"] for row in listed(client, pair)] == ["Stored"]
    db.session.execute(update(Client).values(list_json=None))  # the fixture checks the rule
    db.session.commit()


def test_refresh_list_json_stores_what_is_missing(world, runner):
    first, second = make_client(world.firm), make_client(world.firm, name="Second")
    db.session.execute(update(Client).values(list_json=None))
    db.session.commit()
    result = runner.invoke(args=["refresh-list-json"])
    assert result.exit_code == 0, result.output
    assert "Stored the list JSON of 2 clients." in result.output
    assert stored(first.id)["id"] == first.id and stored(second.id)["name"] == "Second"
    result = runner.invoke(args=["refresh-list-json"])
    assert "Stored the list JSON of 0 clients." in result.output
    assert "of 2 clients" in runner.invoke(args=["refresh-list-json", "--all"]).output


def test_seeded_clients_have_their_json_stored(world, runner):
    result = runner.invoke(args=["seed-clients", "30", "--firm", world.firm.name])
    assert result.exit_code == 0, result.output
    rows = db.session.execute(select(Client.id, STORED).where(Client.firm_id == world.firm.id))
    texts = {client_id: text for client_id, text in rows}
    assert len(texts) == 30 and None not in texts.values()
    assert all(len(json.loads(text)["contacts"]) == 1 for text in texts.values())


def test_a_concurrent_change_waits_and_then_sees_the_other_commit(app, world):
    """Two transactions add a contact to one client. The second stores the client's JSON
    while the first holds its lock: once the first commits, the second's JSON must hold
    both contacts. (On PostgreSQL, an UPDATE that waited for the lock would still compute
    from the snapshot it began with, without the first contact.)"""
    made = make_client(world.firm)
    client_id, firm_id = made.id, world.firm.id
    db.session.add(Contact(firm_id=firm_id, client_id=client_id, name="First",
                           email="first@example.com", is_primary=False))
    db.session.flush()
    list_json.store_list_json(db.session, [client_id])  # holds the client's row lock
    errors = []

    def second_transaction():
        try:
            with app.app_context():
                db.session.add(Contact(firm_id=firm_id, client_id=client_id, name="Second",
                                       email="second@example.com", is_primary=False))
                db.session.commit()
        except Exception as error:  # reported below, in the test's thread
            errors.append(error)

    thread = threading.Thread(target=second_transaction)
    thread.start()
    time.sleep(0.5)  # the second transaction is now waiting for our lock
    db.session.commit()
    thread.join(timeout=30)
    assert not errors and not thread.is_alive()
    names = dict(db.session.execute(select(Contact.id, Contact.name)).all())
    assert sorted(names[i] for i in stored(client_id)["contacts"]) == ["First", "Second"]


# If CLIENT_JSON changes, every stored JSON is out of date: add a migration that sets
# clients.list_json to NULL (then `flask refresh-list-json`), and write the new fingerprint here.
CLIENT_JSON_FINGERPRINT = "08e40461828e5843"


def test_client_json_changes_come_with_a_migration_that_clears_the_stored_json():
    sql = "".join(str(CLIENT_JSON.compile(dialect=d)) for d in (sqlite.dialect(),
                                                                 postgresql.dialect()))
    assert hashlib.sha256(sql.encode()).hexdigest()[:16] == CLIENT_JSON_FINGERPRINT
