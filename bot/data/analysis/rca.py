"""Root-cause localization: which segments explain why a multi-dimensional metric moved.

A *leaf* is one combination of dimension values (platform=android, country=BR, plan=pro, ...); a
*segment* is a conjunction of 1 to `max_depth` conditions. Given each leaf's actual and expected
value, find the few segments that explain most of the change in the total.

Method (the reasoning, the numbers behind each constant and what was tried are in docs/analysis.md):
greedy ripple-effect search (Squeeze, HotSpot) scoring every segment of every cuboid at once with
np.bincount, against a statistical floor (z for the number of candidates, an n_eff correction, a
one-leaf rule, materiality); each pick re-fits all picks jointly (iterative proportional fitting),
as RiskLoc and Adtributor repeat; then backward elimination.

Additive metrics (`localize_additive`): kind "shift"; actual is the segment's total; change is what
the cause adds to the fitted total after the causes ranked before it (for disjoint causes simply
actual - expected); expected = actual - change; share = change / total change.

Ratio metrics (`localize_ratio`, e.g. conversions / sessions). The change of the overall rate R is
split exactly, with no interaction term, into a rate effect at current mix plus a mix effect at
baseline rates (the two-factor, shift-share form of the Kitagawa rate/mix decomposition):
    R1 - R0 = sum_i w1_i (r1_i - r0_i)  +  sum_i (w1_i - w0_i) (r0_i - R0)
with w = a leaf's share of the denominator and r its rate. Leaves new in the current window take
r0 = r1 (their whole effect is mix); leaves with no denominator at all take the overall rate.
- "rate" causes: the search on numerators, expected = baseline rate x current denominator; change =
  the segment's rate effect, sum w1 (r1 - r0); expected/actual = the segment's rate before/after.
- "mix" causes: the search on denominators, expected = baseline denominator x D1/D0, the unexplained
  leaves rescaled so the total is conserved (one segment gaining share is not also reported as all
  the others losing it); change = the segment's mix effect, sum (w1 - w0)(r0 - R0);
  expected/actual = the segment's share of the denominator before/after, since a mix cause's rate
  does not move. Mix causes below the rate causes' materiality are dropped.
Shares are change / (R1 - R0), and 0 when R did not move.
`noise` is z x sd of the total under the estimated noise: how far noise alone could move the total
(for ratios, the rate, from the numerator search). `explained` is the sum of the shares.
Non-finite inputs count as 0 (SQL SUM semantics); no output is ever NaN.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

MIN_SHARE = 0.02  # a cause must explain at least 2 % of the change
REPORT_SHARE = 0.05  # and, fitted with the others, at least 5 % to be reported (docs/analysis.md)
NOISE_SHARE = 0.05  # and move the total by at least 5 % of what noise alone could move it
DEPTH_DISCOUNT = 0.7  # each extra condition must earn 43 % more gain (1 / 0.7) to be preferred (docs/analysis.md)
MAD_TO_SIGMA = 1.4826  # the MAD of a normal distribution times this is its standard deviation
FIT_SWEEPS = 50  # iterative proportional fitting converges in a few sweeps unless causes nest deeply
MIN_CHURN = 10  # leaves present in one window only, needed to estimate their own noise
NOISE_SAMPLE = 20_000  # leaves, evenly strided, used to estimate the relative noise
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
        if codes.size and not np.issubdtype(codes.dtype, np.integer):
            raise ValueError(f"codes must be integers, not {codes.dtype}")
        object.__setattr__(self, "codes", codes)

    @classmethod
    def from_rows(cls, dims: Sequence[str], rows: Iterable[Sequence[Hashable]]) -> Leaves:
        """Encode rows of labels, one per leaf in the order given; labels may be any hashable."""
        indexes: list[dict[Hashable, int]] = [{} for _ in dims]
        codes = [[index.setdefault(label, len(index)) for index, label in zip(indexes, row, strict=True)]
                 for row in rows]
        array = np.array(codes, dtype=np.int32).reshape(len(codes), len(dims))
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
    whole_leaves: bool  # every dimension is fixed: each segment is a single leaf

    def size(self) -> int:
        return self.cells.shape[0]


@dataclass(frozen=True, eq=False)
class _Pick:
    cuboid: _Cuboid
    cell: int
    members: np.ndarray  # leaf indexes
    change: float  # what it adds to the fitted total after the causes ranked before it


def _cuboids(leaves: Leaves, max_depth: int) -> list[_Cuboid]:
    """Segment ids per cuboid: dense mixed-radix keys, compacted with np.unique only when sparse."""
    n, k = leaves.codes.shape
    cards = [len(labels) for labels in leaves.values]
    found = []
    for depth in range(1, min(max_depth, k) + 1):
        for dims in combinations(range(k), depth):
            key = np.zeros(n, dtype=np.int64)
            for j in dims:
                key = key * cards[j] + leaves.codes[:, j].astype(np.int64)
            dense_size = math.prod(cards[j] for j in dims)
            if dense_size <= max(4 * n, 4096):
                flat = np.arange(dense_size, dtype=np.int64)
            else:
                flat, key = np.unique(key, return_inverse=True)
            cells = np.empty((len(flat), depth), dtype=np.int64)
            for position in range(depth - 1, -1, -1):
                flat, cells[:, position] = np.divmod(flat, cards[dims[position]])
            found.append(_Cuboid(dims, key, cells, whole_leaves=depth == k))
    return found


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)  # ties hold equal values, so the order among them cannot change the median
    cumulative = np.cumsum(weights[order])
    return float(values[order[np.searchsorted(cumulative, 0.5 * cumulative[-1])]])


def _noise_scales(actual: np.ndarray, expected: np.ndarray, unexplained: np.ndarray) -> tuple[float, float | None]:
    """(sigma, tau^2) from the leaves not yet explained: the relative noise of two-sided leaves
    (1.4826 x the mass-weighted MAD of actual/expected - 1), and the mean square of churned leaves
    (present in one window only), which carry no ratio; None when too few churned to tell."""
    churn = (actual == 0) != (expected == 0)
    usable = np.flatnonzero(unexplained & ~churn & (expected > 0))
    usable = usable[:: max(1, -(-len(usable) // NOISE_SAMPLE))]  # a MAD from 20k leaves is within ~1 %
    sigma = 0.0
    if len(usable):
        weights = expected[usable]
        relative = actual[usable] / weights - 1.0
        spread = np.abs(relative - _weighted_median(relative, weights))
        sigma = MAD_TO_SIGMA * _weighted_median(spread, weights)
    churned = unexplained & churn
    if np.count_nonzero(churned) < MIN_CHURN:
        return sigma, None
    return sigma, float(np.mean((actual[churned] - expected[churned]) ** 2))


def _noise_variance(actual: np.ndarray, expected: np.ndarray, scales: tuple[float, float | None]) -> np.ndarray:
    """Per-leaf noise variance: (sigma x expected)^2; for a churned leaf tau^2, or with too few churned
    leaves to estimate it, (sigma x its one nonzero value)^2, as for a 100 % relative change."""
    sigma, tau_squared = scales
    churn = (actual == 0) != (expected == 0)
    if tau_squared is None:
        return (sigma * np.where(churn, np.abs(actual) + np.abs(expected), expected)) ** 2
    return np.where(churn, tau_squared, (sigma * expected) ** 2)


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


def _ranked_segments(cuboid: _Cuboid, sums: tuple[np.ndarray, np.ndarray], actual: np.ndarray,
                     expected: np.ndarray, variance: np.ndarray, floor: tuple[float, float],
                     limit: int) -> list[tuple[float, _Cuboid, int]]:
    """Up to `limit` (score, cuboid, cell) of the cuboid's segments whose gain passes the floor."""
    key, size = cuboid.key, cuboid.size()
    sum_actual, sum_actual_sq = sums
    sum_expected = np.bincount(key, expected, size)
    ratio = np.divide(sum_actual, sum_expected, out=np.zeros(size), where=sum_expected != 0)
    residual = np.bincount(key, np.abs(actual - expected * ratio[key]), size)
    before = np.bincount(key, np.abs(actual - expected), size)
    appeared = sum_expected == 0
    gain = np.where(appeared, before, before - residual)
    z, min_gain = floor
    spread = _spread_factor(np.where(appeared, sum_actual, sum_expected),
                            np.where(appeared, sum_actual_sq, np.bincount(key, expected * expected, size)))
    needed = np.maximum(z * np.sqrt(np.bincount(key, variance, size)) * spread, min_gain)
    passing = np.flatnonzero(gain >= needed)
    top = passing[np.argsort(-gain[passing], kind="stable")[:limit]]
    discount = DEPTH_DISCOUNT ** (len(cuboid.dims) - 1)
    return [(float(gain[cell]) * discount, cuboid, int(cell)) for cell in top]


def _floor(actual: np.ndarray, expected: np.ndarray, variance: np.ndarray, z: float) -> float:
    """The gain a segment made of these leaves needs to stand out from noise."""
    mass = expected if expected.sum() != 0 else actual
    return z * math.sqrt(float(variance.sum())) * float(_spread_factor(mass.sum(), (mass * mass).sum()))


def _gain(actual: np.ndarray, expected: np.ndarray) -> float:
    total = expected.sum()
    refit = np.abs(actual - expected * (actual.sum() / total)).sum() if total != 0 else 0.0
    return float(np.abs(actual - expected).sum() - refit)


def _rests_on_many_leaves(index: np.ndarray, actual: np.ndarray, expected: np.ndarray, variance: np.ndarray,
                          z: float) -> bool:
    """Whether the segment still passes its noise floor without its most deviating leaf.

    A gain that comes from one leaf is that leaf's outlier (heavy-tailed noise makes plenty), and any of
    the segments around the leaf would carry it equally well, so its name would be arbitrary.
    """
    index = np.delete(index, np.argmax(np.abs(actual[index] - expected[index])))
    a, f = actual[index], expected[index]
    return len(index) > 0 and _gain(a, f) >= _floor(a, f, variance[index], z)


def _fit(segments: list[np.ndarray], actual: np.ndarray, expected: np.ndarray, conserve: bool) -> np.ndarray:
    """Expectation with every segment's total fitted to its actual total (iterative proportional fitting,
    so overlapping causes compose multiplicatively); with `conserve`, the other leaves are rescaled so
    the expected total equals the actual total."""
    fitted = expected.copy()
    for _ in range(FIT_SWEEPS):
        moved = 0.0
        for index in segments:
            total, target = fitted[index].sum(), actual[index].sum()
            if total != 0:
                fitted[index] *= target / total
                moved = max(moved, abs(target / total - 1.0))
            else:
                fitted[index] = actual[index]
        if moved < 1e-9:
            break
    if conserve:
        rest = np.ones(len(actual), dtype=bool)
        for index in segments:
            rest[index] = False
        if (remaining := fitted[rest].sum()) > 0:
            fitted[rest] *= (actual.sum() - fitted[~rest].sum()) / remaining
    return fitted


def _search(cuboids: list[_Cuboid], actual: np.ndarray, expected: np.ndarray, *, max_causes: int,
            change: float, conserve: bool,
            least_variance: np.ndarray | float = 0.0) -> tuple[list[_Pick], float, float]:
    """Greedy ripple-effect search, then backward elimination, for causes of `change` in the total.

    Returns the picks, the noise floor of the total, and the least gain a cause needed."""
    sums = [(np.bincount(c.key, actual, c.size()), np.bincount(c.key, actual * actual, c.size())) for c in cuboids]
    candidates = sum(int(np.count_nonzero(np.bincount(c.key, minlength=c.size()))) for c in cuboids)
    z = math.sqrt(2.0 * math.log(max(candidates, 2)))
    unexplained = np.ones(len(actual), dtype=bool)

    def noise_variance(fitted: np.ndarray, scales_from: np.ndarray | None = None) -> np.ndarray:
        """Per-leaf noise around `fitted`, its scales estimated around `scales_from` (default: `fitted`)
        over the leaves not yet explained, and never under `least_variance` (counting noise)."""
        scales = _noise_scales(actual, fitted if scales_from is None else scales_from, unexplained)
        return np.maximum(_noise_variance(actual, fitted, scales), least_variance)

    noise = z * math.sqrt(float(noise_variance(expected).sum()))
    min_gain = max(MIN_SHARE * abs(change), NOISE_SHARE * noise,
                   1e-9 * float(np.abs(expected).sum() + np.abs(actual).sum()), 1e-300)
    current = expected
    chosen: list[tuple[_Cuboid, int, np.ndarray]] = []
    while len(chosen) < max_causes:
        variance = noise_variance(current)
        ranked = sorted((found for c, s in zip(cuboids, sums, strict=True)
                         for found in _ranked_segments(c, s, actual, current, variance, (z, min_gain), 8)),
                        key=lambda found: -found[0])
        for _, cuboid, cell in ranked:
            index = np.flatnonzero(cuboid.key == cell)
            if cuboid.whole_leaves or _rests_on_many_leaves(index, actual, current, variance, z):
                break
        else:
            break
        chosen.append((cuboid, cell, index))
        current = _fit([i for _, _, i in chosen], actual, expected, conserve)
        unexplained[index] = False
    variance = noise_variance(expected, scales_from=current)

    def misfit(segments: list[np.ndarray]) -> float:
        return float(np.abs(actual - _fit(segments, actual, expected, conserve)).sum())

    while chosen:
        indexes = [i for _, _, i in chosen]
        error = misfit(indexes)
        slack = [misfit(indexes[:j] + indexes[j + 1:]) - error - max(_floor(actual[i], expected[i], variance[i], z),
                                                                     min_gain)
                 for j, i in enumerate(indexes)]
        if min(slack) >= 0:
            break
        del chosen[int(np.argmin(slack))]
    fitted_totals = [float(_fit([i for _, _, i in chosen[:n]], actual, expected, conserve).sum())
                     for n in range(len(chosen) + 1)]
    picks = [_Pick(c, cell, i, fitted_totals[n + 1] - fitted_totals[n]) for n, (c, cell, i) in enumerate(chosen)]
    return picks, z * math.sqrt(float(variance.sum())), min_gain


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


