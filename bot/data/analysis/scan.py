"""Reading a metric over two time windows: per leaf and window, per time bucket, and a segment's own series.

Two plans, chosen by the engine, because what a scan costs differs:
- one scan (SQLite, PostgreSQL: row stores, where reading the rows is the cost and a wider GROUP BY
  is nearly free): `GROUP BY bucket, dimensions`; the leaves, the series and any segment's series
  all come from that one result;
- narrow scans (DuckDB: columnar and parallel, where a scan is cheap but a days x leaves result is
  not): `GROUP BY dimensions` with each window's aggregates filtered, then, once the root-cause
  search has named the dominant segment, `GROUP BY bucket` with that segment's aggregates beside
  the total's.
Either way every number comes from SQL that is kept as a receipt. The rows are regrouped in numpy
(by leaf and by bucket), not row by row in Python: a 10M-row table's one-scan result has about
270k rows.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlglot
from sqlglot import exp

from bot.data.analysis import metric_sql as msql
from bot.data.analysis.metrics import Metric
from bot.data.analysis.rca import Leaves, Segment
from bot.data.analysis.windows import Comparison
from bot.data.sources.source import DataSource, QueryResult
from bot.errors import UserError

MAX_GROUPS = 2_000_000  # (bucket x segment) rows one analysis may read back
NUM, DEN, ROWS = 0, 1, 2  # per window: columns of LeafTable.values (current window: +3)


@dataclass(frozen=True)
class Receipt:
    purpose: str
    sql: str
    rows: int
    ms: float


@dataclass
class LeafTable:
    """Per leaf (a combination of dimension labels): numerator, denominator and rows in each window."""

    leaves: Leaves  # labels sorted within each dimension, leaves in label order
    values: np.ndarray  # (leaves, 6): num_b, den_b, n_b, num_c, den_c, n_c
    of: np.ndarray  # the leaf of each input row
    raw: list[dict[str, object]]  # per dimension: label -> a database value with that label

    def matching(self, segment: Segment) -> np.ndarray:
        """Which leaves lie in the segment."""
        inside = np.ones(len(self.leaves), dtype=bool)
        for name, value in segment.conditions:
            j = list(self.leaves.dims).index(name)
            labels = self.leaves.values[j]
            code = int(np.searchsorted(labels, value)) if len(labels) else 0
            found = code < len(labels) and labels[code] == value
            inside &= (self.leaves.codes[:, j] == code) if found else False
        return inside

    def equals_sql(self, segment: Segment, dialect: str) -> list[str]:
        """The segment as SQL conditions on the database's own values."""
        conditions = []
        for name, value in segment.conditions:
            raw = self.raw[list(self.leaves.dims).index(name)].get(value, value)
            column = msql.quote(name, dialect)
            if raw is None:
                conditions.append(f"{column} IS NULL")
                continue
            try:
                literal = exp.convert(raw).sql(dialect=dialect)
            except ValueError:  # a type sqlglot cannot write as a literal (UUID, ...): compare as text
                column, literal = f"CAST({column} AS VARCHAR)", exp.convert(value).sql(dialect=dialect)
            conditions.append(f"{column} = {literal}")
        return conditions


@dataclass
class Series:
    num: np.ndarray  # per bucket
    den: np.ndarray
    latest: dt.datetime | None  # the newest time value in the span
    focus_num: np.ndarray | None = None  # the same for the focus segment, when one was asked for
    focus_den: np.ndarray | None = None


def buckets_of(comparison: Comparison, grain: str) -> list[dt.datetime]:
    step = dt.timedelta(hours=1) if grain == "hour" else dt.timedelta(days=1)
    span = comparison.span
    return [span.start + i * step for i in range(int((span.end - span.start) / step))]


class WindowScan(ABC):
    """One metric over a comparison, read in two steps: the leaves (for the top-line and the root-cause
    search), then the series, with the series of one focus segment (the dominant cause) beside it."""

    def __init__(self, source: DataSource, metric: Metric, time: msql.TimeColumn, grain: str,
                 comparison: Comparison, timeout: float | None) -> None:
        self.source, self.metric, self.time, self.grain = source, metric, time, grain
        self.comparison, self.timeout = comparison, timeout
        self.aggregates = Aggregates(metric, source.dialect)
        self.buckets = buckets_of(comparison, grain)
        self.receipts: list[Receipt] = []

    @abstractmethod
    def leaves(self) -> LeafTable: ...

    @abstractmethod
    def series(self, focus: Segment | None) -> Series: ...

    def _run(self, sql: str, purpose: str) -> QueryResult:
        result = self.source.query(sql, max_rows=MAX_GROUPS, timeout=self.timeout)
        if result.truncated:
            raise UserError(f"`{self.metric.name}` has more than {MAX_GROUPS:,} (time, segment) groups in this "
                            "span; drop a high-cardinality dimension or shorten the window.", kind="data")
        self.receipts.append(Receipt(purpose, result.sql, len(result.rows), result.ms))
        return result

    def _positions(self, raw_buckets: Sequence[object]) -> np.ndarray:
        """Each bucket value's position in `buckets` (-1: outside the span)."""
        position: dict[dt.datetime | None, int] = {b: i for i, b in enumerate(self.buckets)}
        return np.array([position.get(msql.bucket_start(v, self.time, self.grain), -1) for v in raw_buckets],
                        dtype=np.int64)

    def _per_bucket(self, at: np.ndarray, values: np.ndarray) -> np.ndarray:
        inside = at >= 0
        return np.bincount(at[inside], weights=values[inside], minlength=len(self.buckets))


