"""Root-cause localization on real incidents (bench/data, the RobustSpot dataset) and on counted rates."""

import numpy as np
import pytest

from bench.rca_realworld import arrays, incidents
from bot.data.analysis.rca import REPORT_SHARE, Leaves, localize_additive, localize_ratio

CASES = {case["case"]: case for case in incidents()}


@pytest.mark.parametrize("name", ["case3_0824_2231886096", "case6_0923_100523075", "case13_1016_1084106781",
                                  "case19_1005_121873726", "case26_1116_2227875499"])
def test_a_real_incident_names_the_segment_the_engineers_labelled_and_nothing_else(name):
    leaves, successes, requests, expected_successes, expected_requests = arrays(CASES[name])
    found = localize_ratio(leaves, successes, requests, expected_successes, expected_requests)
    assert {frozenset(c.segment.conditions) for c in found.causes} == \
        {frozenset(cause.items()) for cause in CASES[name]["cause"]}


def test_no_reported_cause_explains_less_than_the_minimum_share():
    for case in list(CASES.values())[:40]:
        found = localize_ratio(*arrays(case))
        assert all(abs(c.share) >= REPORT_SHARE for c in found.causes), case["case"]


def test_a_counted_rate_does_not_blame_a_tiny_leaf_for_sampling_noise():
    """50 big leaves convert exactly 50 % in both windows; a leaf of 4 visits goes from 2 to 0
    conversions. Relative noise (0 here) would call it the cause; a binomial floor does not."""
    keys = [(f"c{i}",) for i in range(51)]
    visits = np.array([10_000.0] * 50 + [4.0])
    before = visits * 0.5
    after = before.copy()
    after[-1] = 0.0
    quiet = localize_ratio(Leaves.from_rows(["country"], keys), after, visits, before, visits)
    assert quiet.causes == []
    after[0] = 3_000.0  # a real fall in a big leaf is still found
    loud = localize_ratio(Leaves.from_rows(["country"], keys), after, visits, before, visits)
    assert [str(c.segment) for c in loud.causes] == ["country=c0"]


def test_an_event_count_does_not_blame_a_tiny_leaf_for_poisson_noise():
    """50 big leaves keep exactly their 10,000 events; a leaf of 3 events has none this time.
    Relative noise (0 here) would call it the cause; counts vary at least as Poisson counts do."""
    keys = [(f"c{i}",) for i in range(51)]
    before = np.array([10_000.0] * 50 + [3.0])
    after = before.copy()
    after[-1] = 0.0
    assert localize_additive(Leaves.from_rows(["country"], keys), after, before).causes == []
    after[0] = 7_000.0
    assert [str(c.segment) for c in localize_additive(Leaves.from_rows(["country"], keys), after, before).causes] \
        == ["country=c0"]
