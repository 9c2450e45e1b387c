"""explain_window / explain_slices on every engine and time encoding: the planted cause is found, the
numbers agree across engines, and the onset lands on the planted day."""

from __future__ import annotations

import csv
import datetime as dt
import sqlite3

import duckdb
import pytest

from bot.data.analysis.explain import explain_slices, explain_window
from bot.data.analysis.metrics import Metric
from bot.data.analysis.windows import parse_period
from bot.data.report import to_json, to_markdown
from bot.data.sources.duckdb_source import DuckDBSource
from bot.data.sources.source import QueryLimits
from bot.data.sources.sqlite_source import SQLiteSource
from sim.data import seed_signups

TODAY = dt.date(2026, 11, 21)
DIMS = ("platform", "country", "plan", "channel")
SIGNUPS = Metric("signups", "app", "signups", value="count(*)", time="created_at", filters=("is_test = 0",),
                 dimensions=DIMS)
CONVERSION = Metric("conversion", "app", "visits", numerator="sum(signed_up)", denominator="count(*)",
                    time="visited_at", dimensions=("platform", "country", "channel"))


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    root = tmp_path_factory.mktemp("explain")
    planted = seed_signups(root / "app.db", today=TODAY)
    return root, planted


@pytest.fixture(scope="module")
def sqlite_app(seeded):
    return SQLiteSource("app", seeded[0] / "app.db", QueryLimits())


def _copy_to_duckdb(root, kind: str):
    """The same signups and visits in DuckDB, their time column a TIMESTAMP, epoch seconds or ISO text."""
    path = root / f"app-{kind}.duckdb"
    if path.exists():
        return path
    with duckdb.connect(str(path)) as conn:
        for table, time_column, numbers in (("signups", "created_at", ["is_test"]), ("visits", "visited_at", [])):
            csv_path = root / f"{table}.csv"
            if not csv_path.exists():
                with sqlite3.connect(root / "app.db") as source, csv_path.open("w", newline="") as out:
                    cursor = source.execute(f"SELECT * FROM {table}")
                    writer = csv.writer(out)
                    writer.writerow([d[0] for d in cursor.description])
                    writer.writerows(cursor)
            time_sql = {"timestamp": f"CAST({time_column} AS TIMESTAMP)",
                        "epoch": f"CAST(epoch(CAST({time_column} AS TIMESTAMP)) AS BIGINT)",
                        "text": f"CAST({time_column} AS VARCHAR)"}[kind]
            conn.execute(f"CREATE TABLE {table} AS SELECT * REPLACE ({time_sql} AS {time_column}) "
                         f"FROM read_csv('{csv_path}', all_varchar = true)")
            for column in numbers + (["signed_up"] if table == "visits" else []):
                conn.execute(f"ALTER TABLE {table} ALTER {column} TYPE INTEGER")
    return path


def test_the_planted_segment_and_onset_are_found_in_sqlite(sqlite_app, seeded):
    _, planted = seeded
    e = explain_window(sqlite_app, SIGNUPS, parse_period("", TODAY))
    assert e.change < 0 and e.significant
    top = e.localization.causes[0]
    assert top.segment.conditions == planted.segment and top.share > 0.8
    assert e.onset == dt.datetime(2026, 11, 16) and e.onset_segment == "platform=android & country=BR"
    assert e.freshness is not None and e.freshness.date() == TODAY - dt.timedelta(days=1)
    assert e.rows_current > 3000 and e.rows_baseline > 3000
    assert [r.sql.count("GROUP BY") for r in e.receipts] == [1]  # one scan for the whole analysis


