"""When did the change start? The change point of the metric's series, or better, of the top segment's.

A segment that explains most of a change carries its step almost undiluted (Android in Brazil
falls 95 % while the total falls 7 %), so its series locates the onset far more precisely than
the total's. Both are tried; the segment's wins when it is significant and the segment explains
at least half of the change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from bot.data.analysis.changepoint import ChangePoint, find_change, seasonal_adjust
from bot.data.analysis.rca import Cause
from bot.data.analysis.windows import Comparison

DOMINANT_SHARE = 0.5


@dataclass(frozen=True)
class Onset:
    at: dt.datetime
    before: float  # the series' mean before / after, in the metric's units
    after: float
    segment: str | None = None  # the segment whose series shows it; None: the total


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


def dominant(causes: list[Cause]) -> Cause | None:
    """The cause whose own series may locate the onset: one segment (not a mix) with most of the change."""
    top = causes[0] if causes else None
    if top is None or top.kind == "mix" or abs(top.share) < DOMINANT_SHARE or not top.segment.conditions:
        return None
    return top


def best_onset(buckets: list[dt.datetime], total: np.ndarray, top: Cause | None, top_series: np.ndarray | None,
               comparison: Comparison, grain: str, change: float, *,
               material: bool) -> tuple[ChangePoint | None, Onset | None]:
    """The total's change point, and the onset: the dominant segment's (`top`, see `dominant`) when it
    has one, else the total's. The segment's series is only consulted when the total moved for real
    (`material`, or its own change point is significant): a segment that is "most" of a change within
    noise has no onset to give."""
    point, onset = find_onset(buckets, total, comparison, grain, change)
    if top is None or top_series is None or (not material and onset is None):
        return point, onset
    _, segment_onset = find_onset(buckets, top_series, comparison, grain, top.change, segment=str(top.segment))
    return point, segment_onset or onset
