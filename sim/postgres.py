"""A real PostgreSQL server in a temp dir (initdb + postgres), for tests and dev: no emulation needed.

Local (unix socket) connections are trusted for the admin; TCP connections need a password
(scram-sha-256), so the bot's password-from-the-environment path is exercised for real. When the
tests run as root, the server runs as an unprivileged uid, as PostgreSQL requires.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

ADMIN = "admin"
_UNPRIVILEGED_UID = 65534


def find_postgres_bin() -> Path | None:
    """The directory holding initdb and postgres (Debian keeps them out of PATH), or None."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(versions[-1]).parent if versions else None


class LocalPostgres:
    """`LocalPostgres().start()`; `.stop()` removes everything. Its directory is its own (under the system
    temp dir, not a test's private one) so an unprivileged server user can reach it."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="chatops-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.port = _free_port()
        self.process: subprocess.Popen | None = None
        self.bin = find_postgres_bin()

    def _as_server_user(self) -> list[str]:
        if os.geteuid() != 0:
            return []
        return ["setpriv", f"--reuid={_UNPRIVILEGED_UID}", f"--regid={_UNPRIVILEGED_UID}", "--clear-groups"]

    def start(self) -> LocalPostgres:
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed (scripts/bootstrap --for-tests installs it)")
        self.sockets.mkdir(parents=True)
        if os.geteuid() == 0:
            for path in (self.root, self.sockets):
                os.chown(path, _UNPRIVILEGED_UID, _UNPRIVILEGED_UID)
        subprocess.run([*self._as_server_user(), str(self.bin / "initdb"), "-D", str(self.data), "-U", ADMIN,
                        "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8"],
                       check=True, capture_output=True)
        self.process = subprocess.Popen(
            [*self._as_server_user(), str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port),
             "-k", str(self.sockets), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
             "-c", "full_page_writes=off", "-c", "synchronous_commit=off"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                self.admin().close()
                return self
            except psycopg.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    err = self.process.stderr.read().decode() if self.process.stderr else ""
                    raise RuntimeError(f"PostgreSQL did not start: {err[-800:]}") from None
                time.sleep(0.05)

    def admin(self, dbname: str = "postgres") -> psycopg.Connection:
        """A superuser connection over the unix socket (trusted)."""
        return psycopg.connect(host=str(self.sockets), port=self.port, user=ADMIN, dbname=dbname, autocommit=True)

    def url(self, user: str, dbname: str) -> str:
        """A SQLAlchemy-style URL for TCP, with no password in it."""
        return f"postgresql+psycopg://{user}@127.0.0.1:{self.port}/{dbname}"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process and self.process.stderr:
            self.process.stderr.close()
        shutil.rmtree(self.root, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
