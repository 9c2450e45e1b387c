"""One connector interface over SQLite, DuckDB and PostgreSQL, each in its own read-only mode.

`DataSource.query` runs the two layers in order: `guard_select` (one SELECT, LIMIT clamped) and then
the engine's read-only connection with a time limit and a row cap. `DataSource.execute` is the
database layer alone; the analysis uses `query` too, so every number passes both layers.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, ClassVar

from bot.data.sources.guard import guard_select
from bot.errors import SkillError, UserError

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_ROWS = 1000


@dataclass(frozen=True)
class QueryLimits:
    timeout: float = DEFAULT_TIMEOUT  # seconds per query
    max_rows: int = DEFAULT_MAX_ROWS  # rows returned to a person or the model


@dataclass(frozen=True)
class Column:
    name: str
    type: str


@dataclass(frozen=True)
class QueryResult:
    sql: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    truncated: bool  # the query had more rows than the cap; `rows` holds the first `max_rows`
    ms: float


class QueryTimeoutError(SkillError):
    """The database stopped the query at its time limit."""


class DataSource(ABC):
    """A named, read-only database. Subclasses open a fresh read-only connection for every query."""

    engine: ClassVar[str]
    dialect: ClassVar[str]  # sqlglot's name for the SQL dialect
    columnar: ClassVar[bool] = False  # scans are cheap, wide results are not (picks the analysis' query plan)

    def __init__(self, name: str, location: str, limits: QueryLimits) -> None:
        self.name = name
        self.location = location  # path or URL without a password, safe to show
        self.limits = limits

    def session(self) -> AbstractContextManager[None]:
        """Several queries on one read-only connection, where opening one costs more than a small query.
        The default is a fresh connection per query."""
        return nullcontext()

    def query(self, sql: str, *, max_rows: int | None = None, timeout: float | None = None) -> QueryResult:
        """Both layers: the parser check, then the read-only database."""
        cap = max_rows or self.limits.max_rows
        return self.execute(guard_select(sql, self.dialect, cap), max_rows=cap, timeout=timeout)

    def execute(self, sql: str, *, max_rows: int | None = None, timeout: float | None = None,
                params: tuple[Any, ...] = ()) -> QueryResult:
        """The database layer alone: read-only connection, time limit, row cap with a truncated flag."""
        cap = max_rows or self.limits.max_rows
        started = time.monotonic()
        columns, rows = self._run(sql, params, cap + 1, timeout or self.limits.timeout)
        return QueryResult(sql=sql, columns=tuple(columns), rows=rows[:cap], truncated=len(rows) > cap,
                           ms=(time.monotonic() - started) * 1000)

    @abstractmethod
    def _run(self, sql: str, params: tuple[Any, ...], fetch: int, timeout: float) -> tuple[list[str], list[tuple]]:
        """Run one statement read-only; return column names and at most `fetch` rows."""

    @abstractmethod
    def tables(self) -> list[str]:
        """Tables and views a query may read, sorted."""

    @abstractmethod
    def columns(self, table: str) -> list[Column]:
        """The columns of one table (which must be in `tables()`)."""

    def need_table(self, table: str) -> str:
        names = self.tables()
        if table in names:
            return table
        folded = {name.lower(): name for name in names}
        if table.lower() in folded:
            return folded[table.lower()]
        raise SkillError(f"no table `{table}` in `{self.name}`; its tables: {', '.join(names) or '(none)'}")

    def timeout_error(self, timeout: float) -> QueryTimeoutError:
        return QueryTimeoutError(f"the query ran past the {timeout:g} s limit on `{self.name}` and was stopped; "
                                 "filter to fewer rows, aggregate, or drop the recursion")

    def unreachable(self, reason: str, *, retryable: bool = True) -> UserError:
        advice = "Check that it is running and that the bot can log in, then retry." if retryable \
            else "Fix the source (or its link) and ask again."
        return UserError(f"The data source `{self.name}` ({self.engine}) could not be reached: {reason}. {advice}",
                         retryable=retryable, kind="data")
