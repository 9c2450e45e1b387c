"""Root-cause localization: which segments explain why a multi-dimensional metric moved.

A *leaf* is one combination of dimension values (platform=android, country=BR, plan=pro, ...); a
*segment* is a conjunction of 1 to `max_depth` conditions. Given each leaf's actual and expected
value, find the few segments that explain most of the change in the total.

Method: greedy ripple-effect search with a noise-calibrated stop, then backward elimination.
- Ripple effect (Squeeze, ISSRE 2019; HotSpot): when a segment is a root cause, all its leaves move by
  the same ratio. A candidate S is scored by its *gain*: how much the total absolute error
  sum|actual - expected| falls when S's leaves' expectations are scaled by actual_S / expected_S. The
  exact root cause beats its parent (which scales healthy leaves too and only half-fixes the cause) and
  its children (which fix only part of it). A segment whose expectation is 0 is "replaced by its actual".
- Every segment of every cuboid (C(k,1)+...+C(k,max_depth) dimension combinations) is scored at once:
  one integer key per leaf and cuboid, then np.bincount for the sums, so 100k leaves x 5 dims take
  milliseconds per step. The best segment is absorbed into the expectation and the search repeats,
  like RiskLoc's and Adtributor's recursion, until no candidate is significant or `max_causes` is hit.
  Each extra condition must earn 3 % more gain (Squeeze's succinctness, in a gentler form).
- Significance, not a fixed threshold: the relative noise sigma is estimated robustly (mass-weighted
  MAD of actual/expected - 1) over the leaves not yet explained, and a candidate must gain more than
  z * sigma * sqrt(sum expected^2 over its leaves), the standard deviation of its total under noise,
  where z = sqrt(2 ln C) is the expected maximum of C Gaussian scores (C = number of candidate
  segments), a Bonferroni-like correction for searching ~10^5 segments. This is what keeps a single
  large noisy leaf, which "explains" itself perfectly, from being reported as a 3-condition cause. A
  cause must also explain at least MIN_SHARE of the total change (materiality, like RiskLoc's 2 %).
- Backward elimination: after the greedy pass, causes whose removal costs less than their own
  threshold are dropped (e.g. a parent taken first whose children were then taken separately).
Tried and dropped: picking the maximum gain first and only then testing it (a big insignificant
candidate blocks a smaller real one); a fixed gain threshold (fails at either 0 % or 20 % noise);
ranking by z-score instead of gain (favours tiny, perfectly consistent segments over material ones);
unweighted noise (over-estimates sigma where a few big leaves dominate the total).

Additive metrics (`localize_additive`): causes have kind "shift"; expected/actual are the segment's
totals; change = actual - expected (for nested causes: the part not already explained by an
earlier, larger cause); share = change / total change.

Ratio metrics (`localize_ratio`, e.g. conversions / sessions). The change of the overall rate R is
split exactly, with no interaction term, into a rate effect at current mix plus a mix effect at
baseline rates (the two-factor "shift-share" form of the Kitagawa rate/mix decomposition):
    R1 - R0 = sum_i w1_i (r1_i - r0_i)  +  sum_i (w1_i - w0_i) (r0_i - R0)
with w = a leaf's share of the denominator and r its rate. Leaves new in the current window take
r0 = r1 (their whole effect is mix), leaves with no denominator take the overall rate.
- "rate" causes: the additive search on numerators, expected = baseline rate x current denominator;
  change = the segment's rate effect sum w1 (r1 - r0); expected/actual = its rates before/after.
- "mix" causes: the additive search on denominators, expected = baseline denominator x D1/D0, with the
  unexplained leaves rescaled after each step so the total is conserved (one segment gaining share is
  not reported as every other segment losing it); change = the segment's mix effect
  sum (w1 - w0)(r0 - R0); expected/actual = its share of the denominator before/after (a mix cause's
  rate does not move, its share does). Mix causes below MIN_SHARE of the rate change are dropped.
Shares are change / (R1 - R0). `noise` is z * sigma * sqrt(sum expected^2) over all leaves: how far
noise alone could move the total (for ratios: the rate, from the numerator search).
Non-finite inputs count as 0 (SQL SUM semantics); no output is ever NaN.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

MIN_SHARE = 0.02  # a cause must explain at least 2 % of the change
DEPTH_DISCOUNT = 0.97  # each extra condition must earn 3 % more gain to be preferred
MAD_TO_SIGMA = 1.4826  # the MAD of a normal distribution times this is its standard deviation
SPREAD_EXPONENT = -0.125  # null gain at a 1e-6 tail, relative to one leaf's: n_eff ** this or lower


@dataclass(frozen=True, eq=False)
class Leaves:
    """The leaf combinations: codes[i, j] indexes values[j], the labels of dimension dims[j]."""

    dims: Sequence[str]
    codes: np.ndarray
    values: Sequence[np.ndarray]

    def __post_init__(self) -> None:
        codes = np.asarray(self.codes)
        if codes.ndim != 2 or codes.shape[1] != len(self.dims) or len(self.values) != len(self.dims):
            raise ValueError(f"codes must have shape (n, {len(self.dims)}) and one value list per dimension")
        for j, labels in enumerate(self.values):
            if codes.shape[0] and (codes[:, j].min() < 0 or codes[:, j].max() >= len(labels)):
                raise ValueError(f"codes of dimension {self.dims[j]!r} fall outside its {len(labels)} values")
        object.__setattr__(self, "codes", codes.astype(np.int64, copy=False))

    @classmethod
    def from_rows(cls, dims: Sequence[str], rows: Iterable[Sequence[Hashable]]) -> Leaves:
        """Encode rows of labels, one per leaf in the order given; labels may be any hashable."""
        indexes: list[dict[Hashable, int]] = [{} for _ in dims]
        codes = [[index.setdefault(label, len(index)) for index, label in zip(indexes, row, strict=True)]
                 for row in rows]
        array = np.array(codes, dtype=np.int64).reshape(len(codes), len(dims))
        values = [np.array(list(index), dtype=object) for index in indexes]
        return cls(dims=list(dims), codes=array, values=values)

    def __len__(self) -> int:
        return self.codes.shape[0]


@dataclass(frozen=True)
class Segment:
    conditions: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        return " & ".join(f"{dim}={value}" for dim, value in self.conditions)


@dataclass(frozen=True)
class Cause:
    segment: Segment
    kind: str  # "shift", "rate" or "mix"
    share: float
    expected: float
    actual: float
    change: float


@dataclass(frozen=True)
class Localization:
    causes: list[Cause]
    total_change: float
    explained: float
    noise: float


@dataclass(frozen=True, eq=False)
class _Cuboid:
    """One combination of dimensions: every leaf's segment id in it, and that segment's codes."""

    dims: tuple[int, ...]
    key: np.ndarray
    cells: np.ndarray  # (segments, len(dims)) codes

    def size(self) -> int:
        return self.cells.shape[0]


@dataclass(frozen=True, eq=False)
class _Pick:
    cuboid: _Cuboid
    cell: int
    members: np.ndarray  # bool per leaf
    expected: float  # the segment's expected total just before it was absorbed
    actual: float


def _cuboids(leaves: Leaves, max_depth: int) -> list[_Cuboid]:
    """Segment ids per cuboid: dense mixed-radix keys, compacted with np.unique only when sparse."""
    n, k = leaves.codes.shape
    cards = [len(labels) for labels in leaves.values]
    found = []
    for depth in range(1, min(max_depth, k) + 1):
        for dims in combinations(range(k), depth):
            key = np.zeros(n, dtype=np.int64)
            for j in dims:
                key = key * cards[j] + leaves.codes[:, j]
            dense_size = math.prod(cards[j] for j in dims)
            if dense_size <= max(4 * n, 4096):
                flat = np.arange(dense_size, dtype=np.int64)
            else:
                flat, key = np.unique(key, return_inverse=True)
            cells = np.empty((len(flat), depth), dtype=np.int64)
            for position in range(depth - 1, -1, -1):
                flat, cells[:, position] = np.divmod(flat, cards[dims[position]])
            found.append(_Cuboid(dims, key, cells))
    return found


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    return float(values[order[np.searchsorted(cumulative, 0.5 * cumulative[-1])]])


def _noise_scales(actual: np.ndarray, expected: np.ndarray, unexplained: np.ndarray) -> tuple[float, float]:
    """(sigma, tau^2) from the leaves not yet explained: the relative noise of two-sided leaves
    (1.4826 x the mass-weighted MAD of actual/expected - 1), and the mean square of churned leaves
    (present in one window only), which carry no ratio."""
    churn = (actual == 0) != (expected == 0)
    usable = unexplained & ~churn & (expected > 0)
    sigma = 0.0
    if usable.any():
        weights = expected[usable]
        relative = actual[usable] / weights - 1.0
        spread = np.abs(relative - _weighted_median(relative, weights))
        sigma = MAD_TO_SIGMA * _weighted_median(spread, weights)
    churned = unexplained & churn
    tau_squared = float(np.mean((actual[churned] - expected[churned]) ** 2)) if churned.any() else 0.0
    return sigma, tau_squared


def _noise_variance(actual: np.ndarray, expected: np.ndarray, scales: tuple[float, float]) -> np.ndarray:
    """Per-leaf noise variance: (sigma x expected)^2, or tau^2 for a churned leaf."""
    sigma, tau_squared = scales
    return np.where((actual == 0) != (expected == 0), tau_squared, (sigma * expected) ** 2)


def _spread_factor(total: np.ndarray | float, sum_of_squares: np.ndarray | float) -> np.ndarray:
    """n_eff ** SPREAD_EXPONENT, n_eff = total^2 / sum of squares: the effective number of leaves.

    Noise alone makes a one-leaf segment "explain" its own deviation in full, but gives a segment of many
    leaves a gain near its total's z-score only if all of them deviate alike. Simulated Gaussian noise
    (1e7 segments of 1-30 leaves, weights equal or Weibull) puts the 1e-6 tail of gain / sd at 4.86 for
    one leaf, 4.28 for three equal leaves, 3.69 at n_eff 3 and 2.55 at n_eff 11 with unequal weights.
    """
    n_eff = np.divide(np.square(total), sum_of_squares, out=np.ones_like(np.asarray(total, float)),
                      where=np.asarray(sum_of_squares) > 0)
    return np.maximum(n_eff, 1.0) ** SPREAD_EXPONENT


def _best_segment(cuboid: _Cuboid, actual: np.ndarray, expected: np.ndarray, deviation: np.ndarray,
                  variance: np.ndarray, floor: tuple[float, float]) -> tuple[float, float, int]:
    """(score, gain, cell) of the cuboid's best segment passing the floor, score -inf if none."""
    key, size = cuboid.key, cuboid.size()
    sum_actual = np.bincount(key, actual, size)
    sum_expected = np.bincount(key, expected, size)
    ratio = np.divide(sum_actual, sum_expected, out=np.zeros(size), where=sum_expected != 0)
    residual = np.bincount(key, np.abs(actual - expected * ratio[key]), size)
    before = np.bincount(key, deviation, size)
    gain = np.where(sum_expected == 0, before, before - residual)
    z, min_gain = floor
    spread = _spread_factor(sum_expected, np.bincount(key, expected * expected, size))
    needed = np.maximum(z * np.sqrt(np.bincount(key, variance, size)) * spread, min_gain)
    score = np.where(gain >= needed, gain * DEPTH_DISCOUNT ** (len(cuboid.dims) - 1), -np.inf)
    cell = int(np.argmax(score))
    return float(score[cell]), float(gain[cell]), cell