def window_scan(source: DataSource, metric: Metric, time: msql.TimeColumn, grain: str, comparison: Comparison,
                timeout: float | None) -> WindowScan:
    plan = NarrowScans if source.columnar else OneScan
    return plan(source, metric, time, grain, comparison, timeout)


def leaf_table(dims: Sequence[str], dim_rows: Sequence[tuple], values: np.ndarray) -> LeafTable:
    """Sum `values` (rows x 6) by leaf. Database values become labels (NULL: "(none)"); values that
    print the same are one label. Factorized a dimension at a time, so it costs numpy, not Python, per row."""
    rows = len(dim_rows)
    codes = np.zeros((rows, len(dims)), dtype=np.int64)
    labels: list[np.ndarray] = []
    raw: list[dict[str, object]] = []
    for j in range(len(dims)):
        values_j = [row[j] for row in dim_rows]
        seen = {value: i for i, value in enumerate(dict.fromkeys(values_j))}
        column = np.fromiter(map(seen.__getitem__, values_j), dtype=np.int64, count=rows)
        named = [msql.label(value) for value in seen]
        ordered = sorted(set(named))
        rank = {name: i for i, name in enumerate(ordered)}
        codes[:, j] = np.array([rank[name] for name in named], dtype=np.int64)[column] if named else column
        labels.append(np.array(ordered, dtype=object))
        firsts: dict[str, object] = {}
        for value, name in zip(seen, named, strict=True):
            firsts.setdefault(name, value)
        raw.append(firsts)
    cards = [max(len(v), 1) for v in labels]
    if float(np.prod(cards, dtype=float)) < 2 ** 62:
        key = np.zeros(rows, dtype=np.int64)
        for j, card in enumerate(cards):
            key = key * card + codes[:, j]
        _, first, of = np.unique(key, return_index=True, return_inverse=True)
    else:
        _, first, of = np.unique(codes, axis=0, return_index=True, return_inverse=True)
    of = np.asarray(of).reshape(-1)
    table = np.zeros((len(first), 6))
    for measure in range(6):
        table[:, measure] = np.bincount(of, weights=values[:, measure], minlength=len(first))
    return LeafTable(Leaves(dims=list(dims), codes=codes[first], values=labels), table, of, raw)


def _numbers(rows: Sequence[tuple], column: int) -> np.ndarray:
    """One column as floats; NULL counts as 0 (SQL SUM semantics)."""
    if not rows:
        return np.zeros(0)
    values = np.array([row[column] for row in rows], dtype=float)
    return np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)


class Aggregates:
    """The numerator, denominator and row count, each selected once even when they are the same SQL
    (for `count(*)` all three are)."""

    def __init__(self, metric: Metric, dialect: str) -> None:
        numerator, denominator = metric.aggregates
        wanted = (numerator, denominator if metric.is_ratio and denominator else "COUNT(*)", "COUNT(*)")
        self.distinct: list[str] = []
        self.column: list[int] = []
        known: list[str] = []  # the distinct aggregates, normalized
        for text in wanted:
            normal = sqlglot.parse_one(text, read=dialect).sql(dialect=dialect).lower()
            if normal not in known:
                self.distinct.append(text)
                known.append(normal)
            self.column.append(known.index(normal))

    def values(self, rows: Sequence[tuple], first: int) -> list[np.ndarray]:
        """num, den, n from the `distinct` columns that start at `first`."""
        columns = [_numbers(rows, first + i) for i in range(len(self.distinct))]
        return [columns[i] for i in self.column]

    def both_parts(self, rows: Sequence[tuple], first: int) -> np.ndarray:
        """(rows, 6): num, den, n of the baseline part then of the current part, from a query that
        selects the `distinct` aggregates for each part in turn, starting at column `first`."""
        if not rows:
            return np.zeros((0, 6))
        return np.column_stack([*self.values(rows, first), *self.values(rows, first + len(self.distinct))])


