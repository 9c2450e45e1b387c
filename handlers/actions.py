"""Button clicks and menu picks: Cancel, Retry, a repo from the dropdown, Open PR, Discard, a copy choice.

Each acks at once, hands the click to the core, and tells the clicker privately when nothing
happened (and why); everyone else sees the result in the thread.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext

from bot.core import Core
from bot.slack import payloads

log = logging.getLogger(__name__)

Act = Callable[[Core, dict, str], Awaitable[str | None]]  # (core, action, user) -> a private reply or None


async def on_cancel_run(ack: AsyncAck, body: dict, context: AsyncBoltContext) -> None:
    async def act(core: Core, action: dict, user: str) -> str | None:
        return core.intake.cancel(action["value"], user)

    await _click(ack, body, context, act)


async def on_retry_run(ack: AsyncAck, body: dict, context: AsyncBoltContext) -> None:
    await _click(ack, body, context, lambda core, action, user: core.intake.retry(action["value"], user))


async def on_choose_repo(ack: AsyncAck, body: dict, context: AsyncBoltContext) -> None:
    async def act(core: Core, action: dict, user: str) -> str | None:
        run_id = action["block_id"].removeprefix("choose-")
        return await core.intake.choose_repo(run_id, action["selected_option"]["value"], user)

    await _click(ack, body, context, act)


async def on_open_pr(ack: AsyncAck, body: dict, context: AsyncBoltContext) -> None:
    await _click(ack, body, context, lambda core, action, user: core.approvals.open(action["value"], user))


async def on_discard_change(ack: AsyncAck, body: dict, context: AsyncBoltContext) -> None:
    await _click(ack, body, context, lambda core, action, user: core.approvals.discard(action["value"], user))


async def on_copy_choice(ack: AsyncAck, body: dict, context: AsyncBoltContext) -> None:
    async def act(core: Core, action: dict, user: str) -> str | None:
        run_id, _, choice = action["value"].partition("|")
        return await core.intake.answer(run_id, choice, user)

    await _click(ack, body, context, act)


async def _click(ack: AsyncAck, body: dict, context: AsyncBoltContext, act: Act) -> None:
    await ack()
    wrong = payloads.problem(body)
    if wrong is not None:  # Socket Mode (over HTTP the front already answered 400)
        log.info("dropped a malformed click: %s", wrong)
        return
    core = Core.of(context)
    user = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id") or body["container"]["channel_id"]
    reply = await act(core, body["actions"][0], user)
    if reply:
        await core.io.ephemeral(channel, user, reply, (body.get("message") or {}).get("thread_ts"))
