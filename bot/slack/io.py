"""Everything the bot says to Slack goes through here.

- every post and edit is redacted and sets `unfurl_links`/`unfurl_media` to false (link
  previews are an exfiltration channel);
- `post` is exactly-once: each post carries a key in its message metadata; if the connection
  drops after Slack accepted the post, the key is looked up before posting again;
- cosmetic calls (reactions, status line) never fail a run.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.attachment import Attachment
from bot.redact import Redactor
from bot.slack.client import SERVER_ERRORS

log = logging.getLogger(__name__)

POST_EVENT_TYPE = "chatops_post"
CONNECTION_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError)


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    guest: bool  # a Slack guest (is_restricted / is_ultra_restricted)
    team: str  # their workspace: another one's for a Slack Connect user

    def outsider(self, home_team: str) -> bool:
        """A guest, or someone from another workspace: may ask, never change or link anything."""
        return self.guest or bool(home_team and self.team and self.team != home_team)


@dataclass(frozen=True)
class Identity:
    """Who the bot is in this workspace (from auth.test)."""

    user_id: str
    name: str
    team_id: str


def _what(exc: BaseException) -> str:
    return f"HTTP {exc.response.status_code}" if isinstance(exc, SlackApiError) else type(exc).__name__


class SlackIO:
    def __init__(self, client: AsyncWebClient, redactor: Redactor) -> None:
        self.client = client
        self.redactor = redactor
        self._people: dict[str, Person] = {}
        self._channel_names: dict[str, str | None] = {}

    async def post(self, channel: str, thread_ts: str | None, *, text: str,
                   blocks: list[dict[str, Any]] | None = None, key: str | None = None) -> str:
        """Post a message (in a thread when `thread_ts`); returns its ts. Never posts twice for one key."""
        payload: dict[str, Any] = {
            "channel": channel,
            "text": self.redactor.text(text),
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if thread_ts:
            payload["thread_ts"] = thread_ts
        if blocks:
            payload["blocks"] = self.redactor.data(blocks)
        if key:
            payload["metadata"] = {"event_type": POST_EVENT_TYPE, "event_payload": {"key": key}}
        for attempt in range(3):
            try:
                response = await self.client.chat_postMessage(**payload)
                return response["ts"]
            except (*CONNECTION_ERRORS, SlackApiError) as exc:
                if isinstance(exc, SlackApiError) and exc.response.status_code not in SERVER_ERRORS:
                    raise  # Slack refused this post (bad blocks, no channel, ...): repeating it won't help
                log.warning("chat.postMessage failed (%s); checking whether it landed", _what(exc), exc_info=True)
                if attempt:
                    await asyncio.sleep(0.5 * attempt)
                if key and thread_ts:
                    landed = await self._find_post(channel, thread_ts, key)
                    if landed:
                        return landed
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def update(self, channel: str, ts: str, *, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        await self.client.chat_update(
            channel=channel, ts=ts, text=self.redactor.text(text),
            blocks=self.redactor.data(blocks) if blocks is not None else [],
            unfurl_links=False, unfurl_media=False,
        )

    async def ephemeral(self, channel: str, user: str, text: str, thread_ts: str | None = None) -> None:
        await self.client.chat_postEphemeral(channel=channel, user=user, text=self.redactor.text(text),
                                             thread_ts=thread_ts)

    async def react(self, channel: str, ts: str, name: str) -> None:
        await self._cosmetic(self.client.reactions_add(channel=channel, timestamp=ts, name=name), "reactions.add")

    async def unreact(self, channel: str, ts: str, name: str) -> None:
        await self._cosmetic(self.client.reactions_remove(channel=channel, timestamp=ts, name=name), "reactions.remove")

    async def set_status(self, channel: str, thread_ts: str, status: str) -> bool:
        """The assistant status line ("is searching code..."). Returns False where Slack refuses it."""
        return await self._cosmetic(
            self.client.assistant_threads_setStatus(channel_id=channel, thread_ts=thread_ts, status=status),
            "assistant.threads.setStatus",
        )

    async def replies(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        cursor = None
        while True:
            response = await self.client.conversations_replies(channel=channel, ts=thread_ts, cursor=cursor, limit=200)
            messages.extend(response.get("messages", []))
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not response.get("has_more") or not cursor or len(messages) >= 1000:
                return messages

    async def upload(self, channel: str, thread_ts: str, *, filename: str, content: str | bytes,
                     title: str, comment: str | None = None) -> None:
        await self.client.files_upload_v2(
            channel=channel, thread_ts=thread_ts, filename=filename, title=title,
            content=self.redactor.text(content) if isinstance(content, str) else content,
            initial_comment=self.redactor.text(comment) if comment else None,
        )

    async def upload_files(self, channel: str, thread_ts: str, files: list[Attachment], *,
                           comment: str | None = None) -> None:
        """Several files in one thread message (files_upload_v2), text files redacted."""
        await self.client.files_upload_v2(
            channel=channel, thread_ts=thread_ts,
            initial_comment=self.redactor.text(comment) if comment else None,
            file_uploads=[{"content": self.redactor.text(f.content) if isinstance(f.content, str) else f.content,
                           "filename": f.filename, "title": f.title} for f in files],
        )

    async def user_name(self, user_id: str) -> str:
        person = await self.person(user_id)
        return person.name if person else user_id

    async def is_outsider(self, user_id: str, home_team: str) -> bool:
        """A guest or someone from another workspace; also when Slack would not say (closed by default)."""
        person = await self.person(user_id)
        return person is None or person.outsider(home_team)

    async def person(self, user_id: str) -> Person | None:
        """Who `user_id` is (None when Slack would not say; not cached then)."""
        if user_id not in self._people:
            try:
                user = (await self.client.users_info(user=user_id))["user"]
            except SlackApiError:
                return None
            profile = user.get("profile") or {}
            self._people[user_id] = Person(
                id=user_id, name=profile.get("display_name") or user.get("real_name") or user["name"],
                guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
                team=user.get("team_id") or profile.get("team") or "")
        return self._people[user_id]

    async def channel_name(self, channel_id: str) -> str | None:
        """The channel's name (None for DMs and group DMs, which have none, and when Slack would not say)."""
        if channel_id[:1] not in "CG":
            return None
        if channel_id not in self._channel_names:
            try:
                channel = (await self.client.conversations_info(channel=channel_id))["channel"]
                self._channel_names[channel_id] = channel.get("name")
            except SlackApiError:
                return None
        return self._channel_names[channel_id]

    async def _find_post(self, channel: str, thread_ts: str, key: str) -> str | None:
        try:
            response = await self.client.conversations_replies(
                channel=channel, ts=thread_ts, include_all_metadata=True, limit=200
            )
        except (SlackApiError, *CONNECTION_ERRORS):
            return None
        messages: list[dict[str, Any]] = response.get("messages") or []
        for message in reversed(messages):
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == POST_EVENT_TYPE and payload.get("key") == key:
                return message["ts"]
        return None

    async def _cosmetic(self, call, name: str) -> bool:
        try:
            await call
            return True
        except SlackApiError as exc:
            if exc.response.get("error") not in ("already_reacted", "no_reaction"):
                log.info("%s failed (%s); carrying on", name, exc.response.get("error"))
            return False
        except CONNECTION_ERRORS as exc:
            log.info("%s failed (%s); carrying on", name, type(exc).__name__, exc_info=True)
            return False
