"""`explain_metric`: how much a metric moved, when, and which segments drove it, computed, not guessed.

bot/data/analysis/scan.py reads the metric per leaf (dimension values) and window, and per time
bucket, with the query plan that suits the engine (or one query per leaf for two slices). From that,
in numpy: the top-line (per day when the windows differ in length, for additive metrics), the series
and its change point (the onset), and the root-cause localization over single dimensions and
combinations of up to three (bot/data/analysis/rca.py). Commits around the onset are added by
bot/data/why.py, which needs the repos.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from bot.data.analysis import metric_sql as msql
from bot.data.analysis.changepoint import ChangePoint
from bot.data.analysis.metrics import Metric
from bot.data.analysis.onset import best_onset, dominant
from bot.data.analysis.rca import Localization, localize_additive, localize_ratio
from bot.data.analysis.scan import MAX_GROUPS, Aggregates, LeafTable, Receipt, leaf_table, window_scan
from bot.data.analysis.windows import Comparison
from bot.data.commits import Candidate
from bot.data.sources.source import DataSource
from bot.errors import UserError

THIN_ROWS = 200  # fewer rows than this in a window earns a caveat


@dataclass
class Explanation:
    metric: Metric
    source: str
    engine: str
    description: str  # what was compared, in words
    current_label: str
    baseline_label: str
    current: float  # the metric in the current window (per day for additive metrics over time)
    baseline: float
    per_day: bool
    rows_current: int
    rows_baseline: int
    localization: Localization
    grain: str | None = None
    series: list[tuple[dt.datetime, float | None]] = field(default_factory=list)
    comparison: Comparison | None = None
    change_point: ChangePoint | None = None
    onset: dt.datetime | None = None
    onset_segment: str | None = None  # the segment whose own series located the onset (None: the total's)
    level_before: float | None = None  # series mean before / after the onset, in the metric's units
    level_after: float | None = None
    freshness: dt.datetime | None = None
    noise: float | None = None  # the relative change ordinary variation produces (1 sd), from the baseline series
    receipts: list[Receipt] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    warning: str | None = None  # read this before the numbers (the current window is empty)
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def change(self) -> float:
        return self.current - self.baseline

    @property
    def relative(self) -> float | None:
        return self.change / abs(self.baseline) if self.baseline else None

    @property
    def significant(self) -> bool:
        """Is the change real: a significant onset in its direction, or bigger than 2.5 sd of ordinary
        bucket-to-bucket variation (which includes weekly patterns, so it is conservative)?"""
        if self.onset is not None:
            return True
        if self.relative is None or not self.noise:
            return self.change != 0
        return abs(self.relative) >= 2.5 * self.noise

    @property
    def broad(self) -> bool:
        """Did every segment found move by about the same proportion (so none stands out)?"""
        shifts = [c for c in self.localization.causes if c.kind in ("shift", "rate") and c.expected]
        overall = self.relative
        if len(shifts) < 2 or not overall:
            return False
        ratios = [(c.actual / c.expected - 1) / overall for c in shifts]
        return all(0.6 <= r <= 1.5 for r in ratios) and sum(c.share for c in shifts) > 0.8


def explain_window(source: DataSource, metric: Metric, comparison: Comparison, *,
                   timeout: float | None = None) -> Explanation:
    """Compare two time windows of a catalog metric."""
    if not metric.time:
        raise UserError(f"`{metric.name}` has no time column, so it can only be compared by slices "
                        "(`chatops metrics explain --baseline-where ... --current-where ...`).", kind="data")
    with source.session():  # the probe, the scans and a segment's series on one connection
        return _explain_window(source, metric, comparison, timeout)


def _explain_window(source: DataSource, metric: Metric, comparison: Comparison, timeout: float | None) -> Explanation:
    time = msql.probe_time(source, metric)
    grain = "day" if time.kind == "date" else metric.grain or ("hour" if comparison.current.days <= 2 else "day")
    scan = window_scan(source, metric, time, grain, comparison, timeout)
    explanation = _compare(source, metric, scan.leaves(), comparison.description,
                           comparison.current.label(), comparison.baseline.label(),
                           scale=comparison.current.days / comparison.baseline.days, per_day=True,
                           days=(comparison.current.days, comparison.baseline.days))
    top = None if explanation.broad else dominant(explanation.localization.causes)  # broad: no segment led it
    series = scan.series(top.segment if top else None)
    buckets = scan.buckets
    explanation.grain, explanation.comparison, explanation.receipts = grain, comparison, scan.receipts
    explanation.freshness = series.latest
    values = _per_bucket(series.num, series.den, metric.is_ratio)
    explanation.series = [(b, None if np.isnan(v) else float(v)) for b, v in zip(buckets, values, strict=True)]
    explanation.noise = _noise(buckets, values, comparison)
    top_values = _per_bucket(series.focus_num, series.focus_den, metric.is_ratio) \
        if series.focus_num is not None and series.focus_den is not None else None
    explanation.change_point, onset = best_onset(buckets, values, top, top_values, comparison, grain,
                                                 explanation.change, material=explanation.significant)
    if onset is not None:
        explanation.onset, explanation.onset_segment = onset.at, onset.segment
        explanation.level_before, explanation.level_after = onset.before, onset.after
    _caveats(explanation, comparison, buckets[1] - buckets[0] if len(buckets) > 1 else dt.timedelta(days=1))
    return explanation


def explain_slices(source: DataSource, metric: Metric, baseline_where: str, current_where: str, *,
                   timeout: float | None = None) -> Explanation:
    """Compare two arbitrary slices of the same table (no time needed)."""
    aggregates, dims = Aggregates(metric, source.dialect), len(metric.dimensions)
    sql = msql.slices_sql(metric, baseline_where, current_where, aggregates.distinct, source.dialect, MAX_GROUPS + 1)
    result = source.query(sql, max_rows=MAX_GROUPS, timeout=timeout)
    if result.truncated:
        raise UserError(f"more than {MAX_GROUPS:,} segments; drop a high-cardinality dimension.", kind="data")
    leaves = leaf_table(metric.dimensions, [row[:dims] for row in result.rows],
                        aggregates.both_parts(result.rows, dims))
    explanation = _compare(source, metric, leaves, f"`{current_where}` vs `{baseline_where}`",
                           current_where, baseline_where, scale=1.0, per_day=False, days=(1.0, 1.0))
    explanation.receipts = [Receipt(f"{metric.name} per segment in both slices", result.sql, len(result.rows),
                                    result.ms)]
    if explanation.rows_current < THIN_ROWS or explanation.rows_baseline < THIN_ROWS:
        explanation.caveats.append(_thin(explanation))
    return explanation


def _compare(source: DataSource, metric: Metric, table: LeafTable, description: str, current_label: str,
             baseline_label: str, *, scale: float, per_day: bool, days: tuple[float, float]) -> Explanation:
    num_b, den_b, n_b, num_c, den_c, n_c = (table.values[:, i] for i in range(6))
    leaves = table.leaves if metric.dimensions else None
    if metric.is_ratio:
        current = _safe_ratio(num_c.sum(), den_c.sum())
        baseline = _safe_ratio(num_b.sum(), den_b.sum())
        localization = localize_ratio(leaves, num_c, den_c, num_b, den_b) if leaves else \
            Localization([], current - baseline, 0.0, 0.0)
        per_day = False
    else:
        per_day = per_day and days[0] != days[1]
        current = float(num_c.sum()) / (days[0] if per_day else 1)
        baseline = float(num_b.sum()) / (days[1] if per_day else 1)
        localization = localize_additive(leaves, num_c, num_b * scale) if leaves else \
            Localization([], float(num_c.sum() - num_b.sum() * scale), 0.0, 0.0)
    return Explanation(metric=metric, source=source.name, engine=source.engine, description=description,
                       current_label=current_label, baseline_label=baseline_label, current=current,
                       baseline=baseline, per_day=per_day, rows_current=int(n_c.sum()),
                       rows_baseline=int(n_b.sum()), localization=localization)


def _per_bucket(num: np.ndarray, den: np.ndarray, ratio: bool) -> np.ndarray:
    return num / np.where(den == 0, np.nan, den) if ratio else num


def _noise(buckets: list[dt.datetime], values: np.ndarray, comparison: Comparison) -> float | None:
    """1 sd of the relative change between the windows if nothing but bucket-to-bucket variation moved it."""
    base = np.array([v for b, v in zip(buckets, values, strict=True)
                     if comparison.baseline.start <= b < comparison.baseline.end and np.isfinite(v)])
    current = sum(1 for b in buckets if comparison.current.start <= b < comparison.current.end)
    if base.size < 3 or not current or not base.mean():
        return None
    spread = float(base.std(ddof=1) / abs(base.mean()))
    return spread * float(np.sqrt(1 / current + 1 / base.size))


def _caveats(explanation: Explanation, comparison: Comparison, step: dt.timedelta) -> None:
    fresh = explanation.freshness
    if explanation.rows_current == 0 and fresh is not None:  # the headline would read "fell 100 %"
        explanation.warning = (
            f"There are no rows at all in {explanation.current_label}; the last one is from "
            f"{fresh:%Y-%m-%d %H:%M} UTC. Either that data isn't loaded yet, or {explanation.metric.name} "
            "stopped entirely.")
        return
    if explanation.rows_current < THIN_ROWS or explanation.rows_baseline < THIN_ROWS:
        explanation.caveats.append(_thin(explanation))
    if fresh is None:
        explanation.caveats.append("No rows at all in either window.")
    elif fresh < comparison.current.end - step:
        explanation.caveats.append(
            f"The data ends at {fresh:%Y-%m-%d %H:%M} UTC, before the current window does "
            f"({comparison.current.end:%Y-%m-%d}): part of the change may be data not loaded yet.")


def _thin(explanation: Explanation) -> str:
    return (f"Thin data: {explanation.rows_current:,} rows in the current window and "
            f"{explanation.rows_baseline:,} in the baseline, so small segments can swing by chance.")


def _safe_ratio(numerator: float, denominator: float) -> float:
    return float(numerator) / float(denominator) if denominator else 0.0
