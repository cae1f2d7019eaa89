"""`flask set-rate-limits`: a firm's own per-key API allowances, instead of the defaults."""

import click
from flask import current_app
from sqlalchemy import select

from portal.accounts.models import Firm
from portal.audit.service import record_event
from portal.extensions import db

LIMIT = click.IntRange(1, 1_000_000)


@click.command("set-rate-limits")
@click.option("--firm", "firm_name", required=True, help="The firm's name, exactly.")
@click.option("--reads", type=LIMIT, help="Read (GET) requests a minute per key.")
@click.option("--writes", type=LIMIT, help="Write requests a minute per key.")
@click.option("--reset", is_flag=True, help="Go back to the defaults (before --reads/--writes).")
def set_rate_limits_command(firm_name: str, reads: int | None, writes: int | None, reset: bool):
    """Override the per-key API rate limits of one firm, or --reset them to the defaults."""
    firm = db.session.execute(select(Firm).where(Firm.name == firm_name)).scalar_one_or_none()
    if firm is None:
        raise click.ClickException(f"No firm is named “{firm_name}”.")
    if not (reset or reads or writes):
        click.echo(_describe(firm))
        return
    if reset:
        firm.api_read_limit = firm.api_write_limit = None
    if reads:
        firm.api_read_limit = reads
    if writes:
        firm.api_write_limit = writes
    record_event(firm.id, "cli", "firm.rate_limits_changed", firm.name,
                 {"reads": firm.api_read_limit, "writes": firm.api_write_limit})
    db.session.commit()
    click.echo(_describe(firm))


def _describe(firm: Firm) -> str:
    config = current_app.config
    reads = _limit(firm.api_read_limit, config["API_RATE_LIMIT_READS"])
    writes = _limit(firm.api_write_limit, config["API_RATE_LIMIT_WRITES"])
    return f"{firm.name}: {reads} reads and {writes} writes a minute per key."


def _limit(override: int | None, default: int) -> str:
    return f"{default} (default)" if override is None else str(override)