def _latest(values: Sequence[object], time: msql.TimeColumn) -> dt.datetime | None:
    present: list[Any] = [v for v in values if v is not None]  # one column's values: one comparable type
    return msql.moment_of(max(present), time) if present else None


class OneScan(WindowScan):
    """`GROUP BY bucket, dimensions`: the leaves, the series and any segment's series from one result."""

    def leaves(self) -> LeafTable:
        metric, span, dims = self.metric, self.comparison.span, len(self.metric.dimensions)
        sql = msql.series_and_leaves_sql(metric, self.time, self.grain, span.start, span.end,
                                         self.aggregates.distinct, self.source.dialect, MAX_GROUPS + 1)
        rows = self._run(sql, f"{metric.name} per {self.grain} and segment, "
                              f"{span.start:%Y-%m-%d} to {span.end:%Y-%m-%d}").rows
        keys = [row[0] for row in rows]
        raw_buckets = {value: i for i, value in enumerate(dict.fromkeys(keys))}
        of = np.fromiter(map(raw_buckets.__getitem__, keys), dtype=np.int64, count=len(rows))
        self.at = self._positions(list(raw_buckets))[of] if rows else of
        current, baseline = self.comparison.current, self.comparison.baseline
        window = np.array([1 if current.start <= b < current.end else 0 if baseline.start <= b < baseline.end
                           else -1 for b in self.buckets] + [-1])[self.at]  # the last entry: outside the span
        self.num, self.den, count = self.aggregates.values(rows, dims + 1)
        values = np.zeros((len(rows), 6))
        for which in (0, 1):
            chosen = window == which
            values[chosen, 3 * which + NUM], values[chosen, 3 * which + DEN] = self.num[chosen], self.den[chosen]
            values[chosen, 3 * which + ROWS] = count[chosen]
        self.table = leaf_table(metric.dimensions, [row[1:dims + 1] for row in rows], values)
        self.latest = _latest([row[-1] for row in rows], self.time)
        return self.table

    def series(self, focus: Segment | None) -> Series:
        found = Series(self._per_bucket(self.at, self.num), self._per_bucket(self.at, self.den), self.latest)
        if focus is not None:
            chosen = self.table.matching(focus)[self.table.of]
            found.focus_num = self._per_bucket(np.where(chosen, self.at, -1), self.num)
            found.focus_den = self._per_bucket(np.where(chosen, self.at, -1), self.den)
        return found


class NarrowScans(WindowScan):
    """`GROUP BY dimensions` with each window's aggregates filtered, then `GROUP BY bucket` with the
    focus segment's aggregates filtered beside the total's."""

    def leaves(self) -> LeafTable:
        metric, dims, dialect = self.metric, len(self.metric.dimensions), self.source.dialect
        windows = _window_conditions(self.time, self.comparison, dialect)
        sql = msql.windows_sql(metric, self.time, self.comparison.span, windows, self.aggregates.distinct, dialect,
                               MAX_GROUPS + 1)
        rows = self._run(sql, f"{metric.name} per segment in each window").rows
        self.table = leaf_table(metric.dimensions, [row[:dims] for row in rows], self.aggregates.both_parts(rows, dims))
        return self.table

    def series(self, focus: Segment | None) -> Series:
        dialect, width = self.source.dialect, len(self.aggregates.distinct)
        focus_where = " AND ".join(self.table.equals_sql(focus, dialect)) if focus else None
        sql = msql.series_sql(self.metric, self.time, self.grain, self.comparison.span, self.aggregates.distinct,
                              focus_where, dialect, MAX_GROUPS + 1)
        rows = self._run(sql, f"{self.metric.name} per {self.grain}" + (f", and for {focus}" if focus else "")).rows
        at = self._positions([row[0] for row in rows])
        num, den, _ = self.aggregates.values(rows, 1)
        found = Series(self._per_bucket(at, num), self._per_bucket(at, den),
                       _latest([row[width + 1] for row in rows], self.time))
        if focus is not None:
            focus_num, focus_den, _ = self.aggregates.values(rows, width + 2)
            found.focus_num, found.focus_den = self._per_bucket(at, focus_num), self._per_bucket(at, focus_den)
        return found


def _window_conditions(time: msql.TimeColumn, comparison: Comparison, dialect: str) -> list[str]:
    """Each window's condition within the span: one comparison when the windows meet (a third cheaper
    on DuckDB than a range each)."""
    column, current = msql.quote(time.name, dialect), comparison.current
    if comparison.baseline.end == current.start:
        split = msql.time_literal(time, current.start)
        return [f"{column} < {split}", f"{column} >= {split}"]
    return [msql.range_sql(time, w.start, w.end, dialect) for w in (comparison.baseline, current)]
