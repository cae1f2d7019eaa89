"""`flask prune-logs`: the request log and usage counts are kept for 90 days by default."""

import click

from portal.diagnostics.service import prune
from portal.extensions import db

DEFAULT_RETENTION_DAYS = 90


@click.command("prune-logs")
@click.option("--days", default=DEFAULT_RETENTION_DAYS, show_default=True, type=click.IntRange(1),
              help="Keep this many days of API request log rows and usage counts.")
def prune_logs_command(days: int):
    """Delete API request log rows and usage counts older than --days days."""
    logs, counts = prune(days)
    db.session.commit()
    click.echo(f"Deleted {logs} request log rows and {counts} usage counts older than {days} days.")
