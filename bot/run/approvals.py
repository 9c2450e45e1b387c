"""The buttons on a change preview: Open PR (approve, publish, report) and Discard; previews that expire.

The status moves to `publishing` in one atomic update, so a double click or a redelivered click
does nothing; after a restart a half-done publish is reported and Open PR works again. The
publishing itself (re-check, push, PR) is bot/changes/publish.py.
"""

from __future__ import annotations

import asyncio
import logging
import time

from bot.changes.proposal import can_open
from bot.changes.publish import Publisher, RefusedError
from bot.channel import ChannelContext
from bot.config import ChangePolicy
from bot.errors import UserError
from bot.run.request import OUTSIDERS
from bot.settings import Settings
from bot.slack import preview
from bot.slack.io import SlackIO
from bot.store.records import OPEN_FOR_ACTION, Proposal
from bot.store.sqlite import Store

log = logging.getLogger(__name__)


class Approvals:
    def __init__(self, settings: Settings, store: Store, io: SlackIO, publisher: Publisher) -> None:
        self.settings = settings
        self.store = store
        self.io = io
        self.publisher = publisher
        self.home_team = ""  # the bot's own workspace, set at start (auth.test)
        self._tasks: set[asyncio.Task] = set()

    async def policy(self, proposal: Proposal) -> ChangePolicy:
        name = await self.io.channel_name(proposal.channel)
        return ChannelContext.of(self.settings, self.store, proposal.channel, name).policy

    async def open(self, proposal_id: str, user: str) -> str | None:
        """Start opening the PR; returns a message for the clicker when nothing was started."""
        proposal = self.store.get_proposal(proposal_id)
        if proposal is None:
            return "I can't find that change any more."
        if proposal.status == "opened":
            return f"It is already open: {proposal.pr_url}"
        if proposal.status not in OPEN_FOR_ACTION:
            return f"That change is {proposal.status}, so it can't be opened."
        if await self.io.is_outsider(user, self.home_team):
            return OUTSIDERS
        policy = await self.policy(proposal)
        approvers = policy.approvers or (proposal.requester,)
        if user not in approvers:
            return f"Only {', '.join(f'<@{a}>' for a in approvers)} can open this pull request."
        blocked = can_open(proposal, policy.require_passing_checks)
        if blocked:
            return f"This change can't become a pull request: {blocked}."
        if not self.store.move_proposal(proposal.id, OPEN_FOR_ACTION, "publishing", opened_by=user):
            return None  # a double click, or Slack redelivering the click
        task = asyncio.create_task(self._publish(proposal.id, user, policy))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return None

    async def discard(self, proposal_id: str, user: str) -> str | None:
        proposal = self.store.get_proposal(proposal_id)
        if proposal is None:
            return "I can't find that change any more."
        if await self.io.is_outsider(user, self.home_team):
            return OUTSIDERS
        policy = await self.policy(proposal)
        if user not in (*policy.approvers, proposal.requester):
            return f"Only <@{proposal.requester}> can discard this change."
        if not self.store.move_proposal(proposal.id, ("previewed", "failed", "refused"), "discarded"):
            now = self.store.get_proposal(proposal_id)
            return f"That change is {now.status if now else 'gone'}; nothing to discard."
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
        if proposal is None:
            return
        try:
            requester = await self.io.user_name(proposal.requester)
            pr = await self.publisher.publish(proposal, policy, approver=user, requester=requester,
                                              thread_link=await self._thread_link(proposal))
        except RefusedError as exc:
            self.store.move_proposal(proposal.id, ("publishing",), "refused", verdict=exc.message)
            await self._settle(proposal, f":no_entry: Not pushed: {exc.message}.")
            return
        except UserError as exc:
            await self._failed(proposal, exc.message, exc.retryable)
            return
        except Exception as exc:
            log.error("publishing change %s failed", proposal_id, exc_info=exc)
            await self._failed(proposal, f"Sorry, something went wrong on my side (change `{proposal.id}`).", True)
            return
        self.store.move_proposal(proposal.id, ("publishing",), "opened", pr_number=pr.number, pr_url=pr.url,
                                 error=None)
        verb = "Updated" if pr.updated else "Opened"
        await self._settle(proposal, f":rocket: {verb} <{pr.url}|PR #{pr.number}> (approved by <@{user}>).")
        await self._tell(proposal, f":rocket: {verb} <{pr.url}|PR #{pr.number}>: {proposal.title}")

    async def _thread_link(self, proposal: Proposal) -> str | None:
        try:
            response = await self.io.client.chat_getPermalink(channel=proposal.channel, message_ts=proposal.thread_ts)
            return response.get("permalink")
        except Exception:
            log.warning("no permalink for thread %s", proposal.thread_ts, exc_info=True)
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
            except Exception:
                log.info("could not update the preview of %s", proposal.id, exc_info=True)
        await self._tell(proposal, note)

    async def _tell(self, proposal: Proposal, text: str) -> None:
        try:
            await self.io.post(proposal.channel, proposal.thread_ts, text=text)
        except Exception:
            log.warning("could not tell thread %s about change %s", proposal.thread_ts, proposal.id, exc_info=True)
