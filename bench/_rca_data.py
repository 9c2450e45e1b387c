"""A synthetic 14-day event table for bench/rca_speed.py, the same rows in DuckDB and in SQLite.

Columns: ts, platform (3 values), country (20), plan (4), channel (8), app_version (10), amount.
Value popularity is Zipf-like (the first value of each dimension is the commonest); weekends carry
80 % of a weekday's traffic; from ONSET on, android & app_version 7.4 loses 70 % of its events
(the planted root cause, so the analysis has a real change to localize).

Rows are drawn in DuckDB from hash(row number, seed): candidates are kept with the probability the
weekday and the root cause give, and the first `rows` kept candidates make the table, ordered by time
as an event log is. The SQLite copy takes the same rows through a CSV file and executemany
(DuckDB's sqlite extension would need a download); its ts column is ISO text
'YYYY-MM-DD HH:MM:SS', DuckDB's a TIMESTAMP. Both files are written under a temporary name first.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import os
import sqlite3
import time
from pathlib import Path

import duckdb

DATA = Path(__file__).resolve().parent / ".data"
TODAY = dt.date(2026, 3, 2)  # parse_period("", TODAY): Feb 23-Mar 1 vs Feb 16-22, exactly the table's 14 days
START = dt.datetime(2026, 2, 16)
DAYS = 14
ONSET = dt.datetime(2026, 2, 26)
DIMENSIONS = {
    "platform": ["android", "ios", "web"],
    "country": ["US", "IN", "BR", "GB", "DE", "FR", "ID", "MX", "JP", "CA",
                "TR", "ES", "IT", "PL", "NG", "PH", "VN", "AR", "KR", "AU"],
    "plan": ["free", "basic", "pro", "enterprise"],
    "channel": ["organic", "paid_search", "social", "email", "referral", "display", "affiliate", "push"],
    "app_version": ["7.4", "7.3", "7.2", "7.1", "7.0", "6.9", "6.8", "6.7", "6.6", "6.5"],
}
CAUSE = {"platform": "android", "app_version": "7.4"}
CAUSE_KEEP = 0.3  # the planted segment keeps 30 % of its events from ONSET on
WEEKEND_KEEP = 0.8
_BINS = 1000  # popularity resolution: each dimension's lookup list holds this many labels
_BLOCK = 1 << 16  # candidates per block when finding the exact cut


def _lookup(values: list[str]) -> str:
    """A DuckDB list literal of _BINS labels, each value repeated in proportion to 1 / rank^0.8."""
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(values))]
    total = sum(weights)
    counts = [max(1, round(_BINS * w / total)) for w in weights]
    counts[0] += _BINS - sum(counts)
    labels = [v for v, c in zip(values, counts, strict=True) for _ in range(c)]
    return "[" + ", ".join(f"'{label}'" for label in labels) + "]"


def _candidates_sql(seed: int, candidates: int) -> str:
    """Every candidate row with its `keep` flag; a pure function of (i, seed)."""
    def uniform(salt: int) -> str:
        return f"(hash(i, {seed}, {salt}) % 1000000007) / 1000000007.0"

    dims = ",\n".join(f"{_lookup(values)}[1 + CAST(hash(i, {seed}, {n}) % {_BINS} AS BIGINT)] AS {name}"
                      for n, (name, values) in enumerate(DIMENSIONS.items(), start=1))
    cause = " AND ".join(f"{name} = '{value}'" for name, value in CAUSE.items())
    return f"""
        SELECT i, ts, {", ".join(DIMENSIONS)}, amount,
               {uniform(99)} < (CASE WHEN dayofweek(ts) IN (0, 6) THEN {WEEKEND_KEEP} ELSE 1.0 END)
                             * (CASE WHEN {cause} AND ts >= TIMESTAMP '{ONSET}' THEN {CAUSE_KEEP} ELSE 1.0 END)
                 AS keep
        FROM (
            SELECT i,
                   TIMESTAMP '{START}' + to_seconds(CAST(floor({uniform(0)} * {DAYS * 86400}) AS BIGINT)) AS ts,
                   {dims},
                   round(1 + 99 * pow({uniform(6)}, 3), 2) AS amount
            FROM range({candidates}) t(i)
        )"""


def _cut(conn: duckdb.DuckDBPyConnection, candidates_sql: str, rows: int) -> int:
    """The candidate number at which exactly `rows` candidates have been kept."""
    blocks = conn.execute(f"SELECT i // {_BLOCK} AS block, count(*) FROM ({candidates_sql}) WHERE keep "
                          "GROUP BY block ORDER BY block").fetchall()
    kept = 0
    for block, count in blocks:
        if kept + count >= rows:
            numbers = conn.execute(f"SELECT i FROM ({candidates_sql}) WHERE keep AND i // {_BLOCK} = {block} "
                                   "ORDER BY i").fetchall()
            return numbers[rows - kept - 1][0]
        kept += count
    raise RuntimeError(f"only {kept:,} of {rows:,} rows were kept; draw more candidates")


def build_duckdb(path: Path, rows: int, seed: int) -> None:
    candidates = math.ceil(rows / 0.85) + 10_000  # about 92 % are kept
    scratch = path.with_suffix(f".{os.getpid()}.tmp")
    scratch.unlink(missing_ok=True)
    try:
        with duckdb.connect(str(scratch)) as conn:
            conn.execute("SET enable_progress_bar = false")
            sql = _candidates_sql(seed, candidates)
            last = _cut(conn, sql, rows)
            conn.execute(f"CREATE TABLE events AS SELECT ts, {', '.join(DIMENSIONS)}, amount FROM ({sql}) "
                         f"WHERE keep AND i <= {last} ORDER BY ts")
            count = conn.execute("SELECT count(*) FROM events").fetchone()[0]
            assert count == rows, (count, rows)
        os.replace(scratch, path)
    finally:
        scratch.unlink(missing_ok=True)


def build_sqlite(path: Path, source: Path) -> None:
    """Copy the DuckDB table through a CSV file (DuckDB writes it in parallel; csv.reader feeds executemany)."""
    scratch, text = path.with_suffix(f".{os.getpid()}.tmp"), path.with_suffix(f".{os.getpid()}.csv")
    try:
        with duckdb.connect(str(source), read_only=True) as conn:
            conn.execute("SET enable_progress_bar = false")
            conn.execute(f"COPY (SELECT strftime(ts, '%Y-%m-%d %H:%M:%S'), {', '.join(DIMENSIONS)}, amount "
                         f"FROM events) TO '{text}' (HEADER false)")  # insertion order: by ts
        columns = ", ".join(f"{name} TEXT NOT NULL" for name in DIMENSIONS)
        target = sqlite3.connect(scratch)
        try:
            target.execute("PRAGMA journal_mode = OFF")
            target.execute("PRAGMA synchronous = OFF")
            target.execute(f"CREATE TABLE events (ts TEXT NOT NULL, {columns}, amount REAL NOT NULL)")
            with text.open(newline="") as rows:
                target.executemany(f"INSERT INTO events VALUES ({', '.join('?' * (len(DIMENSIONS) + 2))})",
                                   csv.reader(rows))
            target.commit()
        finally:
            target.close()
        os.replace(scratch, path)
    finally:
        text.unlink(missing_ok=True)
        scratch.unlink(missing_ok=True)


def ensure(rows: int, seed: int) -> tuple[Path, Path, float]:
    """(duckdb file, sqlite file, seconds spent building them now: 0 when both were cached)."""
    DATA.mkdir(parents=True, exist_ok=True)
    duck, lite = DATA / f"events-{rows}-{seed}.duckdb", DATA / f"events-{rows}-{seed}.sqlite"
    built = 0.0
    if not duck.exists():
        print(f"generating {rows:,} rows in DuckDB …", flush=True)
        started = time.perf_counter()
        build_duckdb(duck, rows, seed)
        built += time.perf_counter() - started
        print(f"  {time.perf_counter() - started:.1f} s", flush=True)
    if not lite.exists():
        print(f"copying {rows:,} rows to SQLite …", flush=True)
        started = time.perf_counter()
        build_sqlite(lite, duck)
        built += time.perf_counter() - started
        print(f"  {time.perf_counter() - started:.1f} s", flush=True)
    return duck, lite, built
