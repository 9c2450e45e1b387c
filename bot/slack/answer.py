"""Delivering the model's answer into the thread, never dropping any of it.

- While the model writes, text is streamed into one Slack message (chat.startStream /
  appendStream / stopStream) when the model streams and the workspace allows it; anything
  Slack refuses falls back to plain posts.
- Otherwise, and for whatever did not stream, the answer is posted as `markdown` blocks (Slack
  renders the Markdown) in pieces within Slack's limits, with a mrkdwn `text` fallback; a
  workspace that rejects markdown blocks gets mrkdwn sections instead.
- A very long answer goes up as a file, with its opening shown in the thread.
"""

from __future__ import annotations

import logging
import re

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_chat_stream import AsyncChatStream

from bot.slack import blocks
from bot.slack.io import CONNECTION_ERRORS, SlackIO
from bot.slack.mrkdwn import split_markdown, to_mrkdwn

log = logging.getLogger(__name__)

PIECE_LIMIT = 11_000  # characters of Markdown per message (Slack: 12,000 per message in markdown blocks)
MAX_MESSAGES = 3  # beyond this many pieces the whole answer goes up as a file
STREAM_LIMIT = 11_000  # characters streamed into one message before switching to posts
TEXT_FALLBACK_LIMIT = 3_000


class AnswerWriter:
    def __init__(self, io: SlackIO, channel: str, thread_ts: str, run_id: str, *, stream: bool,
                 recipient_user: str | None = None, recipient_team: str | None = None) -> None:
        self.io = io
        self.channel = channel
        self.thread_ts = thread_ts
        self.run_id = run_id
        self.stream_enabled = stream
        self.recipient_user = recipient_user
        self.recipient_team = recipient_team
        self.received = ""  # everything the model wrote in this run, step texts separated by blank lines
        self._step_started = False
        self._streamer: AsyncChatStream | None = None
        self._streamed = 0  # characters of `received` handed to the stream
        self._confirmed = 0  # ...of which Slack has confirmed receipt
        self.posted: list[str] = []

    async def new_step(self) -> None:
        self._step_started = True

    async def on_text(self, delta: str) -> None:
        if self._step_started and self.received.strip():
            self.received += "\n\n"
        self._step_started = False
        self.received += delta
        if self.stream_enabled:
            await self._stream_safe_prefix()

    async def finish(self, final_text: str) -> list[str]:
        """Close the stream and post what it did not carry; returns the ts of every answer message."""
        if self._streamer is not None and self._streamer.ts is None:
            self._streamer = None  # everything is still in the buffer: one plain post is cheaper than a stream
            self._streamed = 0
        if self._streamer is not None:
            await self._stop_stream(len(self.received))
        if self._confirmed:
            remaining = self.received[self._confirmed:].strip()
            if remaining:
                await self.post(remaining, first_index=1)
            return self.posted
        await self.post(final_text)
        return self.posted

    async def post(self, markdown: str, *, first_index: int = 0) -> None:
        pieces = split_markdown(markdown, PIECE_LIMIT)
        if len(pieces) > MAX_MESSAGES:
            await self.io.upload(
                self.channel, self.thread_ts, filename=f"answer-{self.run_id}.md", content=markdown,
                title="Full answer", comment="The full answer is long, so here it is as a file.",
            )
            pieces = pieces[:1]
            pieces[0] += "\n\n_…continued in the attached file._"
        for index, piece in enumerate(pieces, start=first_index):
            self.posted.append(await self._post_piece(piece, index))

    async def _post_piece(self, piece: str, index: int) -> str:
        fallback = to_mrkdwn(piece)
        key = f"{self.run_id}:answer:{index}"
        try:
            return await self.io.post(self.channel, self.thread_ts, text=fallback[:TEXT_FALLBACK_LIMIT],
                                      blocks=blocks.markdown(piece), key=key)
        except SlackApiError as exc:
            if exc.response.get("error") not in ("invalid_blocks", "invalid_blocks_format"):
                raise
            log.info("markdown block refused; posting mrkdwn sections instead")
            return await self.io.post(self.channel, self.thread_ts, text=fallback[:TEXT_FALLBACK_LIMIT],
                                      blocks=blocks.mrkdwn_sections(fallback), key=key + ":mrkdwn")

    async def _stream_safe_prefix(self) -> None:
        """Stream up to the last whitespace, so a secret is never split across two appends unredacted."""
        boundary = max(self.received.rfind(" "), self.received.rfind("\n"))
        if boundary <= self._streamed:
            return
        if boundary > STREAM_LIMIT:
            self.stream_enabled = False
            if self._streamer is not None:
                cut = self.received.rfind("\n", self._streamed, STREAM_LIMIT)
                await self._stop_stream(cut if cut > 0 else self._streamed)
            return
        try:
            if self._streamer is None:
                self._streamer = await self.io.client.chat_stream(
                    channel=self.channel, thread_ts=self.thread_ts, buffer_size=200,
                    recipient_user_id=self.recipient_user, recipient_team_id=self.recipient_team,
                )
            flushed = await self._streamer.append(
                markdown_text=self.io.redactor.text(self.received[self._streamed:boundary]))
            self._streamed = boundary
            if flushed is not None:
                self._confirmed = boundary
        except (SlackApiError, *CONNECTION_ERRORS) as exc:
            log.info("streaming to Slack failed (%s); the answer will be posted instead", _error_name(exc),
                     exc_info=True)
            self.stream_enabled = False
            self._streamed = self._confirmed
            if self._streamer is not None and self._streamer.ts is None:
                self._streamer = None

    async def _stop_stream(self, upto: int) -> None:
        """Finish the streamed message with the text up to `upto`; the rest is left for posts."""
        streamer, self._streamer = self._streamer, None
        if streamer is None:
            return
        try:
            rest = self.io.redactor.text(self.received[self._streamed:upto])
            await streamer.stop(markdown_text=rest or None)
            self._streamed = self._confirmed = max(upto, self._streamed)
        except (SlackApiError, *CONNECTION_ERRORS) as exc:
            log.info("chat.stopStream failed (%s); posting the rest", _error_name(exc), exc_info=True)
            self._streamed = self._confirmed
        if streamer.ts:
            self.posted.append(streamer.ts)


def _error_name(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error"))
    return re.sub(r"Error$", "", type(exc).__name__)
