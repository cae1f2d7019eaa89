"""`flask seed-demo` (what `make run` calls): the demo firm once, and logins that still work."""

import os
import re
import stat

from sqlalchemy import select

from portal import create_app
from portal.accounts.models import User
from portal.cli import demo_logins_file
from portal.extensions import db

LOGIN_LINE = re.compile(r"^  (owner|admin|member) +(\S+) +password: (\S+)$", re.MULTILINE)


def test_seed_demo_creates_the_firm_once_and_prints_logins_that_work(app, runner, tmp_path):
    app.instance_path = str(tmp_path)
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    logins = LOGIN_LINE.findall(first.output)
    assert [role for role, _, _ in logins] == ["owner", "admin", "member"]
    for _, email, password in logins:
        user = db.session.execute(select(User).filter_by(email=email)).scalar_one()
        assert user.check_password(password)
    kept = demo_logins_file()
    assert kept.parent == tmp_path
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o600

    again = runner.invoke(args=["seed-demo"])
    assert LOGIN_LINE.findall(again.output) == logins
    assert len(db.session.execute(select(User)).scalars().all()) == 3


def test_a_password_changed_since_is_not_printed(app, runner, tmp_path):
    app.instance_path = str(tmp_path)
    logins = LOGIN_LINE.findall(runner.invoke(args=["seed-demo"]).output)
    _, email, password = logins[1]
    admin = db.session.execute(select(User).filter_by(email=email)).scalar_one()
    admin.set_password("a-new-password-123")
    db.session.commit()
    output = runner.invoke(args=["seed-demo"]).output
    assert password not in output
    assert f"{email}" in output and "(its password was changed since then)" in output
    assert len(LOGIN_LINE.findall(output)) == 2


def test_each_database_keeps_its_own_logins(app_config, tmp_path):
    """Seeding another database (say PostgreSQL) from the same folder must not overwrite the
    passwords printed for the instance's own SQLite file."""
    files = set()
    for database in (tmp_path / "portal.sqlite3", tmp_path / "other.sqlite3"):
        other = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}"})
        other.instance_path = str(tmp_path)
        with other.app_context():
            files.add(demo_logins_file())
            db.engine.dispose()
    assert tmp_path / "demo-logins.txt" in files and len(files) == 2
