"""Turning a run's edits into a proposal: the diff, the channel's policy, the repo's checks.

Used by the `propose_change` skill and by the copy-change fast path. Posting the preview is the
route's part (bot/slack/preview.py); opening the PR is bot/run/approvals.py's.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass

from bot.changes.checks import commands_from_agents_md, run_checks
from bot.changes.policy import evaluate
from bot.config import ChangePolicy
from bot.errors import SkillError
from bot.repos import diff as changes
from bot.repos.run_repos import RunRepos
from bot.repos.sandbox import Sandbox
from bot.store.records import Proposal, new_proposal_id
from bot.store.sqlite import Store

log = logging.getLogger(__name__)


@dataclass
class Proposer:
    """One run's way to propose a change; `proposal` is set once it has (which ends the run)."""

    store: Store
    sandbox: Sandbox
    policy: ChangePolicy
    repos: RunRepos
    run_id: str
    channel: str
    thread_ts: str
    requester: str
    request: str
    previous: Proposal | None = None  # the thread's earlier proposal this one amends
    proposal: Proposal | None = None

    async def propose(self, repo: str, title: str, summary: str) -> Proposal:
        if self.proposal is not None:
            raise SkillError("a change was already proposed in this run; the person will review it")
        worktree = await self.repos.worktree(repo)
        diff = await changes.collect(worktree.path, worktree.sha)
        if diff.empty:
            raise SkillError("there are no changes to propose; edit files with edit_file or write_file first")
        verdict = await asyncio.to_thread(evaluate, self.policy, diff)  # a copy-only policy lexes every file
        checks = []
        if verdict.allowed:
            commands = list(worktree.link.checks) or commands_from_agents_md(await self.repos.root_agents_text(repo))
            checks = await run_checks(self.sandbox, worktree, commands)
        previous = self.previous if self.previous and self.previous.repo == worktree.link.name else None
        proposal = Proposal(
            id=new_proposal_id(), run_id=self.run_id, channel=self.channel, thread_ts=self.thread_ts,
            requester=self.requester, request=self.request, repo=worktree.link.name, repo_url=worktree.link.url,
            base_branch=worktree.branch, base_sha=worktree.sha, title=_one_line(title, 120) or "Small change",
            summary=summary.strip()[:2000], patch=diff.patch,
            files=[{"path": f.path, "status": f.status, "added": f.added, "deleted": f.deleted} for f in diff.files],
            checks=checks, verdict_ok=verdict.allowed, verdict=verdict.summary,
            status="previewed" if verdict.allowed else "refused",
            branch=previous.branch if previous else None, pr_number=previous.pr_number if previous else None,
            pr_url=previous.pr_url if previous else None, supersedes=previous.id if previous else None,
            created_at=time.time(),
        )
        self.store.save_proposal(proposal)
        if previous and previous.status == "previewed":
            self.store.move_proposal(previous.id, ("previewed",), "superseded")
        self.proposal = proposal
        log.info("run %s proposed %s on %s: %s; %s", self.run_id, proposal.id, proposal.repo, diff.stat(),
                 verdict.summary)
        return proposal


def can_open(proposal: Proposal, require_passing_checks: bool) -> str | None:
    """Why Open PR is not offered, or None when it is."""
    if not proposal.verdict_ok:
        return "it is outside this channel's change policy"
    if require_passing_checks and not proposal.checks_passed:
        return "its checks failed (the channel requires passing checks)"
    return None


def branch_name(proposal: Proposal) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", proposal.title.lower()).strip("-")[:40].strip("-") or "change"
    return f"chatops/{slug}-{proposal.id}"


def _one_line(text: str, limit: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
