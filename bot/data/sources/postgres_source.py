"""PostgreSQL, in a read-only transaction with a statement timeout, on a fresh connection per query.

- the session starts with `default_transaction_read_only=on` and `statement_timeout` (server-side
  limits, set as connection options before any SQL runs), and the transaction is READ ONLY;
- the query runs through a server-side cursor (`DECLARE ... CURSOR FOR <query>`), which PostgreSQL
  accepts only for a single SELECT/VALUES, so `select 1; commit; ...` is refused by the server itself;
- the transaction is rolled back after the rows are read.

A session setting is not a security boundary on its own: the docs ask for a role that can only
SELECT (or `pg_read_all_data`), ideally on a replica. The password comes from the environment.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from bot.data.sources.source import Column, DataSource, QueryLimits
from bot.errors import SkillError

CONNECT_TIMEOUT = 5  # seconds
log = logging.getLogger(__name__)


class PostgresSource(DataSource):
    engine = "postgresql"
    dialect = "postgres"

    def __init__(self, name: str, conninfo: str, display: str, limits: QueryLimits, *,
                 password: str | None = None) -> None:
        super().__init__(name, display, limits)
        self.conninfo = conninfo
        self.password = password

    def _connect(self, timeout: float) -> psycopg.Connection:
        options = f"-c default_transaction_read_only=on -c statement_timeout={int(timeout * 1000)} -c TimeZone=UTC"
        extra: dict[str, Any] = {"password": self.password} if self.password else {}
        try:
            conn = psycopg.connect(self.conninfo, connect_timeout=CONNECT_TIMEOUT, options=options,
                                   application_name="chatops", **extra)
        except psycopg.OperationalError as exc:
            log.warning("data source %s: cannot connect: %s", self.name, _first_line(exc))
            raise self.unreachable(_connect_failure(exc)) from None
        conn.read_only = True
        return conn

    def _run(self, sql: str, params: tuple[Any, ...], fetch: int, timeout: float) -> tuple[list[str], list[tuple]]:
        conn = self._connect(timeout)
        try:
            with conn.cursor(name=f"chatops_{uuid.uuid4().hex[:12]}") as cursor:
                cursor.execute(sql, params or None)
                rows = cursor.fetchmany(fetch)
                return [d.name for d in cursor.description or ()], rows
        except pg_errors.QueryCanceled:
            raise self.timeout_error(timeout) from None
        except psycopg.OperationalError as exc:
            log.warning("data source %s: connection lost: %s", self.name, _first_line(exc))
            raise self.unreachable(_connect_failure(exc)) from None
        except psycopg.Error as exc:
            raise SkillError(f"PostgreSQL refused the query: {_first_line(exc)}") from None
        finally:
            conn.rollback() if not conn.closed else None
            conn.close()

    def tables(self) -> list[str]:
        _, rows = self._run(
            "SELECT CASE WHEN table_schema = 'public' THEN table_name ELSE table_schema || '.' || table_name END "
            "FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
            "ORDER BY 1", (), 10_000, self.limits.timeout)
        return [r[0] for r in rows]

    def columns(self, table: str) -> list[Column]:
        schema, _, name = self.need_table(table).rpartition(".")
        _, rows = self._run("SELECT column_name, data_type FROM information_schema.columns "
                            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                            (schema or "public", name), 10_000, self.limits.timeout)
        return [Column(col, kind) for col, kind in rows]


def _connect_failure(exc: Exception) -> str:
    """A plain reason for a failed connection; libpq's text (hosts, ports, internals) stays in the log."""
    text = str(exc).lower()
    if "no password supplied" in text:
        return "it asked for a password and none is set (see `chatops doctor`)"
    if "password authentication failed" in text or "authentication failed" in text:
        return "it refused the login (wrong user or password)"
    if "does not exist" in text:
        return "the database or role does not exist"
    if "timeout" in text or "timed out" in text:
        return f"it did not answer within {CONNECT_TIMEOUT} s"
    if "refused" in text or "could not connect" in text or "no such file" in text:
        return "nothing is listening at its address"
    if "terminat" in text or "closed" in text:
        return "the server closed the connection"
    return "the connection failed"


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
