"""`change "A" to "B"`: the copy-change route. Find, classify, ask when mixed, replace, propose.

No model is involved, so it works without one and is instant with one. The locating and
classifying is bot/changes/copy.py; the proposal goes through the same policy, checks and
preview as the agent's.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.agent.loop import AgentResult
from bot.changes import copy as copy_change
from bot.changes.copy import CopyRequest
from bot.changes.proposal import Proposer
from bot.errors import UserError
from bot.repos.run_repos import RunRepos
from bot.run.request import (
    Answered,
    AskingError,
    Request,
    Services,
    open_repos,
    refuse_changes_if_not_allowed,
    show_preview,
)
from bot.slack import outcome
from bot.store.records import Proposal


class CopyChangeRoute:
    def __init__(self, services: Services) -> None:
        self.services = services

    def accepts(self, request: Request) -> bool:
        return copy_change.parse(request.choice.request) is not None

    async def answer(self, request: Request) -> Answered:
        copy_request = copy_change.parse(request.choice.request)
        assert copy_request is not None, "accepts() said this is a copy change"
        await refuse_changes_if_not_allowed(self.services, request)
        opened = await open_repos(self.services, request)
        if opened is None:
            raise UserError("Copy changes need a linked repo; link one with `/chatops link repo owner/name`.")
        repos, proposer, _ = opened
        run = request.run
        result = await copy_change_run(copy_request, repos, proposer, run.choice)
        if result.question is not None:
            raise AskingError(outcome.ask_copy(run.id, copy_request.old, *result.question))
        if result.proposal is not None:
            await show_preview(self.services, request, result.proposal)
        else:
            await self.services.io.post(run.channel, run.thread_ts, text=result.answer or "", key=f"{run.id}:answer:0")
        request.save_turn()
        self.services.store.save_thread(request.session)
        return Answered(AgentResult(text=result.answer or "", messages=[]), result.proposal)


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
    await asyncio.to_thread(copy_change.replace, worktree.path, request, chosen)
    where = f" ({request.where})" if request.where and not request.scope else ""
    places = f"{len(chosen)} place{'s' if len(chosen) != 1 else ''}"
    summary = f"Replaces \"{request.old}\" with \"{request.new}\" in {places}{where}:\n{copy_change.table(chosen)}"
    title = f"Change \"{_short(request.old)}\" to \"{_short(request.new)}\""
    return CopyResult(proposal=await proposer.propose(worktree.link.name, title, summary))


def _short(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
