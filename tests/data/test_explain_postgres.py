"""explain_window on a real PostgreSQL (timestamptz, read as the SELECT-only role) gives the same numbers
as on SQLite, and its one query runs inside the read-only layers."""

from __future__ import annotations

import datetime as dt
import sqlite3

from bot.data.analysis.explain import explain_window
from bot.data.analysis.metrics import Metric
from bot.data.analysis.windows import parse_period
from bot.data.sources.source import QueryLimits
from bot.data.sources.sqlite_source import SQLiteSource
from sim.data import seed_signups

from .conftest import postgres_source_for

TODAY = dt.date(2026, 11, 21)
SIGNUPS = Metric("signups", "app", "signups", value="count(*)", time="created_at", filters=("is_test = 0",),
                 dimensions=("platform", "country", "plan", "channel"))


def test_postgres_matches_sqlite_and_finds_the_planted_segment(postgres, tmp_path):
    planted = seed_signups(tmp_path / "app.db", today=TODAY)
    rows = sqlite3.connect(tmp_path / "app.db").execute("SELECT * FROM signups").fetchall()
    with postgres.admin() as conn:
        conn.execute("DROP DATABASE IF EXISTS analytics")
        conn.execute("CREATE DATABASE analytics")
    with postgres.admin("analytics") as conn:
        conn.execute("CREATE TABLE signups (created_at timestamptz, platform text, country text, plan text, "
                     "channel text, is_test integer)")
        with conn.cursor().copy("COPY signups FROM STDIN") as copy:
            for row in rows:
                copy.write_row((dt.datetime.fromisoformat(row[0]).replace(tzinfo=dt.UTC), *row[1:]))
        conn.execute("GRANT SELECT ON signups TO reader")
    source = postgres_source_for(postgres, url=postgres.url("reader", "analytics"))
    sqlite = SQLiteSource("app", tmp_path / "app.db", QueryLimits())
    for phrase in ("", "yesterday"):
        expected = explain_window(sqlite, SIGNUPS, parse_period(phrase, TODAY))
        got = explain_window(source, SIGNUPS, parse_period(phrase, TODAY), timeout=20)
        assert (got.current, got.baseline, got.rows_current, got.grain) == \
            (expected.current, expected.baseline, expected.rows_current, expected.grain)
        assert got.onset == expected.onset and got.freshness == expected.freshness
        assert [c.segment for c in got.localization.causes] == [c.segment for c in expected.localization.causes]
    assert got.receipts[0].sql.startswith("SELECT date_trunc('hour', \"created_at\") AS bucket")
    top = explain_window(source, SIGNUPS, parse_period("", TODAY)).localization.causes[0]
    assert top.segment.conditions == planted.segment
