"""From an approved proposal to a pull request: re-check the exact patch, push it, open (or update) the PR.

Idempotent: the branch name is recorded before anything is pushed, a branch that already carries
this change (its trailer) is not pushed again, and an existing PR is updated rather than
duplicated. The change policy is applied again to the exact patch being pushed. Who may press
the button, and what the thread is told, is bot/run/approvals.py's part.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import git

from bot.changes.forge import ForgeError, GitHub
from bot.changes.policy import evaluate
from bot.changes.pr_body import pr_body
from bot.changes.proposal import branch_name
from bot.config import ChangePolicy
from bot.errors import UserError
from bot.repos import diff as changes
from bot.repos.git_auth import GitAuth
from bot.repos.links import parse_repo
from bot.repos.workspace import Workspaces, Worktree
from bot.settings import Settings
from bot.store.records import Proposal
from bot.store.sqlite import Store

log = logging.getLogger(__name__)

TRAILER = "Chatops-Change"


class RefusedError(UserError):
    """Today's change policy refuses the exact patch about to be pushed."""


@dataclass(frozen=True)
class PullRequest:
    number: int
    url: str
    updated: bool  # an existing PR got the change (else a new one was opened)


class Publisher:
    def __init__(self, settings: Settings, store: Store, workspaces: Workspaces, github: GitHub,
                 git_auth: GitAuth) -> None:
        self.settings = settings
        self.store = store
        self.workspaces = workspaces
        self.github = github
        self.git_auth = git_auth

    async def publish(self, proposal: Proposal, policy: ChangePolicy, *, approver: str, requester: str,
                      thread_link: str | None) -> PullRequest:
        """Push the proposal's patch to its branch and open or update its PR. The proposal must be `publishing`."""
        link = parse_repo(proposal.repo_url, self.settings, name=proposal.repo)
        if link.owner_repo is None:
            raise UserError(f"Pull requests need a GitHub repo; `{proposal.repo}` is not on "
                            f"{self.settings.github_web_url}.", retryable=False)
        owner, repo = link.owner_repo
        if not proposal.branch:
            proposal.branch = branch_name(proposal)
            self.store.move_proposal(proposal.id, ("publishing",), "publishing", branch=proposal.branch)
        worktree = await self.workspaces.checkout(link, f"pub-{proposal.id}", proposal.base_branch,
                                                  sha=proposal.base_sha)
        try:
            await asyncio.to_thread(changes.apply_patch, worktree.path, proposal.patch)
            # a `kind: copy` policy lexes every changed file: off the loop
            verdict = await asyncio.to_thread(evaluate, policy, await changes.collect(worktree.path, proposal.base_sha))
            if not verdict.allowed:  # enforced twice: the patch about to be pushed, against today's policy
                raise RefusedError(verdict.summary)
            await self._push(worktree, link.url, proposal, proposal.branch, requester, thread_link)
        finally:
            await self.workspaces.release(worktree)
        body = pr_body(proposal, requester=requester, thread_link=thread_link, run_id=proposal.run_id)
        if proposal.pr_number and proposal.pr_url:
            await self.github.update_pr(owner, repo, proposal.pr_number, title=proposal.title, body=body)
            await self.github.comment(owner, repo, proposal.pr_number,
                                      f"Updated from Slack by <@{approver}>'s approval: {proposal.summary}")
            return PullRequest(proposal.pr_number, proposal.pr_url, updated=True)
        pr = await self.github.create_pr(owner, repo, title=proposal.title, head=proposal.branch,
                                         base=proposal.base_branch, body=body)
        return PullRequest(pr["number"], pr["html_url"], updated=False)

    async def _push(self, worktree: Worktree, url: str, proposal: Proposal, branch: str, requester: str,
                    thread_link: str | None) -> None:
        env = await self.git_auth.env_for(url)
        name, email = self.settings.git_author
        message = (f"{proposal.title}\n\n{proposal.summary}\n\nRequested in Slack by {requester}"
                   + (f": {thread_link}" if thread_link else "") + f"\n\n{TRAILER}: {proposal.id}\n")

        def push() -> None:
            repo = git.Repo(worktree.path)
            remote = str(repo.git.ls_remote(url, f"refs/heads/{branch}", env=env, kill_after_timeout=60))
            parent = proposal.base_sha
            if remote.strip():
                head = remote.split()[0]
                repo.git.fetch(url, f"refs/heads/{branch}", env=env, kill_after_timeout=120)
                if f"{TRAILER}: {proposal.id}" in str(repo.git.log("-1", "--format=%B", head)):
                    return  # this change is already on the branch (a retry after a lost answer)
                parent = head
            tree = str(repo.git.write_tree())
            identity = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name,
                        "GIT_COMMITTER_EMAIL": email}
            commit = str(repo.git.commit_tree(tree, "-p", parent, "-m", message, env=identity))
            repo.git.push(url, f"{commit}:refs/heads/{branch}", env=env, kill_after_timeout=120)

        try:
            await asyncio.to_thread(push)
        except git.GitCommandError as exc:
            detail = " ".join(str(exc.stderr or "").split())[:300]
            log.warning("push of %s failed: %s", proposal.id, detail, exc_info=True)
            if "workflow" in detail:
                raise UserError("GitHub refused the push: the bot may not change CI workflow files.",
                                retryable=False) from None
            raise ForgeError(f"The push to `{branch}` failed: {_push_reason(detail)}") from None


def _push_reason(detail: str) -> str:
    lowered = detail.lower()
    if "non-fast-forward" in lowered or "fetch first" in lowered:
        return "the branch moved on GitHub since; ask me to redo the change"
    if "permission" in lowered or "403" in lowered or "denied" in lowered:
        return "the bot may not push to this repo (it needs contents write access)"
    return "git push was refused"