@pytest.mark.parametrize("kind", ["timestamp", "epoch", "text"])
def test_duckdb_gives_the_same_numbers_for_every_time_encoding(sqlite_app, seeded, kind):
    """DuckDB reads with narrow scans (leaves, then the series with the dominant segment's beside it),
    SQLite with one scan: the numbers, the series and the onset must not depend on the plan."""
    duck = DuckDBSource("app", _copy_to_duckdb(seeded[0], kind), QueryLimits(), cache_dir=seeded[0] / "cache")
    total = Metric("signups", "app", "signups", value="count(*)", time="created_at")  # no dimensions
    for metric, period in ((SIGNUPS, "last week"), (SIGNUPS, "yesterday"), (total, ""), (CONVERSION, "")):
        expected = explain_window(sqlite_app, metric, parse_period(period, TODAY))
        got = explain_window(duck, metric, parse_period(period, TODAY))
        assert (got.current, got.baseline, got.rows_current) == \
            (expected.current, expected.baseline, expected.rows_current)
        assert [(c.segment, c.kind, round(c.share, 6)) for c in got.localization.causes] == \
            [(c.segment, c.kind, round(c.share, 6)) for c in expected.localization.causes]
        assert [b for b, _ in got.series] == [b for b, _ in expected.series]
        assert [v for _, v in got.series] == pytest.approx([v for _, v in expected.series])
        assert (got.onset, got.onset_segment, got.freshness) == \
            (expected.onset, expected.onset_segment, expected.freshness)
    assert [r.purpose for r in got.receipts] == [
        "conversion per segment in each window", "conversion per day, and for channel=ads"]
    assert "CASE WHEN" in got.receipts[1].sql  # the dominant segment's series rides along the total's


def test_a_day_is_compared_with_the_same_weekday_in_hour_buckets(sqlite_app, seeded):
    e = explain_window(sqlite_app, SIGNUPS, parse_period("yesterday", TODAY))
    assert e.grain == "hour" and len(e.series) == 8 * 24 and not e.per_day
    assert (e.current, e.baseline) == (e.rows_current, e.rows_baseline)
    assert e.comparison.baseline.start == dt.datetime(2026, 11, 13)
    assert e.onset_segment == "platform=android & country=BR"  # its own series locates the hour
    assert abs(e.onset - seeded[1].onset) <= dt.timedelta(hours=2)


def test_different_window_lengths_are_compared_per_day(sqlite_app):
    e = explain_window(sqlite_app, SIGNUPS, parse_period("this week vs last week", TODAY))
    assert e.per_day and e.comparison.current.days == 5 and e.comparison.baseline.days == 7
    assert e.current == pytest.approx(e.rows_current / 5) and e.baseline == pytest.approx(e.rows_baseline / 7)


def test_a_ratio_metric_separates_rate_from_mix(sqlite_app, seeded):
    _, planted = seeded
    e = explain_window(sqlite_app, CONVERSION, parse_period("", TODAY))
    top = e.localization.causes[0]
    assert top.segment.conditions == planted.conversion_segment and top.kind == "rate"
    assert top.actual < top.expected * 0.8
    assert not e.per_day  # a rate is compared as is, never per day


def test_two_slices_without_time(sqlite_app):
    e = explain_slices(sqlite_app, SIGNUPS, "created_at < '2026-11-14'", "created_at >= '2026-11-14'")
    assert e.onset is None and e.series == []
    assert "FILTER(WHERE created_at < '2026-11-14')" in e.receipts[0].sql
    assert e.rows_baseline > e.rows_current > 0


def test_the_report_and_json_carry_the_receipts(sqlite_app):
    e = explain_window(sqlite_app, SIGNUPS, parse_period("", TODAY))
    text = to_markdown(e)
    assert text.startswith("**signups** fell −") and "The SQL is in the attached file" in text
    data = to_json(e)
    assert data["root_causes"][0]["segment"] == {"platform": "android", "country": "BR"}
    assert data["sql"][0]["sql"].startswith("SELECT substr(\"created_at\", 1, 10) AS bucket")
    assert data["onset"] and data["freshness"].startswith("2026-11-20")


def test_stale_and_thin_data_earn_caveats(sqlite_app):
    e = explain_window(sqlite_app, SIGNUPS.__class__(**{**SIGNUPS.__dict__, "filters": ("is_test = 1",)}),
                       parse_period("", TODAY))
    assert any(c.startswith("Thin data:") for c in e.caveats)
    later = explain_window(sqlite_app, SIGNUPS, parse_period("", TODAY + dt.timedelta(days=3)))
    assert any("The data ends at 2026-11-20" in c for c in later.caveats)


def test_an_empty_current_window_is_said_first_and_no_segment_claims_the_onset(sqlite_app):
    e = explain_window(sqlite_app, SIGNUPS, parse_period("", TODAY + dt.timedelta(days=10)))
    assert e.rows_current == 0 and e.rows_baseline > 0 and e.broad
    assert e.warning and "no rows at all" in e.warning and "2026-11-20" in e.warning
    assert e.caveats == [] and e.onset_segment is None
    assert to_markdown(e).splitlines()[1] == f"**⚠ {e.warning}**"
    assert to_json(e)["warning"] == e.warning
