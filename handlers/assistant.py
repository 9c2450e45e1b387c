"""Slack's assistant threads (the AI side panel): remember the thread, greet, use the status line."""

from __future__ import annotations

from slack_bolt.context.async_context import AsyncBoltContext

from bot.core import Core
from bot.store.records import ThreadSession

GREETING = "Hi! Ask me about your team's code and data. I'll show what I'm doing while I work."


async def on_assistant_thread_started(event: dict, context: AsyncBoltContext) -> None:
    core = Core.of(context)
    thread = event.get("assistant_thread") or {}
    channel, thread_ts = thread.get("channel_id"), thread.get("thread_ts")
    if not channel or not thread_ts:
        return
    if not core.store.claim(f"assistant:{channel}:{thread_ts}"):
        return
    core.store.save_thread(ThreadSession(channel=channel, thread_ts=thread_ts, assistant=True))
    await core.io.post(channel, thread_ts, text=GREETING, key=f"greeting:{channel}:{thread_ts}")
