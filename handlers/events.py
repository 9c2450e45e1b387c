"""Messages to the bot: @mentions, DMs, and replies in threads the bot is already part of."""

from __future__ import annotations

import logging
import re

from slack_bolt.context.async_context import AsyncBoltContext

from bot.core import Core
from bot.run.intake import Turn

log = logging.getLogger(__name__)

MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
HANDLED_SUBTYPES = (None, "file_share", "thread_broadcast")
STOP_WORDS = ("stop", "cancel", "stop it", "cancel that", "never mind", "nevermind")


async def on_app_mention(event: dict, context: AsyncBoltContext) -> None:
    core = Core.of(context)
    if _from_a_bot(event, core.identity.user_id):
        return
    turn = _turn(event, context, core.identity.user_id)
    if turn is not None:
        await core.intake.accept(turn)


async def on_message(event: dict, context: AsyncBoltContext) -> None:
    """DMs always; in channels, replies in a thread the bot has answered in (without re-mentioning)."""
    core = Core.of(context)
    bot_user = core.identity.user_id
    if event.get("subtype") not in HANDLED_SUBTYPES or _from_a_bot(event, bot_user):
        return
    mentioned = set(MENTION.findall(event.get("text") or ""))
    thread_ts = event.get("thread_ts")
    if event.get("channel_type") != "im":
        if bot_user in mentioned:
            return  # the app_mention event carries this message
        if not thread_ts or not core.intake.in_conversation(event["channel"], thread_ts):
            return
        if mentioned:
            return  # addressed to someone else in the thread
    text = MENTION.sub("", event.get("text") or "").strip().lower().rstrip(".!")
    if thread_ts and text in STOP_WORDS and core.intake.cancel_thread(event["channel"], thread_ts, event["user"]):
        return
    turn = _turn(event, context, bot_user)
    if turn is not None:
        await core.intake.accept(turn)


def _from_a_bot(event: dict, bot_user: str) -> bool:
    return bool(event.get("bot_id")) or event.get("subtype") == "bot_message" or event.get("user") == bot_user


def _turn(event: dict, context: AsyncBoltContext, bot_user: str) -> Turn | None:
    try:
        channel, ts, user = event["channel"], event["ts"], event["user"]
    except KeyError as missing:
        log.warning("dropped a malformed message event (no %s)", missing)
        return None
    text = re.sub(rf"<@{re.escape(bot_user)}(?:\|[^>]*)?>", "", event.get("text") or "").strip()
    if not text and not event.get("files"):
        text = "(no text)"
    return Turn(channel=channel, ts=ts, thread_ts=event.get("thread_ts") or ts, user=user, text=text,
                team=event.get("team") or context.team_id or "")
