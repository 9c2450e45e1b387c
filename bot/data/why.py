"""Step 4 of an explanation: commits, merges and tags in the channel's linked repos around the onset."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re

from bot.data.analysis.explain import Explanation
from bot.data.commits import LOOKBACK, Change, rank, read_changes
from bot.errors import UserError
from bot.repos.run_repos import RunRepos

log = logging.getLogger(__name__)


def search_terms(e: Explanation) -> dict[str, str]:
    """Words worth finding in a commit: the metric's, its table's, and the segments' values."""
    terms: dict[str, str] = {}
    for cause in e.localization.causes[:3]:
        for dim, value in cause.segment.conditions:
            for word in re.findall(r"[A-Za-z0-9]+", value):
                terms.setdefault(word.lower(), f"segment {dim}={value}")
    for phrase in (e.metric.name, *e.metric.synonyms):
        for word in re.findall(r"[A-Za-z0-9]+", phrase):
            if len(word) > 2:
                terms.setdefault(word.lower(), "the metric")
    for word in re.findall(r"[A-Za-z0-9]+", e.metric.table):
        if len(word) > 2:
            terms.setdefault(word.lower(), "its table")
    return terms


async def add_candidates(e: Explanation, repos: RunRepos | None) -> None:
    """Fill `e.candidates` from every linked repo; a repo that can't be read is skipped and logged."""
    if repos is None or e.comparison is None:
        return
    step = dt.timedelta(hours=1) if e.grain == "hour" else dt.timedelta(days=1)
    if e.onset is not None:
        anchor, grace, label = e.onset, step, "onset"
    else:
        anchor, grace, label = e.comparison.current.start, e.comparison.current.end - e.comparison.current.start, \
            "current window's start"
    since, until = anchor - LOOKBACK, anchor + grace
    changes: list[Change] = []
    for link in repos.links:
        try:
            pinned = await repos.pin(link.name)
            changes += await asyncio.to_thread(read_changes, link.name, pinned.mirror, pinned.sha, since, until,
                                               link.web_url, near=anchor)
        except UserError as exc:
            log.warning("candidate commits: skipping %s (%s)", link.name, exc.kind)
    e.candidates = rank(changes, anchor, search_terms(e), grace=grace, anchor=label)
