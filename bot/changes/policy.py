"""A channel's change policy, applied to a diff before the preview and again before the push.

Defaults are safe: any path except CI workflows and configs, lockfiles, env files, keys and
certificates, and binaries; at most 10 files and 200 changed lines. `kind: copy` also requires
that only string literals, comments and prose changed (bot/changes/copy_only.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.changes.copy_only import check_file
from bot.config import ChangePolicy
from bot.repos.diff import Diff


@dataclass
class Verdict:
    allowed: bool
    summary: str
    problems: list[str] = field(default_factory=list)


def evaluate(policy: ChangePolicy, diff: Diff) -> Verdict:
    if policy.read_only:
        return Verdict(False, "this channel's change policy is read-only (`kind: none`)",
                       ["the change policy allows no changes"])
    problems: list[str] = []
    for change in diff.files:
        if change.binary:
            problems.append(f"`{change.path}` is a binary file")
        elif any(matches(pattern, change.path) for pattern in policy.deny):
            problems.append(f"`{change.path}` is on the deny list ({_which(policy.deny, change.path)})")
        elif not any(matches(pattern, change.path) for pattern in policy.allow):
            problems.append(f"`{change.path}` is outside the allowed paths ({', '.join(policy.allow)})")
    if len(diff.files) > policy.max_files:
        problems.append(f"{len(diff.files)} files changed; the limit is {policy.max_files}")
    lines = diff.added + diff.deleted
    if lines > policy.max_lines:
        problems.append(f"{lines} lines changed; the limit is {policy.max_lines}")
    if policy.kind == "copy":
        return _copy_verdict(diff, problems)
    if problems:
        return Verdict(False, "outside policy: " + "; ".join(problems), problems)
    return Verdict(True, f"within policy: {diff.stat()}")


def _copy_verdict(diff: Diff, problems: list[str]) -> Verdict:
    strings = 0
    code_files = set()
    prose_files = set()
    for change in diff.files:
        if change.binary:
            continue
        result = check_file(change.path, change.old_text, change.new_text)
        if not result.copy_only:
            problems.append(result.reason or f"`{change.path}` changed more than copy")
        elif result.prose:
            prose_files.add(change.path)
        else:
            strings += result.strings_changed
            code_files.add(change.path)
    if problems:
        return Verdict(False, "not copy-only: " + "; ".join(problems), problems)
    parts = []
    if code_files:
        parts.append(f"{strings} string literal{'s' if strings != 1 else ''} in {len(code_files)} "
                     f"file{'s' if len(code_files) != 1 else ''}")
    if prose_files:
        parts.append(f"prose in {len(prose_files)} file{'s' if len(prose_files) != 1 else ''}")
    return Verdict(True, f"copy-only: {' and '.join(parts)}, no code tokens changed")


def matches(pattern: str, path: str) -> bool:
    """Glob match where `**` spans directories, `*` and `?` do not; a pattern without `/` matches a
    file name in any directory."""
    if "/" not in pattern:
        pattern = "**/" + pattern
    return _compile(pattern).fullmatch(path) is not None


def _which(patterns: tuple[str, ...], path: str) -> str:
    return next(p for p in patterns if matches(p, path))


_cache: dict[str, re.Pattern] = {}


def _compile(pattern: str) -> re.Pattern:
    if pattern not in _cache:
        regex = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex += "(?:.*/)?"
                i += 3
            elif pattern.startswith("**", i):
                regex += ".*"
                i += 2
            elif pattern[i] == "*":
                regex += "[^/]*"
                i += 1
            elif pattern[i] == "?":
                regex += "[^/]"
                i += 1
            else:
                regex += re.escape(pattern[i])
                i += 1
        _cache[pattern] = re.compile(regex)
    return _cache[pattern]
