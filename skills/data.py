"""Linked data, read-only: list tables, describe one, run a SELECT, and explain why a metric moved."""

from __future__ import annotations

import asyncio
import datetime as dt

from bot.attachment import Attachment
from bot.data.analysis.explain import explain_window
from bot.data.analysis.metric_sql import quote, table_sql
from bot.data.analysis.windows import Comparison, parse_period, parse_window
from bot.data.files import explanation_files
from bot.data.report import to_markdown
from bot.data.sources import table as tables
from bot.data.sources.source import DataSource
from bot.data.why import add_candidates
from bot.errors import SkillError
from skills.base import RunContext

MAX_TABLES = 100
COUNTED_TABLES = 30  # tables whose rows list_tables counts
SAMPLE_ROWS = 100_000  # rows describe_table looks at for sample values
LOW_CARDINALITY = 10


async def list_tables(ctx: RunContext, source: str = "") -> str:
    """List the tables and views of a linked data source with their row counts (and the other sources).

    Args:
        source: the data source's name; leave empty when the channel has only one.
    """
    data = ctx.need_data()
    db = data.source(source or None)
    names = await asyncio.to_thread(db.tables)
    lines = [f"`{db.name}` ({db.engine}, read-only): {len(names)} table(s)"]
    for index, name in enumerate(names[:MAX_TABLES]):
        count = ""
        if index < COUNTED_TABLES:
            result = await asyncio.to_thread(db.query, f"SELECT COUNT(*) FROM {table_sql(name, db.dialect)}")
            count = f" — {result.rows[0][0]:,} rows"
        lines.append(f"- {name}{count}")
    if len(names) > MAX_TABLES:
        lines.append(f"[{len(names) - MAX_TABLES} more tables not listed]")
    others = [link.name for link in data.links if link.name != db.name]
    if others:
        lines.append(f"Other linked sources: {', '.join(others)}")
    if data.metrics:
        lines.append("Metrics defined for this channel (use explain_metric): "
                     + ", ".join(f"{m.name} ({m.source}.{m.table})" for m in data.metrics))
    return "\n".join(lines)


async def describe_table(ctx: RunContext, source: str, table: str) -> str:
    """A table's columns and types, its row count, and the values of its low-cardinality columns.

    Args:
        source: the data source's name (empty when the channel has only one).
        table: the table or view, as list_tables shows it.
    """
    db = ctx.need_data().source(source or None)
    return await asyncio.to_thread(_describe, db, table)


def _describe(db: DataSource, table: str) -> str:
    name = db.need_table(table)
    columns = db.columns(name)
    source_sql = table_sql(name, db.dialect)
    rows = db.query(f"SELECT COUNT(*) FROM {source_sql}").rows[0][0]
    lines = [f"`{db.name}.{name}`: {rows:,} rows, {len(columns)} columns"]
    for column in columns[:60]:
        ident = quote(column.name, db.dialect)
        sample = db.query(f"SELECT {ident}, COUNT(*) FROM (SELECT {ident} FROM {source_sql} LIMIT {SAMPLE_ROWS}) s "
                          f"GROUP BY 1 ORDER BY 2 DESC LIMIT {LOW_CARDINALITY + 1}")
        note = ""
        if len(sample.rows) <= LOW_CARDINALITY:
            note = " — values: " + ", ".join(f"{tables.cell(v)} ({n:,})" for v, n in sample.rows)
        elif sample.rows:
            note = f" — e.g. {tables.cell(sample.rows[0][0])}"
        lines.append(f"- {column.name} {column.type}{note}")
    if len(columns) > 60:
        lines.append(f"[{len(columns) - 60} more columns not shown]")
    return "\n".join(lines)


async def run_sql(ctx: RunContext, source: str, sql: str) -> str:
    """Run one read-only SELECT (or WITH ... SELECT) on a linked data source; returns a table of up to 1000 rows.

    The result says if rows were cut off ("truncated"); aggregate or filter instead of paging. Wide
    results are also attached to the thread as a CSV file.

    Args:
        source: the data source's name (empty when the channel has only one).
        sql: one SELECT statement in the source's SQL dialect. No writes, no PRAGMA, no file functions.
    """
    db = ctx.need_data().source(source or None)
    result = await asyncio.to_thread(db.query, sql)
    ctx.queries.append((db.name, result.sql))
    head = (f"Ran on `{db.name}` ({db.engine}) in {result.ms:.0f} ms: {len(result.rows):,} row(s)"
            + (f", TRUNCATED at {len(result.rows):,}: more rows matched" if result.truncated else ""))
    if not result.rows:
        return f"{head}.\nSQL: {result.sql}\n(no rows)"
    body = tables.text_table(result.columns, result.rows)
    if tables.is_wide(result.columns, result.rows) or len(result.rows) > tables.MAX_TABLE_ROWS:
        ctx.attachments.append(Attachment(f"query-{len(ctx.queries)}.csv",
                                          tables.to_csv(result.columns, result.rows),
                                          f"Query result ({len(result.rows):,} rows)"))
        head += "; the full result is attached to the thread as CSV"
    return f"{head}.\nSQL: {result.sql}\n{body}"


async def explain_metric(ctx: RunContext, metric: str, current: str = "", baseline: str = "") -> str:
    """Explain why a catalog metric moved: how much, when it started, which segments drove it, and the
    commits around the onset. Charts and the SQL are attached to the thread for you; summarise the result.

    Args:
        metric: the metric's name or synonym, as in the channel's catalog.
        current: the period to explain: "last week", "yesterday", "this week vs last week", "last 14 days",
          "since 2026-11-03", "on 2026-11-18", or "2026-11-01..2026-11-07". Default: the last 7 days.
        baseline: the period to compare with (same forms); default: the same length right before.
    """
    data = ctx.need_data()
    wanted = data.metric(metric)
    comparison = _comparison(current, baseline, dt.datetime.now(dt.UTC).date())
    db = data.source(wanted.source)
    explanation = await asyncio.to_thread(explain_window, db, wanted, comparison)
    await add_candidates(explanation, ctx.repos)
    # its SQL file is the receipt for these numbers; the charts are drawn in a thread (tens of ms each)
    ctx.attachments.extend(await asyncio.to_thread(explanation_files, explanation))
    return to_markdown(explanation)


def _comparison(current: str, baseline: str, today: dt.date) -> Comparison:
    comparison = parse_period(current, today)
    if comparison is None:
        raise SkillError(f"can't read the period {current!r}; use e.g. last week, yesterday, last 14 days, "
                         "since 2026-11-03, on 2026-11-18, or 2026-11-01..2026-11-07")
    if not baseline.strip():
        return comparison
    window = parse_window(baseline, today)
    if window is None:
        raise SkillError(f"can't read the baseline period {baseline!r}; use the same forms as `current`")
    return Comparison(comparison.current, window, f"{comparison.current.label()} vs {window.label()}")
