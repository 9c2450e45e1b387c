"""Editing a linked repo's worktree and proposing the change for review (which ends the run).

Edits touch only the run's own worktree; nothing leaves it until a person clicks Open PR on
the preview, and the channel's change policy is applied again before anything is pushed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.errors import SkillError
from skills.base import RunContext
from skills.repo_files import confine

MAX_WRITE_BYTES = 200_000


async def edit_file(ctx: RunContext, repo: str, path: str, old: str, new: str) -> str:
    """Replace one exact piece of text in a file of a linked repo. `old` must occur exactly once
    (include surrounding text to make it unique); use propose_change when all edits are done.

    Args:
        repo: the linked repo's name.
        path: file path from the repo root.
        old: the exact text to replace, as it is in the file (whitespace included).
        new: the text to put in its place.
    """
    worktree = await ctx.need_repos().worktree(repo)
    target, relative = confine(worktree, path)
    return await asyncio.to_thread(_replace_once, target, relative, worktree.link.name, old, new)


def _replace_once(target: Path, relative: str, repo: str, old: str, new: str) -> str:
    if not target.is_file():
        raise SkillError(f"`{relative}` is not a file in {repo}; use write_file to create one")
    if not old:
        raise SkillError("`old` is empty; give the exact text to replace")
    text = target.read_text(encoding="utf-8")
    count = text.count(old)
    if count != 1:
        hint = "not found (check whitespace and quotes, or read_file first)" if count == 0 else \
            f"found {count} times; include more surrounding text so it is unique"
        raise SkillError(f"`old` was {hint} in `{relative}`")
    updated = text.replace(old, new, 1)
    target.write_text(updated, encoding="utf-8")
    line = text[: text.index(old)].count("\n") + 1
    return f"Edited `{relative}` at line {line}: replaced {len(old)} characters with {len(new)}."


async def write_file(ctx: RunContext, repo: str, path: str, content: str) -> str:
    """Create a new text file (for example a doc page) in a linked repo, or overwrite one you created.
    To change an existing file use edit_file.

    Args:
        repo: the linked repo's name.
        path: file path from the repo root; missing directories are created.
        content: the whole file content.
    """
    worktree = await ctx.need_repos().worktree(repo)
    target, relative = confine(worktree, path)
    if target.is_dir():
        raise SkillError(f"`{relative}` is a directory")
    if target.exists() and await ctx.need_repos().is_tracked(worktree, relative):
        raise SkillError(f"`{relative}` already exists in the repo; change it with edit_file")
    data = content.encode("utf-8")
    if len(data) > MAX_WRITE_BYTES:
        raise SkillError(f"that is {len(data)} bytes; the limit for one file is {MAX_WRITE_BYTES}")

    def write() -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        confine(worktree, relative)  # the new directories must not have led outside either
        target.write_bytes(data)

    await asyncio.to_thread(write)
    return f"Wrote `{relative}` ({len(data)} bytes, {len(content.splitlines())} lines)."


async def propose_change(ctx: RunContext, repo: str, title: str, summary: str) -> str:
    """Propose the edits made in this run for review: runs the repo's checks in the sandbox, applies
    the channel's change policy, and shows the person a preview with Open PR / Discard buttons.
    Call it once, when every edit is done; it ends your work on this request.

    Args:
        repo: the linked repo's name.
        title: the pull request title: what changes, in under 70 characters.
        summary: one or two sentences for the reviewer: what changed and why.
    """
    if ctx.proposer is None:
        raise SkillError("changes can't be proposed from here")
    proposal = await ctx.proposer.propose(repo, title, summary)
    ctx.end_requested = True
    checks = ", ".join(f"{'passed' if c.passed else 'FAILED'}: {c.command}" for c in proposal.checks) or "none"
    return (f"Proposed ({proposal.verdict}; checks: {checks}). The person now sees the preview; "
            "do not call more tools.")
