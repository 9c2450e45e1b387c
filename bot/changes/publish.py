"""From an approved preview to a pull request: approve, re-check, push, open (or update), report.

Idempotent end to end: the status moves to `publishing` in one atomic update (a double click or a
redelivered click does nothing), the branch name is recorded before anything is pushed, a branch
that already carries this change is not pushed again, and an existing PR for the branch is found
rather than duplicated. The change policy is applied again to the exact patch being pushed.
"""

from __future__ import annotations

import asyncio
import logging
import time

import git

from bot.changes import diff as changes
from bot.changes.forge import ForgeError, GitHub
from bot.changes.policy import evaluate
from bot.changes.proposal import branch_name
from bot.config import ChangePolicy
from bot.errors import UserError
from bot.repos.git_auth import GitAuth
from bot.repos.links import parse_repo
from bot.repos.workspace import Workspaces, Worktree
from bot.settings import Settings
from bot.slack import preview
from bot.slack.io import SlackIO
from bot.store.records import OPEN_FOR_ACTION, Proposal
from bot.store.sqlite import Store

log = logging.getLogger(__name__)

TRAILER = "Chatops-Change"


class Publisher:
    def __init__(self, settings: Settings, store: Store, io: SlackIO, workspaces: Workspaces, github: GitHub,
                 git_auth: GitAuth) -> None:
        self.settings = settings
        self.store = store
        self.io = io
        self.workspaces = workspaces
        self.github = github
        self.git_auth = git_auth
        self._tasks: set[asyncio.Task] = set()

    async def policy(self, proposal: Proposal) -> ChangePolicy:
        name = await self.io.channel_name(proposal.channel) if proposal.channel[:1] in "CG" else None
        return self.settings.channel(proposal.channel, name).policy

    async def open(self, proposal_id: str, user: str) -> str | None:
        """Start opening the PR; returns a message for the clicker when nothing was started."""
        proposal = self.store.get_proposal(proposal_id)
        if proposal is None:
            return "I can't find that change any more."
        if proposal.status == "opened":
            return f"It is already open: {proposal.pr_url}"
        if proposal.status not in OPEN_FOR_ACTION:
            return f"That change is {proposal.status}, so it can't be opened."
        policy = await self.policy(proposal)
        approvers = policy.approvers or (proposal.requester,)
        if user not in approvers:
            return f"Only {', '.join(f'<@{a}>' for a in approvers)} can open this pull request."
        blocked = preview.can_open(proposal, policy.require_passing_checks)
        if blocked:
            return f"This change can't become a pull request: {blocked}."
        if not self.store.move_proposal(proposal.id, OPEN_FOR_ACTION, "publishing", opened_by=user):
            return None  # a double click, or Slack redelivering the click
        task = asyncio.create_task(self._publish(proposal_id, user, policy))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return None

    async def discard(self, proposal_id: str, user: str) -> str | None:
        proposal = self.store.get_proposal(proposal_id)
        if proposal is None:
            return "I can't find that change any more."
        policy = await self.policy(proposal)
        if user not in (*policy.approvers, proposal.requester):
            return f"Only <@{proposal.requester}> can discard this change."
        if not self.store.move_proposal(proposal.id, ("previewed", "failed", "refused"), "discarded"):
            return f"That change is {self.store.get_proposal(proposal_id).status}; nothing to discard."
        kept = f" PR #{proposal.pr_number} stays as it was." if proposal.pr_number else ""
        await self._settle(proposal, f":wastebasket: Discarded by <@{user}>; nothing was pushed.{kept}")
        return None

    async def expire_stale(self) -> int:
        cutoff = time.time() - self.settings.preview_ttl
        expired = 0
        for proposal in self.store.proposals_with(["previewed", "failed"]):
            if proposal.updated_at < cutoff and self.store.move_proposal(proposal.id, ("previewed", "failed"),
                                                                         "expired"):
                hours = self.settings.preview_ttl / 3600
                await self._settle(proposal, f":hourglass: This preview expired after {hours:g} h without a "
                                             "decision; nothing was pushed. Ask me again to redo it.")
                expired += 1
        return expired

    async def recover(self) -> None:
        """After a restart: a half-done publish is reported, and Open PR works again (idempotently)."""
        for proposal in self.store.proposals_with(["publishing"]):
            self.store.move_proposal(proposal.id, ("publishing",), "failed", error="interrupted by a restart")
            await self._tell(proposal, ":warning: I was restarted while opening the pull request. Press *Open PR* "
                                       "again; nothing will be duplicated.")

    async def wait(self) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks))

    async def _publish(self, proposal_id: str, user: str, policy: ChangePolicy) -> None:
        proposal = self.store.get_proposal(proposal_id)
        try:
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
                verdict = evaluate(policy, await changes.collect(worktree.path, proposal.base_sha))
                if not verdict.allowed:  # enforced twice: the patch about to be pushed, against today's policy
                    self.store.move_proposal(proposal.id, ("publishing",), "refused", verdict=verdict.summary)
                    await self._settle(proposal, f":no_entry: Not pushed: {verdict.summary}.")
                    return
                requester = await self.io.user_name(proposal.requester)
                thread_link = await self._thread_link(proposal)
                await self._push(worktree, link.url, proposal, requester, thread_link)
            finally:
                await self.workspaces.release(worktree)
            body = preview.pr_body(proposal, requester=requester, thread_link=thread_link, run_id=proposal.run_id)
            if proposal.pr_number:
                await self.github.update_pr(owner, repo, proposal.pr_number, title=proposal.title, body=body)
                await self.github.comment(owner, repo, proposal.pr_number,
                                          f"Updated from Slack by <@{user}>'s approval: {proposal.summary}")
                pr = {"number": proposal.pr_number, "html_url": proposal.pr_url}
                verb = "Updated"
            else:
                pr = await self.github.create_pr(owner, repo, title=proposal.title, head=proposal.branch,
                                                 base=proposal.base_branch, body=body)
                verb = "Opened"
            self.store.move_proposal(proposal.id, ("publishing",), "opened", pr_number=pr["number"],
                                     pr_url=pr["html_url"], error=None)
            await self._settle(proposal, f":rocket: {verb} <{pr['html_url']}|PR #{pr['number']}> "
                                         f"(approved by <@{user}>).")
            await self._tell(proposal, f":rocket: {verb} <{pr['html_url']}|PR #{pr['number']}>: {proposal.title}")
        except UserError as exc:
            await self._failed(proposal, exc.message, exc.retryable)
        except Exception as exc:
            log.error("publishing change %s failed", proposal_id, exc_info=exc)
            await self._failed(proposal, f"Sorry, something went wrong on my side (change `{proposal.id}`).", True)

    async def _push(self, worktree: Worktree, url: str, proposal: Proposal, requester: str,
                    thread_link: str | None) -> None:
        env = await self.git_auth.env_for(url)
        name, email = self.settings.git_author
        message = (f"{proposal.title}\n\n{proposal.summary}\n\nRequested in Slack by {requester}"
                   + (f": {thread_link}" if thread_link else "") + f"\n\n{TRAILER}: {proposal.id}\n")

        def push() -> None:
            repo = git.Repo(worktree.path)
            remote = repo.git.ls_remote(url, f"refs/heads/{proposal.branch}", env=env, kill_after_timeout=60)
            parent = proposal.base_sha
            if remote.strip():
                head = remote.split()[0]
                repo.git.fetch(url, f"refs/heads/{proposal.branch}", env=env, kill_after_timeout=120)
                if f"{TRAILER}: {proposal.id}" in repo.git.log("-1", "--format=%B", head):
                    return  # this change is already on the branch (a retry after a lost answer)
                parent = head
            tree = repo.git.write_tree()
            identity = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name,
                        "GIT_COMMITTER_EMAIL": email}
            commit = repo.git.commit_tree(tree, "-p", parent, "-m", message, env=identity)
            repo.git.push(url, f"{commit}:refs/heads/{proposal.branch}", env=env, kill_after_timeout=120)

        try:
            await asyncio.to_thread(push)
        except git.GitCommandError as exc:
            detail = " ".join(str(exc.stderr or "").split())[:300]
            log.warning("push of %s failed: %s", proposal.id, detail)
            if "workflow" in detail:
                raise UserError("GitHub refused the push: the bot may not change CI workflow files.",
                                retryable=False) from None
            raise ForgeError(f"The push to `{proposal.branch}` failed: {_push_reason(detail)}") from None

    async def _thread_link(self, proposal: Proposal) -> str | None:
        try:
            response = await self.io.client.chat_getPermalink(channel=proposal.channel, message_ts=proposal.thread_ts)
            return response.get("permalink")
        except Exception:
            return None

    async def _failed(self, proposal: Proposal, message: str, retryable: bool) -> None:
        status = "failed" if retryable else "refused"
        self.store.move_proposal(proposal.id, ("publishing",), status, error=message[:500])
        again = " Press *Open PR* to try again; nothing will be duplicated." if retryable else ""
        await self._tell(proposal, f":x: I couldn't open the pull request: {message}{again}")

    async def _settle(self, proposal: Proposal, note: str) -> None:
        if proposal.preview_ts:
            try:
                await self.io.update(proposal.channel, proposal.preview_ts, text=note,
                                     blocks=preview.settled(proposal, note))
                return
            except Exception as exc:
                log.info("could not update the preview of %s (%s)", proposal.id, type(exc).__name__)
        await self._tell(proposal, note)

    async def _tell(self, proposal: Proposal, text: str) -> None:
        try:
            await self.io.post(proposal.channel, proposal.thread_ts, text=text)
        except Exception as exc:
            log.warning("could not tell thread %s about change %s (%s)", proposal.thread_ts, proposal.id,
                        type(exc).__name__)


def _push_reason(detail: str) -> str:
    lowered = detail.lower()
    if "non-fast-forward" in lowered or "fetch first" in lowered:
        return "the branch moved on GitHub since; ask me to redo the change"
    if "permission" in lowered or "403" in lowered or "denied" in lowered:
        return "the bot may not push to this repo (it needs contents write access)"
    return "git push was refused"
