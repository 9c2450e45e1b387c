"""The App Home tab: how to use the bot, and the person's recent requests."""

from __future__ import annotations

import datetime as dt

from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.models.blocks import ContextBlock, DividerBlock, HeaderBlock, MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View

from bot.core import Core
from handlers.commands import HELP

STATUS_EMOJI = {"done": "white_check_mark", "failed": "x", "cancelled": "no_entry_sign", "interrupted": "warning",
                "running": "hourglass_flowing_sand", "queued": "hourglass"}


async def on_app_home_opened(event: dict, context: AsyncBoltContext) -> None:
    if event.get("tab") != "home":
        return
    core = Core.of(context)
    user = event["user"]
    blocks = [HeaderBlock(text="chatops"), SectionBlock(text=MarkdownTextObject(text=HELP)), DividerBlock()]
    runs = core.store.recent_runs(user=user, limit=10)
    if runs:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="*Your recent requests*")))
        for run in runs:
            when = dt.datetime.fromtimestamp(run.created_at, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
            request = run.text if len(run.text) <= 120 else run.text[:119] + "…"
            blocks.append(ContextBlock(elements=[MarkdownTextObject(
                text=f":{STATUS_EMOJI.get(run.status, 'grey_question')}: {when} in <#{run.channel}> — {request}"
            )]))
    else:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text="You have not asked me anything yet.")]))
    await core.io.client.views_publish(user_id=user, view=View(type="home", blocks=blocks))
