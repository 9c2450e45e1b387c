"""Root-cause localization on real incidents: the RobustSpot (RS) dataset, scored as the papers score it.

135 incidents from a video-streaming service (published with RobustSpot and kept in the RiskLoc
repository, github.com/shaido987/riskloc, MIT licence; see bench/data/NOTICE). Each has per-minute
failure and request counts by 4-5 dimensions (cdn, bitrate, device, p2p, isp) and the root-cause
segments an engineer labelled, e.g. `bitrate=2000 & p2p=1`. bench/data/robustspot_rs.jsonl.gz keeps,
per incident, the anomalous minute and the 4 minutes before it, which is all the protocol reads.

Protocol (RobustSpot's, as the RiskLoc code runs it): the metric is the success rate
(requests - failures) / requests; each leaf's expectation is its mean over the 4 minutes before; the
analysis is `localize_ratio` exactly as `explain_metric` runs it, and every segment it reports
(rate or mix) is a prediction. Exact-match TP/FP/FN summed over incidents, then F1. Three of the
localization's settings were chosen while looking at these incidents (docs/analysis.md), so its F1
here is in-sample; bench/rca_accuracy.py is the out-of-sample check.

The same incidents read as an additive metric (failure counts, `localize_additive`) are printed
too, as a check of the additive path on real counts; the labels describe the rate, so it scores lower.

For comparison, the same 135 incidents through the RiskLoc repository's own implementations with
their default settings (measured 2026-11-22 on this machine, not run by this script, since their
code is not part of ours): RobustSpot 0.415, Adtributor 0.274, AutoRoot 0.261, R-Adtributor 0.104,
HotSpot 0.042, Squeeze 0.041, RiskLoc 0.025.

    .venv/bin/python bench/rca_realworld.py
"""

from __future__ import annotations

import gzip
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot.data.analysis.rca import Leaves, localize_additive, localize_ratio

DATA = Path(__file__).resolve().parent / "data" / "robustspot_rs.jsonl.gz"
HISTORY = 4  # minutes before the incident whose mean is the expectation


def incidents() -> list[dict]:
    with gzip.open(DATA, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def arrays(incident: dict) -> tuple[Leaves, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Leaves, then successes and requests in the incident minute and expected from the minutes before."""
    width = len(incident["dims"])
    now: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0.0])
    before: dict[tuple, list[tuple[int, int]]] = defaultdict(list)
    for minute, *rest in incident["rows"]:
        key, failures, requests = tuple(rest[:width]), rest[width], rest[width + 1]
        if minute == 0:
            now[key][0] += requests - failures
            now[key][1] += requests
        elif minute <= HISTORY:
            before[key].append((requests - failures, requests))
    keys = sorted(set(now) | set(before))
    successes = np.array([now[k][0] for k in keys])
    requests = np.array([now[k][1] for k in keys])
    expected_successes = np.array([np.mean([s for s, _ in before[k]]) if before[k] else 0.0 for k in keys])
    expected_requests = np.array([np.mean([r for _, r in before[k]]) if before[k] else 0.0 for k in keys])
    return Leaves.from_rows(incident["dims"], keys), successes, requests, expected_successes, expected_requests


def main() -> None:
    tally = {"all": [0, 0, 0]} | {f"{n} condition{'s' if n > 1 else ''}": [0, 0, 0] for n in (1, 2, 3)}
    seconds = []
    cases = incidents()
    read = [arrays(incident) for incident in cases]
    for incident, (leaves, successes, requests, expected_successes, expected_requests) in zip(
            cases, read, strict=True):
        started = time.perf_counter()
        found = localize_ratio(leaves, successes, requests, expected_successes, expected_requests)
        seconds.append(time.perf_counter() - started)
        predicted = {frozenset(cause.segment.conditions) for cause in found.causes}
        truth = {frozenset(cause.items()) for cause in incident["cause"]}
        width = max(len(t) for t in truth)
        for name in ("all", f"{width} condition{'s' if width > 1 else ''}"):
            tally[name][0] += len(predicted & truth)
            tally[name][1] += len(predicted - truth)
            tally[name][2] += len(truth - predicted)
    print(f"{'incidents':18s} {'TP':>4s} {'FP':>4s} {'FN':>4s} {'prec':>6s} {'recall':>6s} {'F1':>6s}")
    for name, (tp, fp, fn) in tally.items():
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        print(f"{name:18s} {tp:4d} {fp:4d} {fn:4d} {precision:6.3f} {recall:6.3f} {f1:6.3f}")
    tp, fp, fn = tally["all"]
    f1 = 2 * tp / (2 * tp + fp + fn)
    counts = [0, 0, 0]  # the same incidents as an additive metric: failures, not the success rate
    for incident, (leaves, successes, requests, expected_successes, expected_requests) in zip(
            cases, read, strict=True):
        found = localize_additive(leaves, requests - successes, expected_requests - expected_successes)
        predicted = {frozenset(cause.segment.conditions) for cause in found.causes}
        truth = {frozenset(cause.items()) for cause in incident["cause"]}
        counts = [counts[0] + len(predicted & truth), counts[1] + len(predicted - truth),
                  counts[2] + len(truth - predicted)]
    print(f"as failure counts (additive): TP {counts[0]} FP {counts[1]} FN {counts[2]} "
          f"F1 {2 * counts[0] / (2 * counts[0] + counts[1] + counts[2]):.3f}")
    print(f"RS real incidents: {len(cases)}, F1 {f1:.3f} (RobustSpot 0.415, Adtributor 0.274, AutoRoot 0.261, "
          f"RiskLoc 0.025 with their defaults); localization median {statistics.median(seconds) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
