"""Showing that a run is working: one message in the thread, edited in place (never a flood),
or Slack's assistant status line in assistant threads.

Edits are throttled to one per `interval` seconds; the newest state always wins and is shown
by the end. Where the status line is refused, it falls back to the progress message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.slack import blocks
from bot.slack.io import CONNECTION_ERRORS, SlackIO

log = logging.getLogger(__name__)

WORKING = ":hourglass_flowing_sand: Working on it…"
QUEUED = ":hourglass: Queued: other requests are running; this starts as soon as one finishes."


class Progress:
    def __init__(self, io: SlackIO, channel: str, thread_ts: str, run_id: str, *,
                 status_line: bool = False, interval: float = 1.5, message_ts: str | None = None) -> None:
        self.io = io
        self.channel = channel
        self.thread_ts = thread_ts
        self.run_id = run_id
        self.status_line = status_line
        self.interval = interval
        self.message_ts = message_ts
        self.headline = WORKING
        self.steps: list[str] = []
        self._last_edit = 0.0
        self._flush: asyncio.Task | None = None

    async def start(self, headline: str = WORKING) -> str | None:
        """Show the first sign of work; returns the progress message ts (None on the status line)."""
        self.headline = headline
        if self.status_line and await self.io.set_status(self.channel, self.thread_ts, "is working on it…"):
            return None
        self.status_line = False
        if self.message_ts:
            await self._edit()
        else:
            self.message_ts = await self.io.post(
                self.channel, self.thread_ts, text=headline,
                blocks=blocks.progress(self.run_id, headline, []), key=f"{self.run_id}:progress",
            )
            self._last_edit = time.monotonic()
        return self.message_ts

    async def update(self, headline: str | None = None, step: str | None = None) -> None:
        if headline:
            self.headline = headline
        if step:
            self.steps.append(step)
        if self._flush is None or self._flush.done():
            delay = max(0.0, self._last_edit + self.interval - time.monotonic())
            self._flush = asyncio.create_task(self._edit_after(delay))

    async def finish(self, text: str, final_blocks: list[dict[str, Any]]) -> None:
        """Replace the progress with the outcome (a summary, or an error with Retry)."""
        if self._flush and not self._flush.done():
            self._flush.cancel()
        if self.status_line:
            await self.io.set_status(self.channel, self.thread_ts, "")
        if self.message_ts:
            try:
                await self.io.update(self.channel, self.message_ts, text=text, blocks=final_blocks)
                return
            except SlackApiError as exc:
                log.warning("could not turn progress into the outcome (%s); posting it", exc.response.get("error"))
        await self.io.post(self.channel, self.thread_ts, text=text, blocks=final_blocks, key=f"{self.run_id}:outcome")

    async def _edit_after(self, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        await self._edit()

    async def _edit(self) -> None:
        self._last_edit = time.monotonic()
        try:
            if self.status_line:
                status = self.steps[-1] if self.steps else "is working on it…"
                await self.io.set_status(self.channel, self.thread_ts, status[:100])
            elif self.message_ts:
                await self.io.update(self.channel, self.message_ts, text=self.headline,
                                     blocks=blocks.progress(self.run_id, self.headline, self.steps))
        except (SlackApiError, *CONNECTION_ERRORS) as exc:
            log.info("progress edit failed (%s); the next one will catch up", type(exc).__name__, exc_info=True)
