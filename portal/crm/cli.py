"""`flask store-client-json`: store the JSON that client lists send, where it is missing."""

import click
from sqlalchemy import select

from portal.crm.models import Client
from portal.crm.serializers import store_client_json
from portal.extensions import db

BATCH = 1_000


@click.command("store-client-json")
@click.option("--all", "every", is_flag=True,
              help="Every client, not only those without any (after the JSON's definition "
              "changed).")
def store_client_json_command(every: bool):
    """Store each client's API JSON (clients stored before it existed have none; lists
    serialize those on every read meanwhile)."""
    stored, last_id = 0, ""
    while True:
        query = select(Client).where(Client.id > last_id).order_by(Client.id).limit(BATCH)
        if not every:
            query = query.where(Client.api_json.is_(None))
        batch = list(db.session.scalars(query))
        if not batch:
            break
        store_client_json(batch)
        db.session.commit()
        stored, last_id = stored + len(batch), batch[-1].id
    click.echo(f"Stored the JSON of {stored:,} clients.")
