"""A linked repo's history, read from its mirror at the run's pinned commit: log, show, blame."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import git

from bot.errors import SkillError
from bot.repos.run_repos import Pinned
from skills.base import RunContext
from skills.repo_files import MAX_LINE_CHARS

MAX_COMMITS = 30
MAX_BLAME_LINES = 200
REV = re.compile(r"^[A-Za-z0-9_./~^@{}:-]{1,200}$")
FIELD, RECORD = "\x1f", "\x1e"


async def git_log(ctx: RunContext, repo: str, path: str = "", since: str = "", until: str = "",
                  grep: str = "") -> str:
    """Commits in a linked repo, newest first, up to 30: short SHA, date, author, subject (and a link).

    Args:
        repo: the linked repo's name.
        path: only commits touching this file or directory.
        since: only commits after this date, e.g. `2026-11-01` or `2 weeks ago`.
        until: only commits before this date.
        grep: only commits whose message matches this (case-insensitive).
    """
    pinned = await ctx.need_repos().pin(repo)
    args = ["log", f"--format=%H{FIELD}%ad{FIELD}%an{FIELD}%s{RECORD}", "--date=short", f"-n{MAX_COMMITS + 1}"]
    for flag, value in (("--since", since), ("--until", until)):
        if value:
            args.append(f"{flag}={_plain(value, flag)}")
    if grep:
        args += ["-i", f"--grep={grep}"]
    args += [pinned.sha, "--", _repo_path(path)] if path else [pinned.sha]
    output = await _git(pinned, args)
    records = [r.strip() for r in output.split(RECORD) if r.strip()]
    lines = [f"{pinned.link.name} @ {pinned.sha[:12]} ({pinned.branch}): commits"
             + (f" touching {path}" if path else "")]
    for record in records[:MAX_COMMITS]:
        sha, date, author, subject = record.split(FIELD, 3)
        link = f" {pinned.link.web_url}/commit/{sha}" if pinned.link.web_url else ""
        lines.append(f"{sha[:10]} {date} {author}: {subject}{link}")
    if not records:
        lines.append("(no commits match)")
    if len(records) > MAX_COMMITS:
        lines.append(f"[more than {MAX_COMMITS} commits; narrow with path, since, until or grep]")
    return "\n".join(lines)


async def git_show(ctx: RunContext, repo: str, rev: str) -> str:
    """One commit of a linked repo: author, date, message, changed files and the patch (capped).

    Args:
        repo: the linked repo's name.
        rev: a commit SHA (or branch, tag, HEAD~2...).
    """
    pinned = await ctx.need_repos().pin(repo)
    rev = _plain(rev, "rev")
    output = await _git(pinned, ["show", "--stat", "--patch", "--format=fuller", "--no-color", rev, "--"])
    sha = output.split("\n", 1)[0].removeprefix("commit ").strip()
    link = f" {pinned.link.web_url}/commit/{sha}" if pinned.link.web_url and sha else ""
    return f"{pinned.link.name}: {rev}{link}\n{output}"


async def git_blame(ctx: RunContext, repo: str, path: str, start_line: int, end_line: int) -> str:
    """Who last changed each line of a range of a file in a linked repo, and in which commit.

    Args:
        repo: the linked repo's name.
        path: file path from the repo root.
        start_line: first line (1-based).
        end_line: last line (at most 200 lines in one call).
    """
    pinned = await ctx.need_repos().pin(repo)
    if start_line < 1 or end_line < start_line:
        raise SkillError("start_line must be at least 1 and end_line at least start_line")
    end_line = min(end_line, start_line + MAX_BLAME_LINES - 1)
    output = await _git(pinned, ["blame", "--porcelain", "-L", f"{start_line},{end_line}", pinned.sha, "--",
                                 _repo_path(path)])
    authors: dict[str, tuple[str, str]] = {}
    lines = [f"{pinned.link.name} @ {pinned.sha[:12]}: blame of {path} lines {start_line}-{end_line}"]
    sha = ""
    for line in output.splitlines():
        head = re.match(r"^([0-9a-f]{40}) \d+ (\d+)", line)
        if head:
            sha, number = head.group(1), int(head.group(2))
        elif line.startswith("author ") and sha not in authors:
            authors[sha] = (line[7:], "")
        elif line.startswith("author-time ") and sha in authors and not authors[sha][1]:
            day = dt.datetime.fromtimestamp(int(line.split()[1]), tz=dt.UTC).date().isoformat()
            authors[sha] = (authors[sha][0], day)
        elif line.startswith("\t"):
            who, day = authors.get(sha, ("?", ""))
            text = line[1:]
            text = text if len(text) <= MAX_LINE_CHARS else text[:MAX_LINE_CHARS] + " […]"
            lines.append(f"{sha[:10]} ({who} {day}) {number:>5} | {text}")
    return "\n".join(lines)


def _plain(value: str, what: str) -> str:
    value = value.strip()
    if value.startswith("-") or not REV.match(value.replace(" ", "_")):
        raise SkillError(f"{what} {value!r} is not a revision or date I can pass to git")
    return value


def _repo_path(path: str) -> str:
    path = path.strip().lstrip("/")
    if ".." in path.split("/") or path.startswith("-"):
        raise SkillError(f"`{path}`: give a path from the repo root, without `..`")
    return path


async def _git(pinned: Pinned, args: list[str]) -> str:
    def run() -> str:
        return git.Repo(pinned.mirror).git.execute(["git", *args], kill_after_timeout=30)

    try:
        return await asyncio.to_thread(run)
    except git.GitCommandError as exc:
        detail = exc.stderr if isinstance(exc.stderr, str) else ""
        message = " ".join(detail.replace("stderr:", "").split())[:300] or f"exit {exc.status}"
        raise SkillError(f"git {args[0]} failed: {message}") from None