def _absorb(pick_members: np.ndarray, actual: np.ndarray, expected: np.ndarray) -> None:
    """Scale the segment's expectations by its actual/expected ratio (or take its actuals)."""
    total = expected[pick_members].sum()
    if total != 0:
        expected[pick_members] *= actual[pick_members].sum() / total
    else:
        expected[pick_members] = actual[pick_members]


def _conserve(actual: np.ndarray, expected: np.ndarray, unexplained: np.ndarray) -> None:
    """Rescale the unexplained leaves so the expected total equals the actual total."""
    rest = expected[unexplained].sum()
    if rest > 0:
        expected[unexplained] *= (actual.sum() - expected[~unexplained].sum()) / rest


def _replay(members: list[np.ndarray], actual: np.ndarray, expected: np.ndarray,
            conserve: bool) -> tuple[np.ndarray, list[float]]:
    """Absorb the segments in order; returns the final expectation and each one's total before."""
    expected = expected.copy()
    unexplained = np.ones(len(actual), dtype=bool)
    before = []
    for mask in members:
        before.append(float(expected[mask].sum()))
        _absorb(mask, actual, expected)
        unexplained &= ~mask
        if conserve:
            _conserve(actual, expected, unexplained)
    return expected, before


def _search(cuboids: list[_Cuboid], actual: np.ndarray, expected: np.ndarray, *, max_causes: int,
            min_gain: float, conserve: bool) -> tuple[list[_Pick], float]:
    """Greedy ripple-effect search, then backward elimination; returns (picks, noise floor of the total)."""
    candidates = sum(int(np.count_nonzero(np.bincount(c.key, minlength=c.size()))) for c in cuboids)
    z = math.sqrt(2.0 * math.log(max(candidates, 2)))
    min_gain = max(min_gain, 1e-9 * float(np.abs(expected).sum() + np.abs(actual).sum()), 1e-300)
    current = expected.copy()
    unexplained = np.ones(len(actual), dtype=bool)
    chosen: list[tuple[_Cuboid, int, np.ndarray]] = []
    while len(chosen) < max_causes:
        variance = _noise_variance(actual, current, _noise_scales(actual, current, unexplained))
        deviation = np.abs(actual - current)
        best = max(((*_best_segment(c, actual, current, deviation, variance, (z, min_gain)), c) for c in cuboids),
                   key=lambda found: found[0], default=None)
        if best is None or best[0] == -np.inf:
            break
        cuboid, cell = best[3], best[2]
        members = cuboid.key == cell
        chosen.append((cuboid, cell, members))
        _absorb(members, actual, current)
        unexplained &= ~members
        if conserve:
            _conserve(actual, current, unexplained)
    variance = _noise_variance(actual, expected, _noise_scales(actual, current, unexplained))
    while chosen:
        fitted, before = _replay([m for _, _, m in chosen], actual, expected, conserve)
        error = np.abs(actual - fitted).sum()
        slack = []
        for drop in range(len(chosen)):
            without, _ = _replay([m for i, (_, _, m) in enumerate(chosen) if i != drop], actual, expected, conserve)
            mask = chosen[drop][2]
            spread = _spread_factor(expected[mask].sum(), (expected[mask] ** 2).sum())
            needed = max(z * math.sqrt(float(variance[mask].sum())) * float(spread), min_gain)
            slack.append(np.abs(actual - without).sum() - error - needed)
        worst = int(np.argmin(slack))
        if slack[worst] >= 0:
            break
        del chosen[worst]
    _, before = _replay([m for _, _, m in chosen], actual, expected, conserve)
    picks = [_Pick(c, cell, m, b, float(actual[m].sum())) for (c, cell, m), b in zip(chosen, before, strict=True)]
    return picks, z * math.sqrt(float(variance.sum()))


