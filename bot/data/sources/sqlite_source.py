"""SQLite, read-only the Datasette way and stricter: every layer SQLite offers, on a fresh connection per query.

- opened `file:...?mode=ro` (the OS-level file handle cannot write) and `PRAGMA query_only=1`;
- an authorizer that allows reading and nothing else: no writes, ATTACH or PRAGMA,
  and `SQLITE_LIMIT_ATTACHED=0` so ATTACH cannot work even if allowed;
- extension loading off;
- a progress handler that aborts the statement at its deadline.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from bot.data.sources.source import Column, DataSource, QueryLimits
from bot.errors import SkillError

_READ_ACTIONS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
_DENIED_FUNCTIONS = {"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"}
_PROGRESS_OPS = 1000  # virtual machine instructions between deadline checks


class SQLiteSource(DataSource):
    engine = "sqlite"
    dialect = "sqlite"

    def __init__(self, name: str, path: Path, limits: QueryLimits) -> None:
        super().__init__(name, str(path), limits)
        self.path = path

    def _connect(self, deadline: float, *, authorize: bool = True) -> sqlite3.Connection:
        if not self.path.is_file():
            raise self.unreachable(f"there is no file at {self.path}")
        try:
            conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        except sqlite3.Error as exc:
            raise self.unreachable(str(exc)) from None
        if hasattr(conn, "enable_load_extension"):  # absent when Python was built without extension support
            conn.enable_load_extension(False)
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        conn.execute("PRAGMA query_only = 1")
        if authorize:  # off only for the bot's own catalog queries (their table name is a bound parameter)
            conn.set_authorizer(_authorize)
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), _PROGRESS_OPS)
        return conn

    def _run(self, sql: str, params: tuple[Any, ...], fetch: int, timeout: float, *,
             authorize: bool = True) -> tuple[list[str], list[tuple]]:
        conn = self._connect(time.monotonic() + timeout, authorize=authorize)
        try:
            cursor = conn.execute(sql, params)
            rows = cursor.fetchmany(fetch)
            return [d[0] for d in cursor.description or ()], rows
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                raise self.timeout_error(timeout) from None
            raise SkillError(f"SQLite refused the query: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise SkillError(f"SQLite refused the query: {exc}") from None
        finally:
            conn.close()

    def tables(self) -> list[str]:
        _, rows = self._run("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                            "AND name NOT LIKE 'sqlite_%' ORDER BY name", (), 10_000, self.limits.timeout)
        return [r[0] for r in rows]

    def columns(self, table: str) -> list[Column]:
        _, rows = self._run("SELECT name, type FROM pragma_table_info(?)", (self.need_table(table),), 10_000,
                            self.limits.timeout, authorize=False)
        return [Column(name, kind or "ANY") for name, kind in rows]


def _authorize(action: int, arg1: str | None, arg2: str | None, _db: str | None, _trigger: str | None) -> int:
    if action == sqlite3.SQLITE_FUNCTION:
        return sqlite3.SQLITE_DENY if (arg2 or "").lower() in _DENIED_FUNCTIONS else sqlite3.SQLITE_OK
    if action in _READ_ACTIONS:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY
