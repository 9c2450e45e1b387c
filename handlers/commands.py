"""`/chatops <subcommand>`: help and status, answered privately to whoever typed it."""

from __future__ import annotations

import time

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext

HELP = """\
*chatops* answers questions and does small jobs against your team's code and data.

*Ask*: mention me in a channel or thread — `@chatops where is the retry limit for webhooks set?` — \
or write to me directly. I react :eyes:, show my progress in the thread, and answer there.
*Follow up*: reply in the same thread; no need to mention me again. Reply `stop` to cancel.
*Buttons*: *Cancel* on my progress message stops a request; *Retry* on an error runs it again.

*Commands*
• `/chatops help` — this message
• `/chatops status` — requests running in this channel"""


async def on_chatops_command(ack: AsyncAck, command: dict, context: AsyncBoltContext) -> None:
    core = context["chatops"]
    subcommand, _, _rest = (command.get("text") or "").strip().partition(" ")
    subcommand = subcommand.lower()
    if subcommand in ("", "help"):
        await ack(text=HELP)
    elif subcommand == "status":
        await ack(text=status_text(core.intake.running_in(command["channel_id"])))
    else:
        await ack(text=f"I don't know `/chatops {subcommand}`.\n\n{HELP}")


def status_text(runs: list) -> str:
    if not runs:
        return "Nothing is running in this channel."
    now = time.time()
    lines = [f"*{len(runs)} request{'s' if len(runs) != 1 else ''} in progress in this channel:*"]
    for run in runs:
        age = int(now - (run.started_at or run.created_at))
        state = "running" if run.status == "running" else "queued"
        request = run.text if len(run.text) <= 80 else run.text[:79] + "…"
        lines.append(f"• `{run.id}` {state} for {age} s, asked by <@{run.user}>: {request}")
    return "\n".join(lines)