def _ranked(causes: list[Cause], total_change: float, noise: float, max_causes: int) -> Localization:
    """The causes by the size of their effect, without those that end up explaining almost none of the
    change (a refinement inside a cause already taken adds ~0 once the causes are fitted jointly)."""
    if total_change != 0:
        causes = [cause for cause in causes if abs(cause.share) >= REPORT_SHARE]
    causes = sorted(causes, key=lambda cause: -abs(cause.change))[:max_causes]
    return Localization(causes, total_change, float(sum(cause.share for cause in causes)), noise)


def localize_additive(leaves: Leaves, actual: np.ndarray | Sequence[float], expected: np.ndarray | Sequence[float],
                      max_depth: int = 3, max_causes: int = 5) -> Localization:
    """Find the segments (kind "shift") that explain why sum(actual) differs from sum(expected)."""
    a, f = _clean(actual, len(leaves), "actual"), _clean(expected, len(leaves), "expected")
    total_change = float(a.sum() - f.sum())
    if len(leaves) == 0:
        return Localization([], total_change, 0.0, 0.0)
    cuboids = _cuboids(leaves, max_depth)
    counting = bool(np.all((a >= 0) & (a == np.round(a))))  # event counts vary at least as Poisson counts do
    picks, noise, _ = _search(cuboids, a, f, max_causes=max_causes, change=total_change, conserve=False,
                              least_variance=np.maximum(f, 0.0) if counting else 0.0)
    causes = []
    for p in picks:
        segment_actual = float(a[p.members].sum())
        causes.append(Cause(_segment(leaves, p), "shift", _ratio(p.change, total_change),
                            segment_actual - p.change, segment_actual, p.change))
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
    numerator_change = max(abs(big_n1 - float(expected_num.sum())), abs(total_change * big_d1))
    proportion = np.clip(leaf_rate0, 0.0, 1.0)
    # Counted successes out of counted trials (conversions of visits) vary at least binomially.
    counting = bool(np.all((n1 >= 0) & (n1 <= d1) & (n1 == np.round(n1)) & (d1 == np.round(d1))))
    picks, noise, min_gain = _search(cuboids, n1, expected_num, max_causes=max_causes, change=numerator_change,
                                     conserve=False,
                                     least_variance=d1 * proportion * (1 - proportion) if counting else 0.0)
    causes = []
    for p in picks:
        change = _ratio(p.change, big_d1)
        before = _ratio(float(n0[p.members].sum()), float(d0[p.members].sum()))
        after = _ratio(float(n1[p.members].sum()), float(d1[p.members].sum()))
        causes.append(Cause(_segment(leaves, p), "rate", _ratio(change, total_change), before, after, change))

    if big_d0 > 0 and big_d1 > 0:
        share0, share1 = d0 / big_d0, d1 / big_d1
        mix_effect = (share1 - share0) * (leaf_rate0 - rate0)
        mix_picks, _, _ = _search(cuboids, d1, d0 * (big_d1 / big_d0), max_causes=max_causes, change=0.0,
                                  conserve=True)
        for p in mix_picks:
            change = float(mix_effect[p.members].sum())
            if abs(change) >= _ratio(min_gain, big_d1):
                causes.append(Cause(_segment(leaves, p), "mix", _ratio(change, total_change),
                                    float(share0[p.members].sum()), float(share1[p.members].sum()), change))
    return _ranked(causes, total_change, _ratio(noise, big_d1), max_causes)
