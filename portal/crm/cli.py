"""`flask refresh-list-json`: store the list JSON of clients that have none (after upgrading)."""

import click
from sqlalchemy import select

from portal.crm.list_json import store_list_json
from portal.crm.models import Client
from portal.extensions import db

BATCH = 5_000


@click.command("refresh-list-json")
@click.option("--all", "every", is_flag=True,
              help="Rewrite every client's stored JSON, not only the missing ones.")
def refresh_list_json_command(every: bool):
    """Store each client's list JSON (clients added before it was stored have none, and their
    list pages compute it on every read). One transaction per batch of 5,000 clients."""
    column = Client.__table__.c
    last_id, done = "", 0
    while True:
        query = select(column.id).where(column.id > last_id).order_by(column.id).limit(BATCH)
        if not every:
            query = query.where(column.list_json.is_(None))
        ids = list(db.session.execute(query).scalars())
        if not ids:
            break
        store_list_json(db.session, ids)
        db.session.commit()
        last_id, done = ids[-1], done + len(ids)
    click.echo(f"Stored the list JSON of {done:,} clients.")
