"""seed-clients: bulk rows that the ORM and the API read like any others."""

from sqlalchemy import func, select

from portal.crm.models import Client, Contact
from portal.crm.serializers import client_to_out
from portal.extensions import db
from tests.api_helpers import basic, make_pair


def test_seed_clients_inserts_clients_with_primary_contacts(runner, world, client):
    result = runner.invoke(args=["seed-clients", "250", "--firm", "Alpha Accounting"])
    assert result.exit_code == 0, result.output
    assert "Inserted 250 clients and 250 contacts" in result.output
    assert db.session.execute(select(func.count(Client.id))).scalar() == 250
    primaries = select(func.count(Contact.id)).where(Contact.is_primary.is_(True))
    assert db.session.execute(primaries).scalar() == 250
    headers = basic(*_pair(world))
    seen, cursor = [], None
    while True:
        query = {"limit": 100, "sort": "-created_at", **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/clients", query_string=query, headers=headers).json
        seen += [row["name"] for row in page["data"]]
        cursor = page["meta"]["next_cursor"]
        if not cursor:
            break
    assert seen == [f"Client {n:07d}" for n in range(249, -1, -1)]


def test_seeded_clients_are_what_the_api_shows(runner, world, client):
    """Seeding writes rows with the driver, not the ORM: each must read back through the one
    serializer as a client made by the app would (timestamps, fields, one primary contact)."""
    assert runner.invoke(args=["seed-clients", "3", "--firm", world.firm.name]).exit_code == 0
    page = client.get("/api/v1/clients", headers=basic(*_pair(world))).json["data"]
    assert len(page) == 3
    for item in page:
        seeded = db.session.get(Client, item["id"])
        assert item == client_to_out(seeded)
        assert item["fields"] == {} and item["group_ids"] == [] and item["type"] == "company"
        assert item["created_at"] == item["updated_at"] and item["created_at"].endswith("Z")
        assert [contact.is_primary for contact in seeded.contacts] == [True]
        assert item["contacts"] == [seeded.contacts[0].id]


def test_seed_clients_refuses_bad_counts(runner, world):
    assert runner.invoke(args=["seed-clients", "0", "--firm", "X"]).exit_code != 0


def _pair(world):
    pair = make_pair(world.firm, world.admin)
    return pair.key.api_key, pair.secret
