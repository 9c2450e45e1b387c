"""The SQL behind a metric's numbers, for each engine: one scan per question.

- by time: `GROUP BY bucket, dimensions` over the whole span of both windows, returning each
  group's numerator, denominator, row count and latest timestamp; the series, both windows' leaves
  and the data's freshness all come from that one result;
- by slices (no time column): `GROUP BY dimensions` with each aggregate twice, once
  `FILTER (WHERE <baseline slice>)` and once for the current slice.
Time columns may hold ISO text, epoch seconds or milliseconds, dates or timestamps; the kind is
read from one sample value, so literals and buckets match it and indexes on the column still work.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from bot.data.metrics import Metric
from bot.data.source import DataSource
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


def series_and_leaves_sql(metric: Metric, time: TimeColumn, grain: str, start: dt.datetime, end: dt.datetime,
                          dialect: str, limit: int) -> str:
    """Per (bucket, dimensions): numerator, denominator, rows, latest time; over [start, end)."""
    numerator, denominator = metric.aggregates
    dims = [quote(d, dialect) for d in metric.dimensions]
    column = quote(time.name, dialect)
    bucket = bucket_sql(time, grain, dialect)
    conditions = [f"{column} >= {time_literal(time, start)}", f"{column} < {time_literal(time, end)}",
                  *where_sql(metric)]
    select = [f"{bucket} AS bucket", *dims, f"{numerator} AS num", f"{denominator or 'COUNT(*)'} AS den",
              "COUNT(*) AS n", f"MAX({column}) AS latest"]
    group = ", ".join(str(i) for i in range(1, len(dims) + 2))
    return (f"SELECT {', '.join(select)} FROM {table_sql(metric.table, dialect)} "
            f"WHERE {' AND '.join(conditions)} GROUP BY {group} LIMIT {limit}")


def slices_sql(metric: Metric, baseline_where: str, current_where: str, dialect: str, limit: int) -> str:
    """Per dimensions: numerator and denominator in the baseline slice and in the current slice."""
    numerator, denominator = metric.aggregates
    dims = [quote(d, dialect) for d in metric.dimensions]
    columns = []
    for label, where in (("b", baseline_where), ("c", current_where)):
        columns.append(f"{_filtered(numerator, where, dialect)} AS num_{label}")
        columns.append(f"{_filtered(denominator or 'COUNT(*)', where, dialect)} AS den_{label}")
        columns.append(f"{_filtered('COUNT(*)', where, dialect)} AS n_{label}")
    conditions = [*where_sql(metric), f"(({baseline_where}) OR ({current_where}))"]
    group = f" GROUP BY {', '.join(str(i) for i in range(1, len(dims) + 1))}" if dims else ""
    return (f"SELECT {', '.join([*dims, *columns])} FROM {table_sql(metric.table, dialect)} "
            f"WHERE {' AND '.join(conditions)}{group} LIMIT {limit}")


def _filtered(aggregate: str, where: str, dialect: str) -> str:
    condition = sqlglot.parse_one(where, read=dialect)

    def wrap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.AggFunc) and not isinstance(node.parent, exp.Filter):
            return exp.Filter(this=node.copy(), expression=exp.Where(this=condition.copy()))
        return node

    return sqlglot.parse_one(aggregate, read=dialect).transform(wrap).sql(dialect=dialect)


def label(value: object) -> str:
    return NULL_LABEL if value is None else str(value)
