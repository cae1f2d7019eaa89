"""`flask seed-clients N --firm NAME`: bulk-insert clients with a primary contact each.

Rows go straight to the database driver's executemany in large batches, bypassing the ORM's
per-row bookkeeping, so a million clients and a million contacts take about a minute.
"""

import base64
import secrets
import time
from datetime import datetime, timedelta

import click
from sqlalchemy import event

from portal.accounts.service import get_or_create_firm
from portal.crm.models import Client
from portal.crm.serializers import client_json, client_out
from portal.extensions import db
from portal.ids import utcnow

BATCH = 20_000
COUNTRIES = ("EE", "FI", "LV", "LT", "SE", "NO", "DE", "PL")
# Random primary keys land all over the index b-trees: a large page cache keeps them in memory.
SEED_PRAGMAS = ("PRAGMA synchronous=OFF", "PRAGMA cache_size=-524288", "PRAGMA temp_store=MEMORY")
CLIENT_COLUMNS = ("id", "firm_id", "name", "client_initials", "address_country_code", "type",
                  "status", "fields", "created_at", "updated_at", "api_json")
CONTACT_COLUMNS = ("id", "firm_id", "client_id", "name", "email", "is_primary", "created_at",
                   "updated_at")


@click.command("seed-clients")
@click.argument("count", type=click.IntRange(1, 10_000_000))
@click.option("--firm", "firm_name", required=True, help="Firm name; created if missing.")
def seed_clients_command(count: int, firm_name: str):
    """Bulk-insert COUNT clients, each with a primary contact, for scale tests and benchmarks."""
    firm = get_or_create_firm(firm_name)
    firm_id, firm_name = firm.id, firm.name
    db.session.commit()
    started = time.perf_counter()
    # The newest ends at "now", one second apart, so every sort has a realistic spread.
    oldest = utcnow() - timedelta(seconds=count)
    with _fast_sqlite(), click.progressbar(length=count, label="Seeding clients") as bar:
        for start in range(0, count, BATCH):
            size = min(BATCH, count - start)
            insert_batch(firm_id, start, size, oldest)
            bar.update(size)
    elapsed = time.perf_counter() - started
    click.echo(f"Inserted {count:,} clients and {count:,} contacts into {firm_name!r} "
               f"in {elapsed:.1f} s ({count / elapsed:,.0f} clients/s).")


def insert_batch(firm_id: str, start: int, size: int, oldest: datetime) -> None:
    """One transaction: `size` clients and their primary contacts."""
    stamp = _timestamp_formatter()
    client_ids, contact_ids = _ids("cli", size), _ids("con", size)
    clients, contacts = [], []
    for offset in range(size):
        number = start + offset
        created = oldest + timedelta(seconds=number)
        at = stamp(created)
        client_id, contact_id = client_ids[offset], contact_ids[offset]
        name, initials = f"Client {number:07d}", f"C{number % 1000:03d}"
        country = COUNTRIES[number % len(COUNTRIES)]
        status = "active" if number % 10 else "inactive"
        # The stored JSON comes from the API's own serializer, as every write stores it.
        shown = Client(id=client_id, name=name, client_initials=initials,
                       address_country_code=country, type="company", status=status,
                       fields={}, created_at=created, updated_at=created)
        clients.append((
            client_id, firm_id, name, initials, country, "company", status, "{}", at, at,
            client_json(client_out(shown, [], [contact_id])),
        ))
        contacts.append((
            contact_id, firm_id, client_id, f"Contact {number:07d}",
            f"contact{number}@seed.example", True, at, at,
        ))
    _executemany("clients", CLIENT_COLUMNS, clients)
    _executemany("contacts", CONTACT_COLUMNS, contacts)
    db.session.commit()


def _ids(prefix: str, count: int) -> list[str]:
    """Like portal.ids.new_id, but one CSPRNG call per batch."""
    raw = base64.b32encode(secrets.token_bytes(15 * count)).decode().lower()
    return [f"{prefix}_{raw[i * 24:i * 24 + 20]}" for i in range(count)]


def _timestamp_formatter():
    """SQLite stores datetimes as text in SQLAlchemy's exact format, which sorts correctly."""
    if db.engine.dialect.name == "sqlite":
        return lambda value: value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return lambda value: value


def _executemany(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    connection = db.session.connection()
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608  (fixed names only)
           f"VALUES ({', '.join([marker] * len(columns))})")
    connection.exec_driver_sql(sql, rows)


class _fast_sqlite:
    """While seeding SQLite, skip fsync: a crash loses the seed run, never real data."""

    def __enter__(self):
        self._listener = None
        if db.engine.dialect.name == "sqlite":
            db.engine.dispose()  # new connections pick up the pragmas below

            def on_connect(connection, _record):
                for pragma in SEED_PRAGMAS:
                    connection.execute(pragma)

            event.listen(db.engine, "connect", on_connect)
            self._listener = on_connect
        return self

    def __exit__(self, *exc):
        if self._listener is not None:
            event.remove(db.engine, "connect", self._listener)
            db.engine.dispose()
        return False
