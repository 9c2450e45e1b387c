"""How long does explain_metric take on a big event table, compared with one plain GROUP BY of it?

A 10,000,000-row, 14-day event table with 5 dimensions (platform 3, country 20, plan 4, channel 8,
app_version 10; bench/_rca_data.py), the same rows in SQLite (ts as ISO text) and in DuckDB (ts a
TIMESTAMP), with one planted root cause (android & 7.4 down 70 % from Feb 26). On each engine, in
turn and through the same `DataSource.query` path:
- group-by: `SELECT <5 dimensions>, count(*) FROM events GROUP BY 1, 2, 3, 4, 5`, fetched in full;
- explain: `explain_window` for count(*) over the last 7 days vs the 7 before, which are exactly the
  table's 14 days, with the query plan the engine gets (bot/data/analysis/scan.py): on SQLite one
  `GROUP BY day, dimensions` scan; on DuckDB `GROUP BY dimensions` with each window filtered, then
  `GROUP BY day` with the dominant segment's series beside the total's; then the change point and
  root-cause search in numpy. Its SQL time is the sum of its receipts (queries, fetched); the rest is
  the connection, the one-row probe of the time column, and Python.
Each is run once to warm the page cache, then `--repeats` times, alternating. Target: explain's
median under 1.5x the group-by's on each engine. The CPU time ratio (this process, all threads) is
printed too: on a shared machine it moves less than wall time.

    .venv/bin/python -m bench.rca_speed [--rows 10000000] [--repeats 3] [--engines sqlite,duckdb]

The databases are generated once and cached under bench/.data/ (keyed by rows and seed).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._rca_data import CAUSE, DIMENSIONS, ONSET, TODAY, ensure
from bot.data.analysis.explain import MAX_GROUPS, explain_window
from bot.data.analysis.metrics import Metric
from bot.data.analysis.windows import parse_period
from bot.data.sources.duckdb_source import DuckDBSource
from bot.data.sources.source import DataSource, QueryLimits
from bot.data.sources.sqlite_source import SQLiteSource

TIMEOUT = 600.0
METRIC = Metric(name="events", source="events", table="events", value="count(*)", time="ts",
                dimensions=tuple(DIMENSIONS))
GROUP_BY = f"SELECT {', '.join(DIMENSIONS)}, count(*) FROM events GROUP BY {', '.join(map(str, range(1, 6)))}"


def group_by(source: DataSource) -> tuple[float, float, int]:
    """(seconds, CPU seconds of this process, rows)."""
    started, cpu = time.perf_counter(), time.process_time()
    result = source.query(GROUP_BY, max_rows=MAX_GROUPS, timeout=TIMEOUT)
    assert not result.truncated
    return time.perf_counter() - started, time.process_time() - cpu, len(result.rows)


def explain(source: DataSource) -> tuple[float, float, float, int, str]:
    """(seconds, CPU seconds, of which its receipted queries, the rows they return, what it found)."""
    comparison = parse_period("", TODAY)
    assert comparison is not None
    started, cpu = time.perf_counter(), time.process_time()
    found = explain_window(source, METRIC, comparison, timeout=TIMEOUT)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    top = found.localization.causes[0] if found.localization.causes else None
    summary = (f"{found.rows_baseline:,} -> {found.rows_current:,} rows, onset "
               f"{f'{found.onset:%Y-%m-%d}' if found.onset else 'none'}, top cause "
               f"{f'{top.segment} ({top.share:.0%})' if top else 'none'}")
    return seconds, cpu, sum(r.ms for r in found.receipts) / 1000, sum(r.rows for r in found.receipts), summary


def measure(source: DataSource, repeats: int) -> dict[str, list[float]]:
    _, _, leaves = group_by(source)  # warm-up: the file into the page cache, and the row count
    _, _, _, groups, found = explain(source)
    print(f"{source.engine}: group-by returns {leaves:,} leaves; explain reads {groups:,} rows back; "
          f"found {found}", flush=True)
    wanted = (str(ONSET.date()), *(f"{name}={value}" for name, value in CAUSE.items()))
    if not all(part in found for part in wanted):
        print(f"{source.engine}: WARNING: the planted cause ({' & '.join(wanted[1:])} from {wanted[0]}) "
              "was not the top finding", flush=True)
    figures: dict[str, list[float]] = {"scan": [], "scan_cpu": [], "explain": [], "explain_cpu": [], "query": []}
    for i in range(repeats):
        scan, scan_cpu, _ = group_by(source)
        run, run_cpu, query, _, _ = explain(source)
        for name, value in zip(figures, (scan, scan_cpu, run, run_cpu, query), strict=True):
            figures[name].append(value)
        print(f"{source.engine} run {i + 1}/{repeats}: group-by {scan:.2f} s (cpu {scan_cpu:.2f}), "
              f"explain {run:.2f} s (cpu {run_cpu:.2f}; its queries {query:.2f} s)", flush=True)
    return figures


def main(rows: int, repeats: int, seed: int, engines: list[str]) -> None:
    duck_path, lite_path, built = ensure(rows, seed)
    load_before = os.getloadavg()[0]
    limits = QueryLimits(timeout=TIMEOUT, max_rows=MAX_GROUPS)
    sources = {"sqlite": SQLiteSource("events", lite_path, limits), "duckdb": DuckDBSource("events", duck_path, limits)}
    figures = {engine: measure(sources[engine], repeats) for engine in engines}
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load = os.getloadavg()[0]

    def median(values: list[float]) -> float:
        return statistics.median(values)

    print(f"rows={rows:,} seed={seed} repeats={repeats} data built in {built:.1f} s"
          f"{' (cached)' if not built else ''}; peak RSS {peak_mib:,.0f} MiB; "
          f"load average (1 min) before {load_before:.1f}, after {load:.1f} on {os.cpu_count()} CPUs")
    for engine, f in figures.items():
        python = [run - query for run, query in zip(f["explain"], f["query"], strict=True)]
        print(f"{engine}: explain {median(f['explain']):.2f} s (min {min(f['explain']):.2f}; its queries "
              f"{median(f['query']):.2f} s, the rest {median(python):.2f} s), group-by {median(f['scan']):.2f} s "
              f"(min {min(f['scan']):.2f}), ratio {median(f['explain']) / median(f['scan']):.2f}x (target < 1.5x; "
              f"CPU time ratio {median(f['explain_cpu']) / median(f['scan_cpu']):.2f}x)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--engines", default="sqlite,duckdb", help="comma-separated: sqlite, duckdb")
    options = parser.parse_args()
    chosen = [e.strip() for e in options.engines.split(",") if e.strip()]
    if not chosen or set(chosen) - {"sqlite", "duckdb"}:
        parser.error("--engines takes sqlite and/or duckdb")
    main(options.rows, options.repeats, options.seed, chosen)
