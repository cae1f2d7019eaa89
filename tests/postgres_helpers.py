"""A private PostgreSQL server a test may stop and start (the suite's own server, from
scripts/with-postgres, is shared by every test). Debian's `postgresql` package; run as the
`postgres` user when the tests run as root, since pg_ctl refuses root."""

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.gunicorn_helpers import free_port


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    return Path(shutil.which("pg_ctl")).parent


class PrivatePostgres:
    """initdb'd under a fresh folder in /tmp (reachable by `postgres`), on a free port."""

    def __init__(self):
        self.work = work = Path(tempfile.mkdtemp(prefix="private-postgres-", dir="/tmp"))
        work.chmod(0o755)
        self.data = work / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.bin = _pg_bin()
        self.as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if os.geteuid() == 0:
            shutil.chown(work, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "--no-sync", "-E", "UTF8")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_pg, str(self.bin / tool), *args], check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60)

    def start(self) -> None:
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.work} "
                   "-c fsync=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.work / "server.log"),
                  "-w", "-t", "30", "start", "-o", options)

    def stop(self) -> None:
        """Stop at once, as a crash or a power cut would: open transactions are lost."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.work, ignore_errors=True)
