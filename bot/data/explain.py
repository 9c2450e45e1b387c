"""`explain_metric`: how much a metric moved, when, and which segments drove it, computed, not guessed.

One query returns the metric per (time bucket, dimension values) over both windows (or per
dimension values for two slices). From it, in Python: the top-line (per day when the windows differ
in length, for additive metrics), the series and its change point (the onset), and the root-cause
localization over single dimensions and combinations of up to three (bot/data/rca.py).
Commits around the onset are added by bot/data/why.py, which needs the repos.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from bot.data import metric_sql as msql
from bot.data.changepoint import ChangePoint
from bot.data.commits import Candidate
from bot.data.metrics import Metric
from bot.data.onset import Cells, best_onset
from bot.data.rca import Leaves, Localization, localize_additive, localize_ratio
from bot.data.source import DataSource
from bot.data.windows import Comparison
from bot.errors import UserError

MAX_GROUPS = 2_000_000  # (bucket x segment) rows one analysis may read back
THIN_ROWS = 200  # fewer rows than this in a window earns a caveat


@dataclass(frozen=True)
class Receipt:
    purpose: str
    sql: str
    rows: int
    ms: float


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


@dataclass
class _Groups:
    """Per leaf (dimension values): numerator, denominator and rows in the baseline and current windows."""

    index: dict[tuple, int] = field(default_factory=dict)
    values: list[list[float]] = field(default_factory=list)  # num_b, den_b, n_b, num_c, den_c, n_c

    def add(self, key: tuple, offset: int, num: float, den: float, rows: int) -> None:
        position = self.index.setdefault(key, len(self.index))
        if position == len(self.values):
            self.values.append([0.0] * 6)
        row = self.values[position]
        row[offset] += num
        row[offset + 1] += den
        row[offset + 2] += rows

    def sorted(self) -> tuple[list[tuple], np.ndarray]:
        """Leaf keys in a fixed order (the engine's GROUP BY order is not), and their values."""
        keys = sorted(self.index, key=lambda key: tuple(map(str, key)))
        values = np.array(self.values, dtype=float).reshape(len(self.values), 6)
        return keys, values[[self.index[key] for key in keys]] if keys else values


def explain_window(source: DataSource, metric: Metric, comparison: Comparison, *,
                   timeout: float | None = None) -> Explanation:
    """Compare two time windows of a catalog metric."""
    if not metric.time:
        raise UserError(f"`{metric.name}` has no time column, so it can only be compared by slices "
                        "(`chatops metrics explain --baseline-where ... --current-where ...`).", kind="data")
    receipts: list[Receipt] = []
    time = msql.probe_time(source, metric)
    grain = metric.grain or ("hour" if comparison.current.days <= 2 else "day")
    if time.kind == "date":
        grain = "day"
    span = comparison.span
    sql = msql.series_and_leaves_sql(metric, time, grain, span.start, span.end, source.dialect, MAX_GROUPS + 1)
    result = source.query(sql, max_rows=MAX_GROUPS, timeout=timeout)
    receipts.append(Receipt(f"{metric.name} per {grain} and segment, {span.start:%Y-%m-%d} to {span.end:%Y-%m-%d}",
                            result.sql, len(result.rows), result.ms))
    if result.truncated:
        raise UserError(f"`{metric.name}` has more than {MAX_GROUPS:,} (time, segment) groups in this span; "
                        "drop a high-cardinality dimension or shorten the window.", kind="data")
    dims = len(metric.dimensions)
    step = dt.timedelta(hours=1) if grain == "hour" else dt.timedelta(days=1)
    buckets = [span.start + i * step for i in range(int((span.end - span.start) / step))]
    position = {b: i for i, b in enumerate(buckets)}
    series_num, series_den = np.zeros(len(buckets)), np.zeros(len(buckets))
    groups, cells, latest = _Groups(), Cells(), None
    for row in result.rows:
        start = msql.bucket_start(row[0], time, grain)
        if start is None or start not in position:
            continue
        num, den, count, newest = float(row[dims + 1] or 0), float(row[dims + 2] or 0), int(row[dims + 3]), row[-1]
        series_num[position[start]] += num
        series_den[position[start]] += den
        moment = msql.moment_of(newest, time)
        latest = moment if latest is None or (moment and moment > latest) else latest
        key = tuple(msql.label(v) for v in row[1:dims + 1])
        cells.add(position[start], key, num, den)
        if comparison.current.start <= start < comparison.current.end:
            groups.add(key, 3, num, den, count)
        elif comparison.baseline.start <= start < comparison.baseline.end:
            groups.add(key, 0, num, den, count)
    explanation = _compare(source, metric, groups, comparison.description,
                           comparison.current.label(), comparison.baseline.label(),
                           scale=comparison.current.days / comparison.baseline.days, per_day=True,
                           days=(comparison.current.days, comparison.baseline.days))
    explanation.grain, explanation.comparison, explanation.receipts = grain, comparison, receipts
    explanation.freshness = latest
    values = series_num / np.where(series_den == 0, np.nan, series_den) if metric.is_ratio else series_num
    explanation.series = [(b, None if np.isnan(v) else float(v)) for b, v in zip(buckets, values, strict=True)]
    explanation.noise = _noise(buckets, values, comparison)
    explanation.change_point, onset = best_onset(buckets, values, cells, metric.dimensions,
                                                 explanation.localization.causes, comparison, grain,
                                                 explanation.change, metric.is_ratio,
                                                 material=explanation.significant)
    if onset is not None:
        explanation.onset, explanation.onset_segment = onset.at, onset.segment
        explanation.level_before, explanation.level_after = onset.before, onset.after
    _caveats(explanation, comparison, step)
    return explanation


def explain_slices(source: DataSource, metric: Metric, baseline_where: str, current_where: str, *,
                   timeout: float | None = None) -> Explanation:
    """Compare two arbitrary slices of the same table (no time needed)."""
    sql = msql.slices_sql(metric, baseline_where, current_where, source.dialect, MAX_GROUPS + 1)
    result = source.query(sql, max_rows=MAX_GROUPS, timeout=timeout)
    if result.truncated:
        raise UserError(f"more than {MAX_GROUPS:,} segments; drop a high-cardinality dimension.", kind="data")
    dims = len(metric.dimensions)
    groups = _Groups()
    for row in result.rows:
        key = tuple(msql.label(v) for v in row[:dims])
        b_num, b_den, b_n, c_num, c_den, c_n = (float(v or 0) for v in row[dims:dims + 6])
        groups.add(key, 0, b_num, b_den, int(b_n))
        groups.add(key, 3, c_num, c_den, int(c_n))
    explanation = _compare(source, metric, groups, f"`{current_where}` vs `{baseline_where}`",
                           current_where, baseline_where, scale=1.0, per_day=False, days=(1.0, 1.0))
    explanation.receipts = [Receipt(f"{metric.name} per segment in both slices", result.sql, len(result.rows),
                                    result.ms)]
    if explanation.rows_current < THIN_ROWS or explanation.rows_baseline < THIN_ROWS:
        explanation.caveats.append(_thin(explanation))
    return explanation


def _compare(source: DataSource, metric: Metric, groups: _Groups, description: str, current_label: str,
             baseline_label: str, *, scale: float, per_day: bool, days: tuple[float, float]) -> Explanation:
    keys, values = groups.sorted()
    num_b, den_b, n_b, num_c, den_c, n_c = (values[:, i] for i in range(6))
    leaves = Leaves.from_rows(metric.dimensions, keys) if metric.dimensions else None
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
    if explanation.rows_current < THIN_ROWS or explanation.rows_baseline < THIN_ROWS:
        explanation.caveats.append(_thin(explanation))
    fresh = explanation.freshness
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
