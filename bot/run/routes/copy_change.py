"""The copy-change fast path inside a run: find, classify, ask when mixed, replace, propose.

No model is involved, so it works without one and is instant with one.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.changes import copy as copy_change
from bot.changes.copy import CopyRequest
from bot.changes.proposal import Proposer
from bot.repos.run_repos import RunRepos
from bot.store.records import Proposal


@dataclass
class CopyResult:
    proposal: Proposal | None = None
    answer: str | None = None  # when there is nothing to propose
    question: tuple[int, int, str] | None = None  # (text matches, code matches, table): ask which to change


async def copy_change_run(request: CopyRequest, repos: RunRepos, proposer: Proposer, choice: str | None) -> CopyResult:
    worktree = await repos.worktree(repos.chosen.name)
    matches = await copy_change.find(worktree.path, request)
    scope = f" under `{request.scope}`" if request.scope else ""
    if not matches:
        return CopyResult(answer=f"I couldn't find \"{request.old}\" in `{worktree.link.name}`{scope} "
                                 f"(at `{worktree.sha[:7]}`, {worktree.branch}). Check the exact wording and quotes.")
    text = [m for m in matches if m.user_facing]
    code = [m for m in matches if not m.user_facing]
    if choice == "none":
        return CopyResult(answer=f"OK: I left \"{request.old}\" as it is.")
    if code and choice not in ("text", "all"):
        return CopyResult(question=(len(text), len(code), copy_change.table(matches)))
    chosen = matches if choice == "all" else text
    copy_change.replace(worktree.path, request, chosen)
    where = f" ({request.where})" if request.where and not request.scope else ""
    places = f"{len(chosen)} place{'s' if len(chosen) != 1 else ''}"
    summary = f"Replaces \"{request.old}\" with \"{request.new}\" in {places}{where}:\n{copy_change.table(chosen)}"
    title = f"Change \"{_short(request.old)}\" to \"{_short(request.new)}\""
    return CopyResult(proposal=await proposer.propose(worktree.link.name, title, summary))


def _short(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
