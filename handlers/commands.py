"""`/chatops <subcommand>`: help, status and repo links. Answers are private unless they change the
channel (a new link is announced to everyone)."""

from __future__ import annotations

import asyncio
import logging
import time

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.channel import ChannelContext
from bot.core import Core
from bot.errors import UserError
from bot.run.request import OUTSIDERS
from bot.slack import payloads

log = logging.getLogger(__name__)

HELP = """\
*chatops* answers questions and does small jobs against your team's code and data.

*Ask*: mention me in a channel or thread — `@chatops where is the retry limit for webhooks set?` — \
or write to me directly. I react :eyes:, show my progress in the thread, and answer there with links to \
the exact lines I read. Add `repo=<name>` or `branch=<name>` to pick a linked repo or branch.
*Follow up*: reply in the same thread; no need to mention me again. Reply `stop` to cancel.
*Buttons*: *Cancel* on my progress message stops a request; *Retry* on an error runs it again.

*Commands*
• `/chatops link repo <owner/name | git URL> [branch]` — let this channel ask about a repo
• `/chatops link data <name> <url or file>` — a read-only data source (SQLite, DuckDB, CSV/Parquet, PostgreSQL)
• `/chatops unlink repo|data <name>` · `/chatops links` — manage and list them
• `/chatops metrics` — the metrics you can ask about: `@chatops why did signups drop last week?`
• `/chatops status` — requests running in this channel
• `/chatops help` — this message"""

SORRY = "Sorry, that failed on my side; it is logged."

_background: set[asyncio.Task] = set()


async def on_chatops_command(ack: AsyncAck, command: dict, respond: AsyncRespond, context: AsyncBoltContext) -> None:
    wrong = payloads.problem(command)
    if wrong is not None:  # Socket Mode (over HTTP the front already answered 400)
        log.info("dropped a malformed slash command: %s", wrong)
        await ack()
        return
    core = Core.of(context)
    subcommand, _, rest = (command.get("text") or "").strip().partition(" ")
    subcommand = subcommand.lower()
    channel, user = command["channel_id"], command["user_id"]

    def here() -> ChannelContext:
        return ChannelContext.of(core.settings, core.store, channel, command.get("channel_name"))

    try:
        if subcommand in ("", "help"):
            await ack(text=HELP)
        elif subcommand == "status":
            await ack(text=status_text(core.intake.running_in(channel)))
        elif subcommand in ("links", "repos", "data"):
            await ack(text=core.linker.describe(here()))
        elif subcommand == "metrics":
            await ack(text=core.linker.data.metrics(here()))
        elif subcommand in ("link", "unlink") and await core.io.is_outsider(user, core.identity.team_id):
            await ack(text=OUTSIDERS)
        elif subcommand == "unlink":
            await ack(response_type="in_channel", text=core.linker.unlink(here(), rest))
        elif subcommand == "link":
            words = rest.split()
            await ack(text=f"Checking that I can read `{words[-1] if len(words) > 1 else rest}`…")
            _spawn(_link(core, here(), rest, user, respond))
        else:
            await ack(text=f"I don't know `/chatops {subcommand}`.\n\n{HELP}")
    except UserError as exc:
        await ack(text=exc.message)
    except Exception:  # a bug: the traceback goes to the log, never its text to Slack
        log.exception("/chatops %s in %s failed", subcommand, channel)
        await ack(text=SORRY)


async def _link(core: Core, channel: ChannelContext, args: str, user: str, respond: AsyncRespond) -> None:
    """Linking clones over the network, so it answers through response_url, not the 3-second ack."""
    try:
        message = await core.linker.link(channel, args, user)
        await respond(text=message, response_type="in_channel", replace_original=False)
    except UserError as exc:
        await respond(text=exc.message, response_type="ephemeral", replace_original=False)
    except Exception:
        log.exception("linking %r in %s failed", args, channel.id)
        await respond(text="Sorry, linking failed on my side; it is logged.", response_type="ephemeral")


def _spawn(coroutine) -> None:
    task = asyncio.create_task(coroutine)
    _background.add(task)
    task.add_done_callback(_background.discard)


def status_text(runs: list) -> str:
    if not runs:
        return "Nothing is running in this channel."
    now = time.time()
    lines = [f"*{len(runs)} request{'s' if len(runs) != 1 else ''} in progress in this channel:*"]
    for run in runs:
        age = int(now - (run.started_at or run.created_at))
        state = "running" if run.status == "running" else "queued"
        request = run.text if len(run.text) <= 80 else run.text[:79] + "…"
        repo = f" on `{run.repo}`" if run.repo else ""
        lines.append(f"• `{run.id}` {state} for {age} s{repo}, asked by <@{run.user}>: {request}")
    return "\n".join(lines)
