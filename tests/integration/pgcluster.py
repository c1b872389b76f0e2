"""A private PostgreSQL cluster for the tests that stop and start the database server.

Never the shared cluster CI uses (DECISIONS "Several instances"): ``initdb`` into a
temporary folder, a free loopback port, its socket in that folder, trust authentication on
loopback only. As root (CI) every PostgreSQL program runs as the ``postgres`` user, which
owns the folder; as anyone else, as that user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.integration.daemons import free_port

START_TIMEOUT = 60
SERVER_USER = "postgres"


def bin_dir() -> Path | None:
    """The newest ``/usr/lib/postgresql/*/bin`` with ``initdb`` and ``pg_ctl``."""
    found = [
        Path(path).parent
        for path in glob.glob("/usr/lib/postgresql/*/bin/initdb")
        if (Path(path).parent / "pg_ctl").exists()
    ]
    return max(found, key=lambda path: float(path.parent.name), default=None)


def missing_reason() -> str | None:
    """Why a private cluster cannot run here, or None when it can."""
    if bin_dir() is None:
        return "PostgreSQL server binaries not installed (Debian: apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"user {SERVER_USER!r} missing (it comes with the postgresql package)"
        if shutil.which("runuser") is None:
            return "runuser not found (util-linux)"
    return None


class PrivateCluster:
    def __init__(self) -> None:
        found = bin_dir()
        assert found is not None, missing_reason()
        self.bin = found
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="maild-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgresql.log"
        if os.geteuid() == 0:
            entry = pwd.getpwnam(SERVER_USER)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8")

    def _run(self, program: str, *args: str, timeout: float = START_TIMEOUT) -> str:
        command = [str(self.bin / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        done = subprocess.run(
            command,
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}):\n{done.stderr}")
        return done.stdout

    def start(self) -> PrivateCluster:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c max_connections=50 -c shared_buffers=16MB"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        """``fast`` ends every session at once (their transactions roll back), as an
        operator's restart or a failover does."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url(name)

    def close(self) -> None:
        if self.running:
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
