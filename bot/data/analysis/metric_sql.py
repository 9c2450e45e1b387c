"""The SQL behind a metric's numbers, for each engine (which statements run is bot/data/analysis/scan.py's choice).

- `series_and_leaves_sql`: `GROUP BY bucket, dimensions` over the span of both windows, each distinct
  aggregate once, and the latest timestamp; the series, both windows' leaves and the data's
  freshness all come from that one result (row stores);
- `windows_sql` / `slices_sql`: `GROUP BY dimensions` with each aggregate twice, once
  `FILTER (WHERE <baseline>)` and once for the current window or slice;
- `series_sql`: `GROUP BY bucket`, with a focus segment's aggregates beside the total's (`within`).
Time columns may hold ISO text, epoch seconds or milliseconds, dates or timestamps; the kind is
read from one sample value, so literals and buckets match it and indexes on the column still work.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from bot.data.analysis.metrics import Metric
from bot.data.analysis.windows import Window
from bot.data.sources.source import DataSource
from bot.errors import UserError

NULL_LABEL = "(none)"


@dataclass(frozen=True)
class TimeColumn:
    name: str
    kind: str  # text | epoch_s | epoch_ms | timestamp | date


def quote(name: str, dialect: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect=dialect)


def table_sql(name: str, dialect: str) -> str:
    return exp.to_table(name, dialect=dialect).sql(dialect=dialect)


def where_sql(metric: Metric) -> list[str]:
    return [f"({text})" for text in metric.filters]


def probe_time(source: DataSource, metric: Metric) -> TimeColumn:
    """How the metric's time column stores time, from one non-null value."""
    assert metric.time
    column = quote(metric.time, source.dialect)
    sql = f"SELECT {column} FROM {table_sql(metric.table, source.dialect)} WHERE {column} IS NOT NULL LIMIT 1"
    rows = source.query(sql, max_rows=1).rows
    if not rows:
        raise UserError(f"`{metric.table}` has no rows with a `{metric.time}` value, so `{metric.name}` has no "
                        "series to explain.", kind="data")
    value = rows[0][0]
    if isinstance(value, dt.datetime):
        return TimeColumn(metric.time, "timestamp")
    if isinstance(value, dt.date):
        return TimeColumn(metric.time, "date")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return TimeColumn(metric.time, "epoch_ms" if value > 1e11 else "epoch_s")
    if isinstance(value, str) and _parse_text_time(value) is not None:
        return TimeColumn(metric.time, "text")
    raise UserError(f"`{metric.table}.{metric.time}` holds {str(value)[:40]!r}, which I can't read as a time. "
                    "Use ISO text (2026-11-21 09:30), epoch seconds, a date or a timestamp column.", kind="data")


def bucket_sql(time: TimeColumn, grain: str, dialect: str) -> str:
    column = quote(time.name, dialect)
    seconds = 3600 if grain == "hour" else 86400
    if time.kind == "text":
        return f"substr({column}, 1, {13 if grain == 'hour' else 10})"
    if time.kind in ("epoch_s", "epoch_ms"):
        scaled = f"{column} / 1000" if time.kind == "epoch_ms" else column
        return f"CAST(floor({scaled} / {seconds}) AS BIGINT)" if dialect != "sqlite" \
            else f"CAST({scaled} / {seconds} AS INTEGER)"
    if time.kind == "date":
        return column
    if grain == "day":  # the same day as date_trunc, and DuckDB computes it in two thirds of the time
        return f"CAST({column} AS DATE)"
    return f"date_trunc('{grain}', {column})"


def time_literal(time: TimeColumn, moment: dt.datetime) -> str:
    if time.kind == "text":
        text = f"{moment:%Y-%m-%d}" if moment.hour == 0 and moment.minute == 0 else f"{moment:%Y-%m-%d %H:%M:%S}"
        return f"'{text}'"
    epoch = int(moment.replace(tzinfo=dt.UTC).timestamp())
    if time.kind == "epoch_s":
        return str(epoch)
    if time.kind == "epoch_ms":
        return str(epoch * 1000)
    if time.kind == "date":
        return f"DATE '{moment:%Y-%m-%d}'"
    return f"TIMESTAMP '{moment:%Y-%m-%d %H:%M:%S}'"


