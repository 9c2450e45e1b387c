"""Reading a linked repo: list files, read a file, search with ripgrep. All paths stay inside the
run's worktree; every result names the commit it came from and is capped with an exact note."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path, PurePosixPath

from bot.errors import SkillError
from bot.repos.search import SearchError, ripgrep
from bot.repos.workspace import Worktree
from skills.base import RunContext

MAX_ENTRIES = 200
MAX_READ_LINES = 300
MAX_LINE_CHARS = 500
MAX_MATCHES = 50


def confine(worktree: Worktree, path: str) -> tuple[Path, str]:
    """(absolute path, repo-relative path) for `path`, refusing anything that leaves the worktree."""
    relative = PurePosixPath((path or ".").strip().lstrip("/") or ".")
    if any(part == ".." for part in relative.parts):
        raise SkillError(f"`{path}`: paths may not contain `..`; give a path from the repo root")
    if relative.parts and relative.parts[0] == ".git":
        raise SkillError("`.git` is off limits; use git_log, git_show and git_blame for history")
    root = worktree.path.resolve()
    target = (root / relative).resolve()
    if target != root and root not in target.parents:
        raise SkillError(f"`{path}` leads outside the repository (through a symlink); it cannot be read")
    return target, str(relative)


def header(worktree: Worktree) -> str:
    return f"{worktree.link.name} @ {worktree.sha[:12]} ({worktree.branch})"


async def with_agents_notes(ctx: RunContext, worktree: Worktree, relative_dir: str, text: str) -> str:
    notes = await ctx.need_repos().nearby_agents_md(worktree, relative_dir)
    return f"{notes}\n\n{text}" if notes else text


async def list_files(ctx: RunContext, repo: str, path: str = ".", depth: int = 2) -> str:
    """List a linked repo's files under a directory (tracked and untracked, .gitignore respected).

    Args:
        repo: the linked repo's name, e.g. `acme/api` (or its short name).
        path: directory from the repo root.
        depth: how many directory levels to show (1-6); deeper entries are summarised as counts.
    """
    worktree = await ctx.need_repos().worktree(repo)
    target, relative = confine(worktree, path)
    if not target.is_dir():
        raise SkillError(f"`{relative}` is not a directory in {worktree.link.name}")
    depth = max(1, min(depth, 6))
    files = await _search(["--files", "--hidden", "-g", "!.git", "--", relative], worktree.path)
    listing = await asyncio.to_thread(_tree, files, relative, depth)  # tens of thousands of paths in a big repo
    return await with_agents_notes(ctx, worktree, relative, f"{header(worktree)}: {listing}")


async def read_file(ctx: RunContext, repo: str, path: str, start_line: int = 1, end_line: int = 0) -> str:
    """Read lines of a file in a linked repo, numbered, with a SHA-pinned link to cite.

    Args:
        repo: the linked repo's name.
        path: file path from the repo root.
        start_line: first line to show (1-based).
        end_line: last line to show; 0 means up to 300 lines from start_line.
    """
    worktree = await ctx.need_repos().worktree(repo)
    target, relative = confine(worktree, path)
    if not target.is_file():
        raise SkillError(f"`{relative}` is not a file in {worktree.link.name}; use list_files or search_code")
    lines, size = await asyncio.to_thread(_lines, target)
    if lines is None:
        return f"{header(worktree)}: {relative} is a binary file ({size} bytes); not shown"
    start = max(1, start_line)
    end = min(len(lines), end_line if end_line >= start else start + MAX_READ_LINES - 1, start + MAX_READ_LINES - 1)
    if start > max(len(lines), 1):
        raise SkillError(f"`{relative}` has {len(lines)} lines; start_line {start} is past the end")
    width = len(str(end))
    body = [f"{n:>{width}} | {_clip(lines[n - 1])}" for n in range(start, end + 1)]
    cite = worktree.link.cite(worktree.sha, relative, start, end)
    text = [f"{header(worktree)}: {relative} lines {start}-{end} of {len(lines)} — cite as {cite}", *body]
    if end < len(lines):
        text.append(f"[lines {end + 1}-{len(lines)} not shown; call read_file with start_line={end + 1}]")
    return await with_agents_notes(ctx, worktree, str(PurePosixPath(relative).parent), "\n".join(text))


async def search_code(ctx: RunContext, repo: str, pattern: str, path_glob: str = "") -> str:
    """Search a linked repo with ripgrep (regex, .gitignore respected); up to 50 matches as path:line: text.

    Args:
        repo: the linked repo's name.
        pattern: a ripgrep (Rust) regular expression; case-sensitive unless it has (?i).
        path_glob: only files matching this glob, e.g. `*.py` or `src/**/config*`.
    """
    worktree = await ctx.need_repos().worktree(repo)
    args = ["-n", "--no-heading", "--color=never", "--hidden", "-g", "!.git", "--max-columns=300",
            "--max-columns-preview"]
    if path_glob:
        args += ["-g", path_glob]
    output = await _search([*args, "-e", pattern, "--", "."], worktree.path)
    where = f" in {path_glob}" if path_glob else ""
    found = await asyncio.to_thread(_matches, output, f"/{pattern}/{where}")  # a loose pattern matches millions
    if found is None:
        return f"{header(worktree)}: no matches for /{pattern}/{where}"
    summary, first_dir = found
    return await with_agents_notes(ctx, worktree, first_dir, f"{header(worktree)}: {summary}")


def _matches(output: str, searched: str) -> tuple[str, str] | None:
    """(ripgrep's matches, counted and capped; the directory of the first), or None when there are none."""
    matches = [line.removeprefix("./") for line in output.splitlines() if line]
    if not matches:
        return None
    files = {m.split(":", 1)[0] for m in matches}
    lines = [f"{len(matches)} matches in {len(files)} files for {searched}", *matches[:MAX_MATCHES]]
    if len(matches) > MAX_MATCHES:
        lines.append(f"[{len(matches)} matches; showing {MAX_MATCHES}; narrow the pattern or path_glob]")
    return "\n".join(lines), str(PurePosixPath(matches[0].split(":", 1)[0]).parent)


def _lines(target: Path) -> tuple[list[str] | None, int]:
    """(the file's lines, or None when it is binary; its size in bytes)."""
    data = target.read_bytes()
    if b"\0" in data[:8192]:
        return None, len(data)
    return data.decode("utf-8", errors="replace").splitlines(), len(data)


def _tree(files: str, relative: str, depth: int) -> str:
    """ripgrep's file list under `relative` as entries `depth` levels deep, deeper ones counted."""
    paths = files.splitlines()
    base = len(PurePosixPath(relative).parts) if relative != "." else 0
    entries: Counter[str] = Counter()
    for line in paths:
        parts = PurePosixPath(line.removeprefix("./")).parts
        if len(parts) - base <= depth:
            entries["/".join(parts)] += 0
        else:
            entries["/".join(parts[: base + depth]) + "/"] += 1
    names = sorted(entries)
    shown = [f"{name}  ({entries[name]} files)" if name.endswith("/") else name for name in names[:MAX_ENTRIES]]
    lines = [f"{relative}/ ({len(paths)} files, depth {depth})", *shown]
    if len(names) > MAX_ENTRIES:
        lines.append(f"[{len(names)} entries; showing {MAX_ENTRIES}; list a subdirectory or lower depth]")
    return "\n".join(lines)


def _clip(line: str) -> str:
    return line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + f" [… {len(line) - MAX_LINE_CHARS} chars]"



async def _search(args: list[str], cwd: Path) -> str:
    try:
        return await ripgrep(args, cwd)
    except SearchError as exc:
        raise SkillError(exc.message) from None
