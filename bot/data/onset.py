"""When did the change start? The change point of the metric's series, or better, of the top segment's.

A segment that explains most of a change carries its step almost undiluted (Android in Brazil
falls 95 % while the total falls 7 %), so its series locates the onset far more precisely than
the total's. Both are tried; the segment's wins when it is significant and the segment explains
at least half of the change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from bot.data.changepoint import ChangePoint, find_change, seasonal_adjust
from bot.data.rca import Cause
from bot.data.windows import Comparison

DOMINANT_SHARE = 0.5


@dataclass(frozen=True)
class Onset:
    at: dt.datetime
    before: float  # the series' mean before / after, in the metric's units
    after: float
    segment: str | None = None  # the segment whose series shows it; None: the total


@dataclass
class Cells:
    """Every (bucket, leaf) group the query returned, for per-segment series."""

    bucket: list[int] = field(default_factory=list)
    key: list[tuple] = field(default_factory=list)
    num: list[float] = field(default_factory=list)
    den: list[float] = field(default_factory=list)

    def add(self, bucket: int, key: tuple, num: float, den: float) -> None:
        self.bucket.append(bucket)
        self.key.append(key)
        self.num.append(num)
        self.den.append(den)

    def series(self, dims: tuple[str, ...], cause: Cause, buckets: int, ratio: bool) -> np.ndarray:
        conditions = [(dims.index(dim), value) for dim, value in cause.segment.conditions]
        mask = np.array([all(key[i] == value for i, value in conditions) for key in self.key], dtype=bool)
        at = np.asarray(self.bucket, dtype=np.int64)[mask]
        num = np.bincount(at, weights=np.asarray(self.num)[mask], minlength=buckets)
        if not ratio:
            return num
        den = np.bincount(at, weights=np.asarray(self.den)[mask], minlength=buckets)
        return num / np.where(den == 0, np.nan, den)


def change_point(buckets: list[dt.datetime], values: np.ndarray, comparison: Comparison,
                 grain: str) -> tuple[ChangePoint | None, np.ndarray]:
    """The series' best split after dividing out its hour-of-day or day-of-week profile."""
    filled = np.where(np.isnan(values), np.nanmean(values) if np.isfinite(values).any() else 0.0, values)
    baseline = np.array([comparison.baseline.start <= b < comparison.baseline.end for b in buckets])
    if grain == "hour" and baseline.sum() >= 24:
        season = np.array([b.hour for b in buckets])
    elif grain == "day" and baseline.sum() >= 7:
        season = np.array([b.weekday() for b in buckets])
    else:
        season = np.zeros(len(buckets), dtype=int)
    return find_change(seasonal_adjust(filled, season, baseline)), filled


def find_onset(buckets: list[dt.datetime], values: np.ndarray, comparison: Comparison, grain: str,
               direction: float, *, segment: str | None = None) -> tuple[ChangePoint | None, Onset | None]:
    point, filled = change_point(buckets, values, comparison, grain)
    if point is None or not point.significant:
        return point, None
    if direction and np.sign(point.after - point.before) != np.sign(direction):
        return point, None  # the biggest shift goes the other way: not the onset of this change
    return point, Onset(buckets[point.index], float(np.mean(filled[:point.index])),
                        float(np.mean(filled[point.index:])), segment)


def best_onset(buckets: list[dt.datetime], total: np.ndarray, cells: Cells, dims: tuple[str, ...],
               causes: list[Cause], comparison: Comparison, grain: str, change: float, ratio: bool, *,
               material: bool) -> tuple[ChangePoint | None, Onset | None]:
    """The total's change point, and the onset: the dominant segment's when it has one, else the total's.
    A segment's series is only consulted when the total moved for real (`material`, or its own change
    point is significant): a segment that is "most" of a change within noise has no onset to give."""
    point, onset = find_onset(buckets, total, comparison, grain, change)
    top = causes[0] if causes else None
    if top is None or top.kind == "mix" or abs(top.share) < DOMINANT_SHARE or not top.segment.conditions:
        return point, onset
    if not material and onset is None:
        return point, onset
    _, segment_onset = find_onset(buckets, cells.series(dims, top, len(buckets), ratio), comparison, grain,
                                  top.change, segment=str(top.segment))
    return point, segment_onset or onset
