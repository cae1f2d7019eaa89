"""Flask CLI commands: create-user, seed-demo (and the ones registered from elsewhere)."""

import hashlib
import os
import secrets
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import select

from portal.accounts.models import Role, User
from portal.accounts.service import AccountError, create_user
from portal.crm.cli import store_client_json_command
from portal.extensions import db
from portal.public_api.cli import set_rate_limits_command
from portal.seeding import seed_clients_command

DEMO_FIRM = "Demo Accounting"
DEMO_LOGINS_FILE = "demo-logins.txt"


def register(app: Flask) -> None:
    app.cli.add_command(create_user_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(set_rate_limits_command)
    app.cli.add_command(seed_clients_command)
    app.cli.add_command(store_client_json_command)


@click.command("create-user")
@click.argument("email")
@click.option("--password", required=True, help="At least 8 characters.")
@click.option("--firm", "firm_name", help="Firm name; created if missing.")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.MEMBER.value)
@click.option("--name", help="Display name (default: from the e-mail).")
@click.option("--support", is_flag=True, help="A platform support user (no firm).")
def create_user_command(email, password, firm_name, role, name, support):
    """Create a firm user (owner, admin, member) or a support user."""
    try:
        user = create_user(
            email, password, firm_name=firm_name, role=role, name=name, support=support
        )
    except AccountError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    kind = "support user" if user.is_support else f"{user.role} of {user.firm.name}"
    click.echo(f"Created {user.email} ({kind}).")


@click.command("seed-demo")
def seed_demo_command():
    """Create the demo firm (only in an empty database) and print how to log in."""
    logins_file = demo_logins_file()
    if db.session.execute(select(User.id).limit(1)).first() is None:
        logins = _create_demo_firm()
        db.session.commit()
        _write_private(logins_file, "".join(f"{r}\t{e}\t{p}\n" for r, e, p in logins))
    if not logins_file.exists():
        click.echo("The database already has users; log in with one of them.")
        return
    click.echo("Log in at the portal with one of these demo accounts:")
    for line in logins_file.read_text().splitlines():
        role, email, password = line.split("\t")
        user = db.session.execute(select(User).filter_by(email=email)).scalar_one_or_none()
        if user is None or not user.check_password(password):
            # Printed only while it still works: someone may have changed it in the portal.
            click.echo(f"  {role:<7} {email:<28} (its password was changed since then)")
        else:
            click.echo(f"  {role:<7} {email:<28} password: {password}")


def demo_logins_file() -> Path:
    """Where the demo's passwords are kept: instance/demo-logins.txt for the instance's own
    SQLite file, a file of its own for any other database, so that seeding one (e.g. a
    PostgreSQL server) never overwrites what is printed for another."""
    instance = Path(current_app.instance_path)
    url = db.engine.url
    if url.get_backend_name() == "sqlite" and url.database and (
        Path(url.database).resolve() == (instance / "portal.sqlite3").resolve()
    ):
        return instance / DEMO_LOGINS_FILE
    digest = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()
    return instance / f"demo-logins-{digest[:12]}.txt"


def _create_demo_firm() -> list[tuple[str, str, str]]:
    from portal.crm.demo import seed_demo_data

    logins = []
    for role, email in (
        ("owner", "owner@demo.example"),
        ("admin", "admin@demo.example"),
        ("member", "member@demo.example"),
    ):
        password = secrets.token_urlsafe(9)
        create_user(email, password, firm_name=DEMO_FIRM, role=role)
        logins.append((role, email, password))
    seed_demo_data(DEMO_FIRM)
    return logins


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
