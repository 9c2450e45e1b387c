"""DuckDB: a `.duckdb` database file, or CSV / Parquet / JSON files (one view per file), read-only.

DuckDB's docs say to treat its SQL like a shell, so every layer it offers is on, per query:
- the database is opened `read_only=True`: a `.duckdb` file as is; linked data files through a small
  catalog database of views (one per file) that the bot writes once and then opens read-only;
- DuckDB's own parser must find exactly one statement;
- `allowed_paths` lists exactly the linked files, then `enable_external_access=false` turns off every
  other file, network and extension access (`read_csv('/etc/passwd')`, ATTACH, COPY TO, INSTALL), and
  `lock_configuration=true` stops a query from turning it back on;
- the statement is interrupted at its deadline from a timer thread.
The database is opened and configured once while queries run on it (DuckDB shares one instance per
file in a process) and closed when the last one ends; inside `session()` one analysis' queries share a connection.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from bot.data.sources.source import Column, DataSource, QueryLimits
from bot.errors import SkillError

FILE_READERS = {".csv": "read_csv", ".tsv": "read_csv", ".parquet": "read_parquet", ".json": "read_json",
                ".jsonl": "read_json", ".ndjson": "read_json"}
_MEMORY_LIMIT = "2GB"
log = logging.getLogger(__name__)


class DuckDBSource(DataSource):
    engine = "duckdb"
    dialect = "duckdb"
    columnar = True

    def __init__(self, name: str, path: Path, limits: QueryLimits, *, cache_dir: Path | None = None) -> None:
        super().__init__(name, str(path), limits)
        self.path = path
        self.cache_dir = cache_dir or Path(tempfile.gettempdir()) / "chatops-duckdb-views"
        self._session = threading.local()

    @contextmanager
    def session(self) -> Iterator[None]:
        """One connection for this thread's queries until the block ends: opening a database file costs
        more than a small query, and DuckDB's buffer cache lives with the open database."""
        if getattr(self._session, "conn", None) is not None:
            yield
            return
        with self._connection() as conn:
            self._session.conn = conn
            try:
                yield
            finally:
                self._session.conn = None

    def _files(self) -> dict[str, Path]:
        """View name -> file, when the source is a data file or a directory of them."""
        candidates = sorted(self.path.iterdir()) if self.path.is_dir() else [self.path]
        files = {}
        for file in candidates:
            if file.suffix.lower() in FILE_READERS and file.is_file():
                files[re.sub(r"\W", "_", file.name.split(".")[0]).lower() or "data"] = file.resolve()
        return files

    def _views_database(self, files: dict[str, Path]) -> Path:
        """A database holding only views over `files`, written once per set of files, read-only after."""
        key = hashlib.sha256("\0".join(f"{v}={f}" for v, f in sorted(files.items())).encode()).hexdigest()[:20]
        target = self.cache_dir / f"{key}.duckdb"
        if target.is_file():
            return target
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        scratch = self.cache_dir / f"{key}.{os.getpid()}.{threading.get_ident()}.tmp"
        with duckdb.connect(str(scratch)) as conn:
            for view, file in files.items():
                reader = FILE_READERS[file.suffix.lower()]
                conn.execute(f"CREATE VIEW {_quote(view)} AS SELECT * FROM {reader}({_literal(str(file))})")
        os.replace(scratch, target)
        return target

    @contextmanager
    def _connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """This thread's session connection, else a cursor of the shared read-only database for one query."""
        shared = getattr(self._session, "conn", None)
        if shared is not None:
            yield shared
            return
        if not self.path.exists():
            raise self.unreachable(f"there is nothing at {self.path}")
        try:
            files = {} if self.path.is_file() and self.path.suffix.lower() not in FILE_READERS else self._files()
            database = self._views_database(files) if files else self.path
            cursor = _DATABASES.open(database, list(files.values()))
        except duckdb.Error as exc:
            log.warning("data source %s: cannot open: %s", self.name, _first_line(exc))
            reason, retryable = _open_failure(exc)
            raise self.unreachable(reason, retryable=retryable) from None
        try:
            yield cursor
        finally:
            _DATABASES.close(database, cursor)

    def _run(self, sql: str, params: tuple[Any, ...], fetch: int, timeout: float) -> tuple[list[str], list[tuple]]:
        with self._connection() as conn:
            timer = threading.Timer(timeout, conn.interrupt)
            timer.start()
            try:
                if len(conn.extract_statements(sql)) != 1:
                    raise SkillError("DuckDB runs one statement per query; remove the `;`-separated extras")
                cursor = conn.execute(sql, list(params) if params else None)
                rows = cursor.fetchmany(fetch)
                return [d[0] for d in cursor.description or ()], rows
            except duckdb.InterruptException:
                raise self.timeout_error(timeout) from None
            except duckdb.Error as exc:
                if not timer.is_alive() and "interrupt" in str(exc).lower():
                    raise self.timeout_error(timeout) from None
                raise SkillError(f"DuckDB refused the query: {_first_line(exc)}") from None
            finally:
                timer.cancel()

    def tables(self) -> list[str]:
        _, rows = self._run("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                            "ORDER BY table_name", (), 10_000, self.limits.timeout)
        return [r[0] for r in rows]

    def columns(self, table: str) -> list[Column]:
        _, rows = self._run("SELECT column_name, data_type FROM information_schema.columns "
                            "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
                            (self.need_table(table),), 10_000, self.limits.timeout)
        return [Column(name, kind) for name, kind in rows]


class _OpenDatabases:
    """One configured read-only DuckDB database per file in this process, shared by the queries running on it.

    DuckDB shares one instance between all connections to a file, so a second `connect` would try to
    change settings the first one locked. Instead the first query opens and locks the database, every
    query runs on its own cursor (its own connection to that instance, so `interrupt` stops only it),
    and the last one to finish closes the file, so a writer elsewhere is kept out no longer than a query.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, tuple[duckdb.DuckDBPyConnection, int]] = {}

    def open(self, database: Path, files: list[Path]) -> duckdb.DuckDBPyConnection:
        key = str(database.resolve())
        with self._lock:
            base, users = self._open.get(key) or (self._configured(key, files), 0)
            self._open[key] = (base, users + 1)
            try:
                return base.cursor()
            except duckdb.Error:
                self._release(key)
                raise

    def close(self, database: Path, cursor: duckdb.DuckDBPyConnection) -> None:
        cursor.close()
        with self._lock:
            self._release(str(database.resolve()))

    def _release(self, key: str) -> None:
        base, users = self._open[key]
        if users > 1:
            self._open[key] = (base, users - 1)
        else:
            del self._open[key]
            base.close()

    @staticmethod
    def _configured(path: str, files: list[Path]) -> duckdb.DuckDBPyConnection:
        conn = duckdb.connect(path, read_only=True, config={"memory_limit": _MEMORY_LIMIT})
        try:
            if files:
                conn.execute("SET allowed_paths = ?", [[str(f) for f in files]])
            conn.execute("SET enable_external_access = false")
            conn.execute("SET autoinstall_known_extensions = false")
            conn.execute("SET autoload_known_extensions = false")
            conn.execute("SET lock_configuration = true")
        except duckdb.Error:
            conn.close()
            raise
        return conn


_DATABASES = _OpenDatabases()


def _open_failure(exc: Exception) -> tuple[str, bool]:
    """A plain reason (and whether a retry may help); DuckDB's own text stays in the log."""
    text = str(exc).lower()
    if "could not set lock" in text or "conflicting lock" in text:
        return "another process has the database open for writing", True
    if "not a valid duckdb database" in text or "database file" in text:
        return "the file is not a DuckDB database", False
    if "csv" in text or "parquet" in text or "json" in text:
        return "a linked file could not be read as CSV, Parquet or JSON", False
    return "it could not be opened", True


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
