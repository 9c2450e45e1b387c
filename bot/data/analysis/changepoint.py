"""When did the series change? One mean-shift change point, exact, with a significance test.

The method is the exact least-squares single split (what `ruptures.Dynp(model="l2")` finds with one
breakpoint), computed in O(n) with cumulative sums, so no SciPy is needed. Before the split, a
seasonal profile (hour of day for hourly data, day of week for daily data with a full week of
baseline) is divided out, so a Monday dip or the night is not mistaken for the change.

Significance: the best split's two-sample t statistic must exceed a threshold that grows with the
number of splits tried (max of n correlated tests), and the shift must be material (>= 2 % of the
level); otherwise the answer is "no single onset", which is stated rather than guessed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MIN_SEGMENT = 2  # points on each side of a split
MIN_RELATIVE_SHIFT = 0.02


@dataclass(frozen=True)
class ChangePoint:
    index: int  # first point of the new regime
    before: float  # mean level before (seasonally adjusted, relative: 1.0 = the profile)
    after: float
    t: float  # the split's t statistic
    threshold: float

    @property
    def significant(self) -> bool:
        return abs(self.t) >= self.threshold and abs(self.after - self.before) >= MIN_RELATIVE_SHIFT * abs(self.before)


def seasonal_adjust(values: np.ndarray, season: np.ndarray, baseline_mask: np.ndarray) -> np.ndarray:
    """values / the baseline's mean for each season slot (hour or weekday); slots unseen in the baseline stay."""
    adjusted = values.astype(float).copy()
    level = float(np.mean(values[baseline_mask])) if baseline_mask.any() else float(np.mean(values))
    if not baseline_mask.any() or level == 0:
        return adjusted / level if level else adjusted
    for slot in np.unique(season):
        in_slot = season == slot
        reference = values[in_slot & baseline_mask]
        scale = float(np.mean(reference)) if reference.size and np.mean(reference) > 0 else level
        adjusted[in_slot] = values[in_slot] / scale
    return adjusted


def find_change(series: np.ndarray) -> ChangePoint | None:
    """The best single mean-shift split of `series`, or None when it is too short to split."""
    y = np.asarray(series, dtype=float)
    n = y.size
    if n < 2 * MIN_SEGMENT:
        return None
    csum, csum2 = np.concatenate([[0.0], np.cumsum(y)]), np.concatenate([[0.0], np.cumsum(y * y)])
    splits = np.arange(MIN_SEGMENT, n - MIN_SEGMENT + 1)
    left_n, right_n = splits.astype(float), (n - splits).astype(float)
    left_sum, right_sum = csum[splits], csum[n] - csum[splits]
    left_sq, right_sq = csum2[splits], csum2[n] - csum2[splits]
    cost = (left_sq - left_sum ** 2 / left_n) + (right_sq - right_sum ** 2 / right_n)
    best = int(np.argmin(cost))
    k = int(splits[best])
    before, after = float(left_sum[best] / left_n[best]), float(right_sum[best] / right_n[best])
    residual = max(float(cost[best]), 0.0) / max(n - 2, 1)
    noise = math.sqrt(residual) if residual > 0 else 1e-12 * max(abs(before), abs(after), 1.0)
    t = (after - before) / (noise * math.sqrt(1 / left_n[best] + 1 / right_n[best]))
    threshold = 2.0 + math.sqrt(2 * math.log(max(len(splits), 2)))
    return ChangePoint(index=k, before=before, after=after, t=t, threshold=threshold)
