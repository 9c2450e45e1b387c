"""Taking requests in: a Turn becomes a recorded run, exactly once, and is handed to the runner.

Slack redelivers (retries, Socket Mode reconnects) and people double-click; every entry point
claims a key in the store first, so a second delivery does nothing. The claim is persisted,
so this holds across restarts too.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from bot.run.runner import Runner
from bot.slack import blocks
from bot.slack.io import SlackIO
from bot.store.records import ACTIVE, Run
from bot.store.sqlite import Store

log = logging.getLogger(__name__)

SEEN_RETENTION_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Turn:
    """One request to the bot, free of Slack's event shapes."""

    channel: str
    ts: str  # the message's own ts
    thread_ts: str  # the thread the answer goes to (the message itself when top level)
    user: str
    text: str
    team: str = ""


class Intake:
    def __init__(self, store: Store, io: SlackIO, runner: Runner) -> None:
        self.store = store
        self.io = io
        self.runner = runner

    async def accept(self, turn: Turn) -> Run | None:
        """Record and start a run for this turn; None if this message was already taken."""
        with self.runner.intake():
            with self.store.db.atomic():  # one commit for the claim and the run
                if not self.store.claim(f"message:{turn.channel}:{turn.ts}"):
                    log.info("duplicate delivery of %s/%s ignored", turn.channel, turn.ts)
                    return None
                run = self.store.create_run(team=turn.team, channel=turn.channel, thread_ts=turn.thread_ts,
                                            message_ts=turn.ts, user=turn.user, text=turn.text)
            await self.io.react(turn.channel, turn.ts, "eyes")
            self.runner.submit(run.id)
            return run

    def in_conversation(self, channel: str, thread_ts: str) -> bool:
        """Has the bot taken part in this thread (answered, failed, or working now)? Then replies are for it."""
        return self.store.has_thread(channel, thread_ts) or self.store.has_runs(channel, thread_ts)

    async def retry(self, run_id: str, user: str) -> str | None:
        """Run a failed request again. Returns a message for the clicker when nothing was started."""
        old = self.store.get_run(run_id)
        if old is None:
            return "I can't find that request any more."
        if old.status in ACTIVE:
            return "That request is still running."
        if not self.store.claim(f"retry:{run_id}"):
            return None  # a double click, or Slack redelivering the click
        await self._again(old, user, repo=old.repo, branch=old.branch, choice=old.choice)
        return None

    async def answer(self, run_id: str, choice: str, user: str) -> str | None:
        """Continue a request that asked the person to choose (e.g. which copy matches to change)."""
        old = self.store.get_run(run_id)
        if old is None:
            return "I can't find that request any more."
        if user != old.user:
            return f"<@{old.user}> asked, so they choose."
        if old.status != "waiting" or not self.store.claim(f"answer:{run_id}"):
            return None
        await self._again(old, user, repo=old.repo, branch=old.branch, choice=choice)
        return None

    async def choose_repo(self, run_id: str, repo: str, user: str) -> str | None:
        """Continue a request that asked which repo it is about, with the repo picked."""
        old = self.store.get_run(run_id)
        if old is None:
            return "I can't find that request any more."
        if old.status != "waiting" or not self.store.claim(f"choose:{run_id}"):
            return None  # already continuing
        await self._again(old, user, repo=repo, branch=old.branch)
        return None

    async def _again(self, old: Run, user: str, **changes: str | None) -> None:
        run = self.store.create_run(team=old.team, channel=old.channel, thread_ts=old.thread_ts,
                                    message_ts=old.message_ts, user=old.user, text=old.text, retry_of=old.id,
                                    progress_ts=old.progress_ts, **changes)
        for stale in ("x", "no_entry_sign", "white_check_mark", "grey_question"):
            await self.io.unreact(old.channel, old.message_ts, stale)
        await self.io.react(old.channel, old.message_ts, "eyes")
        log.info("run %s continues %s (clicked by %s)", run.id, old.id, user)
        self.runner.submit(run.id)

    def cancel(self, run_id: str, user: str) -> str | None:
        """Cancel a run. Returns a message for the person who asked when it was not cancelled."""
        run = self.store.get_run(run_id)
        if run is None or run.status not in ACTIVE or not self.runner.is_active(run_id):
            return "That request is not running any more."
        if user != run.user:
            return f"Only <@{run.user}>, who asked, can cancel this."
        self.runner.cancel(run_id, by=user)
        return None

    def cancel_thread(self, channel: str, thread_ts: str, user: str) -> bool:
        """Cancel the requester's running runs in a thread ("stop" typed as a reply)."""
        cancelled = False
        for run in self.store.runs(ACTIVE, channel=channel, thread_ts=thread_ts):
            if run.user == user and self.runner.cancel(run.id, by=user):
                cancelled = True
        return cancelled

    def running_in(self, channel: str) -> list[Run]:
        return self.store.runs(ACTIVE, channel=channel)

    async def recover(self) -> None:
        """After a crash or restart: runs left running were interrupted (say so, offer Retry);
        runs that never started are started now. Old dedupe keys are forgotten."""
        self.store.forget_seen_before(time.time() - SEEN_RETENTION_SECONDS)
        for run in self.store.runs(["running"]):
            text = ":warning: I was restarted while working on this, so it stopped."
            self.store.update_run(run.id, status="interrupted", error_kind="interrupted", finished_at=time.time())
            note_blocks = blocks.outcome(text, run_id=run.id, retry=True, note=f"run `{run.id}`")
            try:
                if run.progress_ts:
                    await self.io.update(run.channel, run.progress_ts, text=text, blocks=note_blocks)
                else:
                    await self.io.post(run.channel, run.thread_ts, text=text, blocks=note_blocks,
                                       key=f"{run.id}:outcome")
                await self.io.unreact(run.channel, run.message_ts, "eyes")
                await self.io.react(run.channel, run.message_ts, "x")
            except Exception:
                log.warning("could not tell thread %s/%s about interrupted run %s", run.channel, run.thread_ts,
                            run.id, exc_info=True)
            log.info("run %s was interrupted by a restart", run.id)
        for run in self.store.runs(["queued"]):
            log.info("run %s was queued before the restart; starting it", run.id)
            self.runner.submit(run.id)
