"""Commits, merges and tags around a metric's onset, ranked as *candidate* explanations.

Score = closeness in time (half-weight at 1 day before the onset, decaying) + relevance: words of the
metric, its table and the segments found, matched against the commit message, the touched paths
(`src/android/SignupForm.kt` has the words android, signup, form) and, for the commits closest to the
onset, the lines they changed (a flag file's `android_signup_consent: true`). Candidates, never
proven causes.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

import git

LOOKBACK = dt.timedelta(days=7)
MAX_CANDIDATES = 5
MAX_PATHS = 200  # per commit read from git
DIFFED = 40  # commits nearest the onset whose changed lines are read too
MAX_DIFF_CHARS = 200_000  # of one commit's diff
FIELD, RECORD = "\x1f", "\x1e"


@dataclass(frozen=True)
class Change:
    repo: str
    sha: str
    when: dt.datetime  # UTC, naive
    author: str
    subject: str
    kind: str  # commit | merge | tag
    paths: tuple[str, ...] = ()
    url: str | None = None
    changed_words: frozenset[str] = frozenset()  # words on the lines it added or removed (when read)


@dataclass(frozen=True)
class Candidate:
    change: Change
    score: float
    reasons: tuple[str, ...]


def read_changes(repo: str, mirror: Path, sha: str, since: dt.datetime, until: dt.datetime,
                 web_url: str | None, *, near: dt.datetime | None = None) -> list[Change]:
    """Commits (with merges) reachable from `sha` and tags, dated in [since, until); with `near`, the
    changed lines of the DIFFED commits closest to it are read as well."""
    handle = git.Repo(mirror)
    output = handle.git.log(sha, f"--since={since.isoformat()}Z", f"--until={until.isoformat()}Z",
                            f"--format={RECORD}%H{FIELD}%ct{FIELD}%an{FIELD}%P{FIELD}%s", "--name-only", "-n", "500")
    changes = []
    for record in output.split(RECORD):
        if not record.strip():
            continue
        header, _, names = record.partition("\n")
        full_sha, stamp, author, parents, subject = header.split(FIELD, 4)
        changes.append(Change(repo, full_sha, _utc(int(stamp)), author, subject.strip(),
                              "merge" if len(parents.split()) > 1 else "commit",
                              tuple(p for p in names.splitlines() if p.strip())[:MAX_PATHS],
                              f"{web_url}/commit/{full_sha}" if web_url else None))
    tags = handle.git.for_each_ref("refs/tags", f"--format=%(refname:short){FIELD}%(creatordate:unix){FIELD}"
                                                f"%(objectname){FIELD}%(*objectname){FIELD}%(subject)")
    for line in tags.splitlines():
        name, stamp, target, peeled, subject = (line.split(FIELD) + [""] * 5)[:5]
        when = _utc(int(stamp)) if stamp.strip().isdigit() else None
        if when and since <= when < until:
            commit = peeled or target
            changes.append(Change(repo, commit, when, "", f"tag {name}" + (f": {subject}" if subject else ""),
                                  "tag", (), f"{web_url}/releases/tag/{name}" if web_url else None))
    if near is not None:
        commits = sorted((c for c in changes if c.kind == "commit"), key=lambda c: abs(c.when - near))[:DIFFED]
        diffed = {c.sha: replace(c, changed_words=_changed_words(handle, c.sha)) for c in commits}
        changes = [diffed.get(c.sha, c) if c.kind == "commit" else c for c in changes]
    return changes


def _changed_words(handle: git.Repo, sha: str) -> frozenset[str]:
    diff = handle.git.show(sha, "--format=", "-U0", "--no-color", "--no-ext-diff")[:MAX_DIFF_CHARS]
    lines = (line[1:] for line in diff.splitlines()
             if line[:1] in "+-" and not line.startswith(("+++", "---")))
    return frozenset(word for line in lines for word in _words(line))


def rank(changes: list[Change], onset: dt.datetime, terms: dict[str, str], *, grace: dt.timedelta,
         limit: int = MAX_CANDIDATES, anchor: str = "onset") -> list[Candidate]:
    """The `limit` best candidates from `changes` before `onset` (up to `grace` after it counts too).

    `terms` maps a lowercase word to why it matters ("metric", "table", "segment platform=android").
    """
    candidates = []
    for change in changes:
        before = (onset - change.when).total_seconds() / 86400
        if before < -grace.total_seconds() / 86400 or before > LOOKBACK.days:
            continue
        closeness = math.exp(-max(before, 0.0) / 1.44)  # 0.5 at one day before
        said = _words(change.subject) | {w for path in change.paths for w in _words(path)}
        matched = [(word, why) for word, why in terms.items() if _stem(word) in said | change.changed_words]
        relevance = min(1.0, 0.5 * len(matched))
        reasons = [_when(before, anchor)]
        reasons += [f"{_how(change, _stem(word), said)} “{word}” ({why})" for word, why in matched[:3]]
        candidates.append(Candidate(change, round(closeness + relevance, 4), tuple(reasons)))
    candidates.sort(key=lambda c: (-c.score, abs((onset - c.change.when).total_seconds())))
    return candidates[:limit]


def _how(change: Change, stem: str, said: set[str]) -> str:
    if stem not in said:
        return "changes a line with"
    return "touches" if change.paths else "mentions"


def _when(days_before: float, anchor: str) -> str:
    hours = days_before * 24
    if abs(hours) < 1:
        return f"at the {anchor}"
    if hours < 0:
        return f"{-hours:.0f} h after the {anchor}"
    return f"{hours:.0f} h before the {anchor}" if hours < 48 else f"{days_before:.0f} days before the {anchor}"


def _words(text: str) -> set[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    return {_stem(w) for w in re.findall(r"[a-z0-9]+", spaced.lower()) if len(w) > 1}


def _stem(word: str) -> str:
    word = word.lower()
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _utc(stamp: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(stamp, dt.UTC).replace(tzinfo=None)
