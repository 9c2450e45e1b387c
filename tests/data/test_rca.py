"""Root-cause localization names the planted segments, with their share of the change, and nothing else."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from bot.data.analysis.rca import Cause, Leaves, Localization, Segment, localize_additive, localize_ratio

DIMS = {
    "platform": ["android", "ios", "web"],
    "country": ["US", "BR", "DE", "FR", "IN", "JP"],
    "plan": ["free", "pro", "team", "enterprise"],
    "channel": ["ads", "seo", "email", "direct", "referral"],
}


def full_cube(seed: int = 0) -> tuple[Leaves, np.ndarray]:
    """Every combination of DIMS (360 leaves) with a baseline between 50 and 150."""
    rows = list(itertools.product(*DIMS.values()))
    rng = np.random.default_rng(seed)
    return Leaves.from_rows(list(DIMS), rows), rng.uniform(50, 150, len(rows))


def where(leaves: Leaves, **conditions: str) -> np.ndarray:
    mask = np.ones(len(leaves), dtype=bool)
    for dim, value in conditions.items():
        j = list(leaves.dims).index(dim)
        mask &= leaves.values[j][leaves.codes[:, j]] == value
    return mask


def names(result: Localization) -> list[str]:
    return [str(cause.segment) for cause in result.causes]


def assert_consistent(result: Localization) -> None:
    numbers = [result.total_change, result.explained, result.noise]
    numbers += [x for c in result.causes for x in (c.share, c.expected, c.actual, c.change)]
    assert all(math.isfinite(x) for x in numbers)
    assert result.explained == pytest.approx(sum(c.share for c in result.causes))
    assert [abs(c.change) for c in result.causes] == sorted((abs(c.change) for c in result.causes), reverse=True)


def test_a_single_dimension_drop_is_found_with_its_whole_share():
    leaves, expected = full_cube()
    actual = expected.copy()
    android = where(leaves, platform="android")
    actual[android] *= 0.4
    result = localize_additive(leaves, actual, expected)
    assert names(result) == ["platform=android"]
    cause = result.causes[0]
    assert cause.kind == "shift" and cause.segment.conditions == (("platform", "android"),)
    assert cause.share == pytest.approx(1.0)
    assert cause.expected == pytest.approx(expected[android].sum())
    assert cause.actual == pytest.approx(actual[android].sum())
    assert cause.change == pytest.approx(cause.actual - cause.expected)
    assert result.total_change == pytest.approx(actual.sum() - expected.sum())
    assert result.explained == pytest.approx(1.0)
    assert_consistent(result)


def test_a_two_condition_cause_is_named_exactly_not_its_parent_or_children():
    leaves, expected = full_cube()
    rng = np.random.default_rng(1)
    actual = expected * (1 + 0.03 * rng.standard_normal(len(expected)))
    actual[where(leaves, platform="ios", country="BR")] *= 0.3
    result = localize_additive(leaves, actual, expected)
    assert names(result) == ["platform=ios & country=BR"]
    assert result.causes[0].segment.conditions == (("platform", "ios"), ("country", "BR"))
    assert result.causes[0].share == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize("seed", range(3))
def test_a_small_consistent_drop_in_a_mid_sized_segment_stands_out_from_noise(seed):
    leaves, expected = full_cube(seed)
    rng = np.random.default_rng(seed + 50)
    actual = expected * (1 + 0.1 * rng.standard_normal(len(expected)))
    web_pro = where(leaves, platform="web", plan="pro")  # 30 leaves, all down 6 % in 10 % noise
    actual[web_pro] = expected[web_pro] * 0.94
    assert names(localize_additive(leaves, actual, expected)) == ["platform=web & plan=pro"]


def test_two_causes_are_both_found_even_where_they_overlap():
    leaves, expected = full_cube()
    actual = expected.copy()
    actual[where(leaves, platform="web", plan="pro")] *= 0.2
    actual[where(leaves, country="JP")] *= 1.5  # web & pro & JP leaves get both: x 0.3
    result = localize_additive(leaves, actual, expected)
    assert sorted(names(result)) == ["country=JP", "platform=web & plan=pro"]
    assert result.explained == pytest.approx(1.0)
    assert_consistent(result)


def test_no_change_means_no_causes():
    leaves, expected = full_cube()
    result = localize_additive(leaves, expected.copy(), expected)
    assert result.causes == [] and result.total_change == 0.0 and result.explained == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_noise_alone_is_not_a_cause(seed):
    leaves, expected = full_cube(seed)
    rng = np.random.default_rng(seed + 100)
    actual = expected * (1 + 0.1 * rng.standard_normal(len(expected)))
    result = localize_additive(leaves, actual, expected)
    assert result.causes == []
    assert abs(result.total_change) < result.noise


@pytest.mark.parametrize("seed", range(3))
def test_heavy_tailed_noise_alone_is_not_a_cause(seed):
    rng = np.random.default_rng(seed)
    rows = list(itertools.product(range(6), range(8), range(10), range(12)))
    leaves = Leaves.from_rows(["platform", "country", "plan", "channel"], rows)
    expected = rng.weibull(0.6, len(rows)) * 100
    actual = expected * np.maximum(1 + 0.1 * rng.standard_t(3, len(rows)) / np.sqrt(3), 0)
    assert localize_additive(leaves, actual, expected).causes == []


def test_zeros_and_leaves_present_in_one_window_only():
    leaves, expected = full_cube()
    actual = expected.copy()
    expected[:5] = 0.0  # new in the current window
    actual[5:10] = 0.0  # gone from it
    expected[10:12] = actual[10:12] = 0.0  # empty in both
    actual[where(leaves, platform="ios", plan="team")] *= 0.2
    result = localize_additive(leaves, actual, expected)
    assert names(result)[0] == "platform=ios & plan=team"
    assert_consistent(result)


def test_a_segment_that_did_not_exist_before_is_a_cause():
    rows = [(p, c) for p in ("android", "ios", "tv") for c in ("US", "BR", "DE", "FR", "IN", "JP", "MX", "CA")]
    leaves = Leaves.from_rows(["platform", "country"], rows)
    expected = np.where(leaves.codes[:, 0] == 2, 0.0, 100.0)
    actual = np.full(len(rows), 100.0)
    result = localize_additive(leaves, actual, expected)
    assert names(result) == ["platform=tv"]
    assert result.causes[0].expected == 0.0 and result.causes[0].share == pytest.approx(1.0)


def test_in_a_small_metric_a_value_that_went_dark_is_the_cause():
    leaves = Leaves.from_rows(["platform"], [("android",), ("ios",), ("web",)])
    result = localize_additive(leaves, [100.0, 0.0, 50.0], [100.0, 80.0, 50.0])
    assert names(result) == ["platform=ios"] and result.causes[0].share == pytest.approx(1.0)


def test_all_zero_and_non_finite_inputs_give_finite_answers():
    leaves, expected = full_cube()
    zeros = np.zeros(len(leaves))
    assert_consistent(localize_additive(leaves, zeros, zeros))
    broken = expected.copy()
    broken[:3] = [np.nan, np.inf, -np.inf]
    assert_consistent(localize_additive(leaves, broken, expected))
    assert_consistent(localize_ratio(leaves, zeros, zeros, zeros, zeros))
    empty = Leaves.from_rows(["platform"], [])
    assert localize_additive(empty, [], []) == Localization([], 0.0, 0.0, 0.0)


def conversion_cube() -> tuple[Leaves, np.ndarray, np.ndarray]:
    """Sessions per leaf, and a conversion rate that differs by country (IN converts at 2 %)."""
    leaves, sessions = full_cube(3)
    sessions = sessions * 10
    rate = np.full(len(leaves), 0.10)
    rate[where(leaves, country="IN")] = 0.02
    return leaves, sessions, rate


def test_a_rate_drop_in_one_segment_is_a_rate_cause():
    leaves, sessions, rate = conversion_cube()
    new_rate = rate.copy()
    android = where(leaves, platform="android")
    new_rate[android] *= 0.5
    result = localize_ratio(leaves, num_current=new_rate * sessions, den_current=sessions,
                            num_baseline=rate * sessions, den_baseline=sessions)
    assert [(str(c.segment), c.kind) for c in result.causes] == [("platform=android", "rate")]
    cause = result.causes[0]
    before = (rate * sessions)[android].sum() / sessions[android].sum()
    assert cause.expected == pytest.approx(before) and cause.actual == pytest.approx(before / 2)
    assert cause.share == pytest.approx(1.0)
    overall = lambda r: (r * sessions).sum() / sessions.sum()  # noqa: E731
    assert result.total_change == pytest.approx(overall(new_rate) - overall(rate))
    assert_consistent(result)


def test_a_pure_mix_shift_is_named_mix():
    leaves, sessions, rate = conversion_cube()
    new_sessions = sessions.copy()
    india = where(leaves, country="IN")
    new_sessions[india] *= 3
    result = localize_ratio(leaves, num_current=rate * new_sessions, den_current=new_sessions,
                            num_baseline=rate * sessions, den_baseline=sessions)
    assert [(str(c.segment), c.kind) for c in result.causes] == [("country=IN", "mix")]
    cause = result.causes[0]
    assert result.total_change < 0 and 0.5 < cause.share <= 1.0
    assert cause.expected == pytest.approx(sessions[india].sum() / sessions.sum())
    assert cause.actual == pytest.approx(new_sessions[india].sum() / new_sessions.sum())
    assert_consistent(result)


def test_rate_and_mix_causes_together_with_empty_denominators():
    leaves, sessions, rate = conversion_cube()
    new_sessions, new_rate = sessions.copy(), rate.copy()
    new_sessions[where(leaves, country="IN")] *= 3
    new_rate[where(leaves, platform="web", plan="free")] *= 0.3
    sessions[:4] = 0.0  # leaves new this window
    new_sessions[4:8] = 0.0  # leaves gone this window
    result = localize_ratio(leaves, num_current=new_rate * new_sessions, den_current=new_sessions,
                            num_baseline=rate * sessions, den_baseline=sessions)
    found = {(str(c.segment), c.kind) for c in result.causes}
    assert {("country=IN", "mix"), ("platform=web & plan=free", "rate")} <= found
    assert_consistent(result)


def test_results_are_deterministic():
    leaves, expected = full_cube()
    rng = np.random.default_rng(5)
    actual = expected * (1 + 0.05 * rng.standard_normal(len(expected)))
    actual[where(leaves, channel="email")] *= 1.8
    first = localize_additive(leaves, actual, expected)
    assert first == localize_additive(leaves, actual.copy(), expected.copy())
    assert names(first) == ["channel=email"]


def test_leaves_accept_any_hashable_labels_and_check_their_codes():
    leaves = Leaves.from_rows(["store", "day"], [(17, "mon"), (17, "tue"), (("eu", 3), "mon")])
    assert leaves.codes.tolist() == [[0, 0], [0, 1], [1, 0]]
    assert str(Segment((("store", "17"), ("day", "mon")))) == "store=17 & day=mon"
    with pytest.raises(ValueError, match="outside"):
        Leaves(dims=["store"], codes=np.array([[0], [2]], dtype=np.int32), values=[np.array(["a", "b"])])
    with pytest.raises(ValueError, match="shape"):
        Leaves(dims=["store", "day"], codes=np.zeros((2, 1), dtype=np.int32), values=[np.array(["a"])])
    with pytest.raises(ValueError, match="3 leaves"):
        localize_additive(leaves, [1.0, 2.0], [1.0, 2.0, 3.0])
    assert isinstance(Cause(Segment(()), "shift", 0.0, 0.0, 0.0, 0.0).segment, Segment)