def _segment(leaves: Leaves, pick: _Pick) -> Segment:
    codes = pick.cuboid.cells[pick.cell]
    return Segment(tuple((leaves.dims[j], str(leaves.values[j][code]))
                         for j, code in zip(pick.cuboid.dims, codes, strict=True)))


def _clean(values: np.ndarray | Sequence[float], n: int, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.shape[0] != n:
        raise ValueError(f"{name} has {array.shape[0]} values for {n} leaves")
    return np.where(np.isfinite(array), array, 0.0)


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator != 0 and math.isfinite(numerator / denominator) else 0.0


def _materiality(total_change: float, actual: np.ndarray, expected: np.ndarray) -> float:
    """The least gain worth reporting: MIN_SHARE of the change, or of its noise sd if that is larger."""
    variance = _noise_variance(actual, expected, _noise_scales(actual, expected, np.ones(len(actual), dtype=bool)))
    return MIN_SHARE * max(abs(total_change), math.sqrt(float(variance.sum())))


def _ranked(causes: list[Cause], total_change: float, noise: float, max_causes: int) -> Localization:
    causes = sorted(causes, key=lambda cause: -abs(cause.change))[:max_causes]
    return Localization(causes, total_change, sum(cause.share for cause in causes), noise)


def localize_additive(leaves: Leaves, actual: np.ndarray | Sequence[float], expected: np.ndarray | Sequence[float],
                      max_depth: int = 3, max_causes: int = 5) -> Localization:
    """Find the segments (kind "shift") that explain why sum(actual) differs from sum(expected)."""
    a, f = _clean(actual, len(leaves), "actual"), _clean(expected, len(leaves), "expected")
    total_change = float(a.sum() - f.sum())
    if len(leaves) == 0:
        return Localization([], total_change, 0.0, 0.0)
    cuboids = _cuboids(leaves, max_depth)
    min_gain = _materiality(total_change, a, f)
    picks, noise = _search(cuboids, a, f, max_causes=max_causes, min_gain=min_gain, conserve=False)
    causes = [Cause(_segment(leaves, p), "shift", _ratio(p.actual - p.expected, total_change), p.expected,
                    p.actual, p.actual - p.expected) for p in picks]
    return _ranked(causes, total_change, noise, max_causes)


def localize_ratio(leaves: Leaves, num_current: np.ndarray | Sequence[float], den_current: np.ndarray | Sequence[float],
                   num_baseline: np.ndarray | Sequence[float], den_baseline: np.ndarray | Sequence[float],
                   max_depth: int = 3, max_causes: int = 5) -> Localization:
    """Find the segments whose rate ("rate") or denominator share ("mix") moved the overall ratio."""
    n = len(leaves)
    n1, d1 = _clean(num_current, n, "num_current"), _clean(den_current, n, "den_current")
    n0, d0 = _clean(num_baseline, n, "num_baseline"), _clean(den_baseline, n, "den_baseline")
    big_n1, big_d1, big_n0, big_d0 = (float(x.sum()) for x in (n1, d1, n0, d0))
    rate1, rate0 = _ratio(big_n1, big_d1), _ratio(big_n0, big_d0)
    total_change = rate1 - rate0
    if n == 0:
        return Localization([], total_change, 0.0, 0.0)
    leaf_rate0 = np.full(n, rate0)
    np.divide(n1, d1, out=leaf_rate0, where=(d0 == 0) & (d1 != 0))
    np.divide(n0, d0, out=leaf_rate0, where=d0 != 0)
    cuboids = _cuboids(leaves, max_depth)

    expected_num = leaf_rate0 * d1
    min_gain = _materiality(big_n1 - float(expected_num.sum()), n1, expected_num)
    min_gain = max(min_gain, MIN_SHARE * abs(total_change * big_d1))
    picks, noise = _search(cuboids, n1, expected_num, max_causes=max_causes, min_gain=min_gain, conserve=False)
    causes = []
    for p in picks:
        change = _ratio(p.actual - p.expected, big_d1)
        before = _ratio(float(n0[p.members].sum()), float(d0[p.members].sum()))
        after = _ratio(float(n1[p.members].sum()), float(d1[p.members].sum()))
        causes.append(Cause(_segment(leaves, p), "rate", _ratio(change, total_change), before, after, change))

    if big_d0 > 0 and big_d1 > 0:
        share0, share1 = d0 / big_d0, d1 / big_d1
        mix_effect = (share1 - share0) * (leaf_rate0 - rate0)
        mix_picks, _ = _search(cuboids, d1, d0 * (big_d1 / big_d0), max_causes=max_causes, min_gain=0.0,
                                  conserve=True)
        for p in mix_picks:
            change = float(mix_effect[p.members].sum())
            if abs(change) >= _ratio(min_gain, big_d1):
                causes.append(Cause(_segment(leaves, p), "mix", _ratio(change, total_change),
                                    float(share0[p.members].sum()), float(share1[p.members].sum()), change))
    return _ranked(causes, total_change, _ratio(noise, big_d1), max_causes)
