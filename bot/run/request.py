"""One request being answered: the run, its thread, its channel, and what the routes share.

`Services` are the bot's parts a route may use (wired once in bot/app.py). `Request` is the state
of one run; its repo choice is made on first use, because a metric question needs none.
`open_repos` pins the chosen repo (continuing the thread's earlier proposal, if any) and gives
the run its proposer; `show_preview` posts a proposal for approval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.agent.loop import Agent, AgentResult
from bot.changes.proposal import Proposer
from bot.channel import ChannelContext
from bot.errors import UserError
from bot.repos.run_repos import RunRepos
from bot.repos.sandbox import Sandbox
from bot.repos.workspace import Workspaces
from bot.run import prompt
from bot.run.repo_choice import RepoChoice, choose_repo
from bot.settings import Settings
from bot.slack import outcome, preview
from bot.slack.io import Identity, SlackIO
from bot.slack.outcome import Outcome
from bot.slack.progress import Progress
from bot.store.records import Proposal, Run, ThreadSession
from bot.store.sqlite import Store

AMENDABLE = ("previewed", "opened", "failed")


class AskingError(Exception):
    """The run needs the person to choose something before it can go on (not a failure)."""

    def __init__(self, result: Outcome) -> None:
        super().__init__("asking")
        self.outcome = result


@dataclass
class Services:
    settings: Settings
    store: Store
    io: SlackIO
    workspaces: Workspaces
    sandbox: Sandbox
    agent: Agent | None = None
    identity: Identity = field(default_factory=lambda: Identity("", "chatops", ""))


@dataclass
class Answered:
    result: AgentResult
    proposal: Proposal | None = None


@dataclass
class Request:
    run: Run
    session: ThreadSession
    channel: ChannelContext
    progress: Progress
    earlier: list[dict[str, Any]]  # thread messages before this one
    unseen: list[dict[str, Any]]  # ... that the model has not seen yet
    repos: RunRepos | None = None  # opened by a route; closed by the job once the outcome is shown
    _choice: RepoChoice | None = None

    @property
    def choice(self) -> RepoChoice:
        """Which linked repo (and branch) this request is about; asks the person when it is ambiguous."""
        if self._choice is None:
            choice = choose_repo(self.run.text, self.channel.repos, thread=[m.get("text") or "" for m in self.earlier],
                                 thread_repo=self.session.repo, picked=self.run.repo, picked_branch=self.run.branch)
            if choice.ambiguous:
                raise AskingError(outcome.ask_repo(self.run.id, choice.candidates, self.channel.repos))
            self._choice = choice
        return self._choice

    def save_turn(self, messages: list[dict[str, Any]] | None = None) -> None:
        """Remember the thread: what the model has seen (when given) and up to which message."""
        if messages is not None:
            self.session.messages = messages
        self.session.context_ts = self.run.message_ts


async def open_repos(services: Services, request: Request) -> tuple[RunRepos, Proposer, str] | None:
    """The run's repos, pinned (continuing the thread's proposal if there is one), its proposer and the
    repo part of the system prompt; None when the channel has no repo."""
    choice, run, store = request.choice, request.run, services.store
    if choice.link is None:
        return None
    request.progress.headline = f":hourglass_flowing_sand: Reading `{choice.link.name}`…"
    repos = request.repos = RunRepos(services.workspaces, request.channel.repos, choice.link, run.id, choice.branch)
    previous = store.latest_proposal(run.channel, run.thread_ts)
    if previous is None or previous.status not in AMENDABLE or previous.repo != choice.link.name:
        previous = None
    else:
        repos.start_from[previous.repo] = (previous.base_sha, previous.patch)
    pinned = await repos.prepare()
    request.session.repo, request.session.branch = choice.link.name, choice.branch
    store.update_run(run.id, repo=choice.link.name, branch=pinned.branch)
    proposer = Proposer(store, services.sandbox, request.channel.policy, repos, run.id, run.channel, run.thread_ts,
                        run.user, choice.request, previous)
    note = prompt.repos_section(request.channel.repos, pinned, await repos.root_agents_md(pinned))
    if previous is not None:
        pr = f" (open as PR #{previous.pr_number})" if previous.pr_number else ""
        note += (f"This thread already proposed a change to `{previous.repo}`{pr}: {previous.title}. Your "
                 "worktree starts with that change applied; edits add to it, and propose_change updates it.\n")
    return repos, proposer, note


async def show_preview(services: Services, request: Request, proposal: Proposal) -> None:
    policy = request.channel.policy
    proposal.preview_ts = await preview.post(services.io, proposal, approvers=policy.approvers,
                                             require_passing_checks=policy.require_passing_checks)
    services.store.save_proposal(proposal)


OUTSIDERS = ("Guests and people from other workspaces can ask me questions here, but not change code, link "
             "sources or open pull requests.")


async def may_change(services: Services, request: Request) -> bool:
    """May this request change anything: a channel whose policy allows changes, asked by a full member."""
    return not request.channel.policy.read_only and not await services.io.is_outsider(
        request.run.user, services.identity.team_id)


async def refuse_changes_if_not_allowed(services: Services, request: Request) -> None:
    if request.channel.policy.read_only:
        raise UserError("This channel's change policy is read-only (`kind: none` in chatops.yml), so I can't "
                        "propose changes here. I can still answer questions about the code.")
    if not await may_change(services, request):
        raise UserError(OUTSIDERS)
