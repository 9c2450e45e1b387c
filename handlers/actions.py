"""Button clicks: Cancel on a progress message, Retry on an error."""

from __future__ import annotations

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext


async def on_cancel_run(ack: AsyncAck, body: dict, context: AsyncBoltContext) -> None:
    await ack()
    core = context["chatops"]
    channel, user, thread_ts, run_id = _click(body)
    reply = core.intake.cancel(run_id, user)
    if reply:
        await core.io.ephemeral(channel, user, reply, thread_ts)


async def on_retry_run(ack: AsyncAck, body: dict, context: AsyncBoltContext) -> None:
    await ack()
    core = context["chatops"]
    channel, user, thread_ts, run_id = _click(body)
    reply = await core.intake.retry(run_id, user)
    if reply:
        await core.io.ephemeral(channel, user, reply, thread_ts)


async def on_choose_repo(ack: AsyncAck, body: dict, context: AsyncBoltContext) -> None:
    await ack()
    core = context["chatops"]
    channel, user, thread_ts, _ = _click(body)
    action = body["actions"][0]
    run_id = action["block_id"].removeprefix("choose-")
    reply = await core.intake.choose_repo(run_id, action["selected_option"]["value"], user)
    if reply:
        await core.io.ephemeral(channel, user, reply, thread_ts)


def _click(body: dict) -> tuple[str, str, str | None, str]:
    message = body.get("message") or {}
    channel = (body.get("channel") or {}).get("id") or body["container"]["channel_id"]
    return channel, body["user"]["id"], message.get("thread_ts"), body["actions"][0].get("value", "")


async def on_open_pr(ack: AsyncAck, body: dict, context: AsyncBoltContext) -> None:
    await ack()
    core = context["chatops"]
    channel, user, thread_ts, proposal_id = _click(body)
    reply = await core.publisher.open(proposal_id, user)
    if reply:
        await core.io.ephemeral(channel, user, reply, thread_ts)


async def on_discard_change(ack: AsyncAck, body: dict, context: AsyncBoltContext) -> None:
    await ack()
    core = context["chatops"]
    channel, user, thread_ts, proposal_id = _click(body)
    reply = await core.publisher.discard(proposal_id, user)
    if reply:
        await core.io.ephemeral(channel, user, reply, thread_ts)


async def on_copy_choice(ack: AsyncAck, body: dict, context: AsyncBoltContext) -> None:
    await ack()
    core = context["chatops"]
    channel, user, thread_ts, value = _click(body)
    run_id, _, choice = value.partition("|")
    reply = await core.intake.answer(run_id, choice, user)
    if reply:
        await core.io.ephemeral(channel, user, reply, thread_ts)
