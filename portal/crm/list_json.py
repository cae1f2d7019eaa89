"""Each client's list JSON, stored with the client: a list page reads it instead of writing it.

Writing a client's JSON (its columns, its group ids in name order, its contact ids) is most of
what a page of 100 costs the database (bench/RESULTS.md, session 5). So `clients.list_json`
keeps it, and the list reads `coalesce(list_json, CLIENT_JSON)`: NULL is always safe.

The rule: list_json is NULL or exactly what CLIENT_JSON computes from the committed rows.
- Whatever changes what a client's JSON shows marks the client in the session: ORM changes
  to clients, contacts and groups are marked by the flush hooks below; Core statements call
  `mark_changed` themselves (delete_client_group).
- At commit the marked clients' JSON is written by the database (CLIENT_JSON, as the list would
  compute it), in the same transaction, so it is never half-written or out of date.
- create_client writes its new client's JSON at once (`store_list_json(..., new=True)`);
  seed-clients inserts it with each row (portal/seeding.py).
- PostgreSQL (read committed) evaluates an UPDATE's subqueries in the snapshot the statement
  began with, even when it waited for another transaction's lock on the row. So the clients
  are first locked in a statement of their own: the UPDATE after it sees every transaction
  that changed them before. SQLite has one writer at a time and needs no lock.
- tests/conftest.py checks the rule after every test (`stale_client_ids`).
"""

from sqlalchemy import bindparam, event, select, update
from sqlalchemy.orm import Session, attributes

from portal.crm.models import Client, ClientGroup, Contact, client_group_members
from portal.crm.serializers import CLIENT_JSON
from portal.plain_reads import compiled, run_many

_CLIENT = Client.__table__.c
_MARKED = "clients_with_changed_json"
# Ids per statement: far below SQLite's limit on bound values.
BATCH = 500


def mark_changed(session: Session, client_ids) -> None:
    """These clients' JSON changed in this transaction: rewrite it before the commit."""
    session.info.setdefault(_MARKED, set()).update(client_ids)


def store_list_json(session: Session, client_ids, *, new: bool = False) -> None:
    """Write these clients' list JSON now, in the session's transaction. `new`: clients
    inserted by this transaction, which no other one can see or change, so need no lock."""
    ordered = sorted(client_ids)
    connection = session.connection()
    write = compiled(_WRITE)
    locking = not new and connection.dialect.name != "sqlite"
    for start in range(0, len(ordered), BATCH):
        ids = ordered[start:start + BATCH]
        if locking:
            # NO KEY UPDATE, as the UPDATE itself takes: it does not wait for the key-share
            # locks that inserting a contact or membership takes on its client.
            session.execute(select(_CLIENT.id).where(_CLIENT.id.in_(ids))
                            .order_by(_CLIENT.id).with_for_update(key_share=True))
        run_many(connection, write.sql, [write.parameters({"client_id": i}) for i in ids])


# One client's JSON written by the database; updated_at is set to itself, or the column's
# onupdate would change it. A plain statement, compiled once: through the session,
# SQLAlchemy's per-execution work cost about 0.9 ms a create (bench/RESULTS.md, session 5).
_WRITE = (
    update(Client.__table__).where(_CLIENT.id == bindparam("client_id"))
    .values(list_json=CLIENT_JSON, updated_at=_CLIENT.updated_at)
)


def stale_client_ids(session: Session) -> list[str]:
    """Clients whose stored JSON is not what the list would compute (always none)."""
    query = select(_CLIENT.id).where(_CLIENT.list_json.is_not(None),
                                     _CLIENT.list_json != CLIENT_JSON)
    return list(session.execute(query).scalars())


@event.listens_for(Session, "before_flush")
def _mark_groups_members(session: Session, _context, _instances) -> None:
    # A group's members must be found before the flush deletes the group (and, by cascade,
    # their memberships) or renames it (which reorders their group ids).
    groups = [group.id for group in session.deleted if isinstance(group, ClientGroup)]
    groups += [group.id for group in session.dirty if isinstance(group, ClientGroup)
               and attributes.get_history(group, "name").has_changes()]
    if groups:
        members = select(client_group_members.c.client_id).where(
            client_group_members.c.group_id.in_(groups))
        mark_changed(session, session.execute(members).scalars())


@event.listens_for(Session, "after_flush")
def _mark_flushed(session: Session, _context) -> None:
    # After the flush new clients have their ids; new, dirty and deleted still list what it
    # wrote, and attribute history still holds the values before it.
    changed = set()
    for instance in (*session.new, *session.dirty, *session.deleted):
        if isinstance(instance, Client):
            changed.add(instance.id)
        elif isinstance(instance, Contact):
            history = attributes.get_history(instance, "client_id")
            changed.update(history.sum())
            changed.add(instance.client_id)
    changed.discard(None)
    if changed:
        mark_changed(session, changed)


@event.listens_for(Session, "before_commit")
def _store_marked(session: Session) -> None:
    session.flush()  # the last changes mark their clients too
    marked = session.info.pop(_MARKED, None)
    if marked:
        store_list_json(session, marked)


@event.listens_for(Session, "after_transaction_end")
def _forget_marks(session: Session, transaction) -> None:
    # A rolled-back transaction's marks go with it (a savepoint's stay: rewriting more
    # clients than changed is harmless).
    if transaction.parent is None:
        session.info.pop(_MARKED, None)