def bucket_start(value: object, time: TimeColumn, grain: str) -> dt.datetime | None:
    """A bucket key from the database as a naive UTC datetime."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, int | float):
        seconds = 3600 if grain == "hour" else 86400
        return dt.datetime(1970, 1, 1) + dt.timedelta(seconds=int(value) * seconds)
    return _parse_text_time(str(value))


def moment_of(value: object, time: TimeColumn) -> dt.datetime | None:
    """A raw time value (the data's latest timestamp) as a naive UTC datetime."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if time.kind == "epoch_ms" else value
        return dt.datetime(1970, 1, 1) + dt.timedelta(seconds=float(seconds))
    return bucket_start(value, time, "day") if not isinstance(value, str) else _parse_text_time(value)


def _parse_text_time(text: str) -> dt.datetime | None:
    cleaned = text.strip().replace("T", " ").rstrip("Z")
    if len(cleaned) == 13:  # an hour bucket: 2026-11-21 09
        cleaned += ":00"
    try:
        parsed = dt.datetime.fromisoformat(cleaned)
    except ValueError:
        return None
    return parsed.astimezone(dt.UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def range_sql(time: TimeColumn, start: dt.datetime, end: dt.datetime, dialect: str) -> str:
    column = quote(time.name, dialect)
    return f"{column} >= {time_literal(time, start)} AND {column} < {time_literal(time, end)}"


def series_and_leaves_sql(metric: Metric, time: TimeColumn, grain: str, start: dt.datetime, end: dt.datetime,
                          aggregates: list[str], dialect: str, limit: int) -> str:
    """Per (bucket, dimensions): each aggregate, then the latest time; over [start, end)."""
    dims = [quote(d, dialect) for d in metric.dimensions]
    conditions = [range_sql(time, start, end, dialect), *where_sql(metric)]
    select = [f"{bucket_sql(time, grain, dialect)} AS bucket", *dims,
              *(f"{a} AS a{i}" for i, a in enumerate(aggregates)), f"MAX({quote(time.name, dialect)}) AS latest"]
    group = ", ".join(str(i) for i in range(1, len(dims) + 2))
    return (f"SELECT {', '.join(select)} FROM {table_sql(metric.table, dialect)} "
            f"WHERE {' AND '.join(conditions)} GROUP BY {group} LIMIT {limit}")


def series_sql(metric: Metric, time: TimeColumn, grain: str, span: Window, aggregates: list[str],
               focus: str | None, dialect: str, limit: int) -> str:
    """Per bucket: each aggregate, the latest time, then (with a `focus` condition) each aggregate within it."""
    where = [range_sql(time, span.start, span.end, dialect), *where_sql(metric)]
    select = [f"{bucket_sql(time, grain, dialect)} AS bucket", *(f"{a} AS a{i}" for i, a in enumerate(aggregates)),
              f"MAX({quote(time.name, dialect)}) AS latest"]
    if focus:
        select += [f"{within(a, focus, dialect)} AS f{i}" for i, a in enumerate(aggregates)]
    return (f"SELECT {', '.join(select)} FROM {table_sql(metric.table, dialect)} "
            f"WHERE {' AND '.join(where)} GROUP BY 1 LIMIT {limit}")


def windows_sql(metric: Metric, time: TimeColumn, span: Window, windows: list[str], aggregates: list[str],
                dialect: str, limit: int) -> str:
    """Per dimensions: each aggregate in the baseline window, then each in the current one."""
    return split_sql(metric, range_sql(time, span.start, span.end, dialect), windows, aggregates, dialect, limit)


def slices_sql(metric: Metric, baseline_where: str, current_where: str, aggregates: list[str], dialect: str,
               limit: int) -> str:
    """Per dimensions: each aggregate in the baseline slice, then each in the current slice."""
    return split_sql(metric, f"(({baseline_where}) OR ({current_where}))", [baseline_where, current_where],
                     aggregates, dialect, limit)


def split_sql(metric: Metric, within: str, parts: list[str], aggregates: list[str], dialect: str, limit: int) -> str:
    dims = [quote(d, dialect) for d in metric.dimensions]
    columns = [f"{filtered(a, where, dialect)} AS {label}{i}" for label, where in zip("bc", parts, strict=True)
               for i, a in enumerate(aggregates)]
    group = f" GROUP BY {', '.join(str(i) for i in range(1, len(dims) + 1))}" if dims else ""
    return (f"SELECT {', '.join([*dims, *columns])} FROM {table_sql(metric.table, dialect)} "
            f"WHERE {' AND '.join([*where_sql(metric), within])}{group} LIMIT {limit}")


def filtered(aggregate: str, where: str, dialect: str) -> str:
    """`sum(x) FILTER (WHERE c)`: the aggregate over the rows where `where` holds."""
    condition = sqlglot.parse_one(where, read=dialect)

    def wrap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.AggFunc) and not isinstance(node.parent, exp.Filter):
            return exp.Filter(this=node.copy(), expression=exp.Where(this=condition.copy()))
        return node

    return sqlglot.parse_one(aggregate, read=dialect).transform(wrap).sql(dialect=dialect)


def within(aggregate: str, where: str, dialect: str) -> str:
    """The same as `filtered` for SUM and COUNT (the only aggregates a metric may use), written
    `sum(CASE WHEN c THEN x END)`: DuckDB evaluates that a third faster than a FILTER on string
    columns (measured: 56 vs 81 ms beside a 10M-row series)."""
    condition = sqlglot.parse_one(where, read=dialect)

    def wrap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Count | exp.Sum):
            argument = exp.Literal.number(1) if isinstance(node.this, exp.Star) else node.this
            case = exp.Case(ifs=[exp.If(this=condition.copy(), true=argument.copy())])
            return node.__class__(this=case)
        return node

    return sqlglot.parse_one(aggregate, read=dialect).transform(wrap).sql(dialect=dialect)


def label(value: object) -> str:
    return NULL_LABEL if value is None else str(value)
