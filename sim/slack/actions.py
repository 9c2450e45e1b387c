"""What people in the emulated workspace do: speak, click buttons, run slash commands, open the app.

A mixin of SlackEmulator: each action changes the workspace like Slack would, then delivers
to the app the events or payloads Slack would send.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from sim.slack.delivery import Delivered
from sim.slack.file_methods import file_object, new_file
from sim.slack.state import Channel, User, public_message

if TYPE_CHECKING:
    from sim.slack.delivery import Deliverer
    from sim.slack.events import Payloads
    from sim.slack.state import Identity, Workspace


def find_button(message: dict[str, Any], action_id: str) -> tuple[str, dict[str, Any]] | None:
    """(block_id, element) for the button or select menu with `action_id` in a message's blocks."""
    blocks = list(message.get("blocks") or [])
    for attachment in message.get("attachments") or []:
        blocks += attachment.get("blocks") or []
    for block in blocks:
        elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
        if block.get("accessory"):
            elements.append(block["accessory"])
        for element in elements:
            if element.get("type") in ("button", "static_select") and element.get("action_id") == action_id:
                return block.get("block_id", ""), element
    return None


def action_ids(message: dict[str, Any]) -> list[str]:
    blocks = message.get("blocks") or []
    found = [
        e.get("action_id") for b in blocks for e in (b.get("elements") or []) if b.get("type") == "actions"
    ]
    return found + [b["accessory"].get("action_id") for b in blocks if b.get("accessory")]


class WorkspaceActions:
    """Mixin for SlackEmulator: the things a person (or another bot) does in Slack."""

    identity: Identity
    workspace: Workspace
    payloads: Payloads
    deliverer: Deliverer
    deliveries_enabled: bool
    timeout_redeliveries: int
    response_urls: dict[str, dict[str, Any]]
    url: str

    if TYPE_CHECKING:

        def _notify(self) -> None: ...

        def _emit(self, kind: str, data: Any) -> None: ...

    def _member(self, user: User, channel_ref: str) -> Channel:
        channel = self.workspace.channel(channel_ref)
        if user.id not in channel.members:
            raise ValueError(f"{user.name} is not a member of {channel.name}")
        return channel

    def _store(self, channel: Channel, fields: dict[str, Any], announce: bool = True) -> dict[str, Any]:
        """Post a message that did not come through the Web API; listeners hear of it if `announce`."""
        if fields.get("thread_ts") and self.workspace.message(channel.id, fields["thread_ts"]) is None:
            raise LookupError(f"no message {fields['thread_ts']} in {channel.name} to reply to")
        message = self.workspace.post(channel, fields)
        if announce:
            self._emit("message", public_message(message) | {"channel": channel.id})
        self._notify()
        return message

    async def _deliver_events(self, bodies: list[dict[str, Any]], delivered: Delivered) -> Delivered:
        for body in bodies:
            if not self.deliveries_enabled:
                delivered.event_ids.append(body["event_id"])
                continue
            await self.deliverer.deliver_event(body, delivered, self.timeout_redeliveries)
        return delivered

    def _shared_files(self, user: User, channel: Channel, files: list[Any]) -> list[dict[str, Any]]:
        shared = []
        for item in files:
            spec = {"name": item} if isinstance(item, str) else dict(item)
            content = spec.get("content", b"")
            data = content.encode() if isinstance(content, str) else bytes(content)
            record = new_file(self.workspace, spec["name"], user.id, data, spec.get("title", ""))
            record["channel"] = channel.id
            shared.append(file_object(self.workspace, record, self.url, channel))
        return shared

    async def user_says(
        self,
        user: str,
        channel: str,
        text: str,
        thread_ts: str | None = None,
        files: list[Any] | None = None,
    ) -> Delivered:
        """`user` posts `text` in `channel` (or a thread); the app gets app_mention and message events.

        `files` items are file names or dicts {name, content (bytes|str), title}; they are shared
        with the message (subtype file_share) and downloadable from their url_private.
        """
        person = self.workspace.user(user)
        where = self._member(person, channel)
        fields = self.payloads.user_message_fields(person, text, thread_ts)
        if files:
            fields.update(subtype="file_share", upload=False, display_as_bot=False)
            fields["files"] = self._shared_files(person, where, files)
        message = self._store(where, fields)
        for record in fields.get("files", []):
            self.workspace.files[record["id"]]["thread_ts"] = message.get("thread_ts")
        delivered = Delivered(ts=message["ts"], channel=where.id, thread_ts=message.get("thread_ts"))
        return await self._deliver_events(self.payloads.events_for_message(where, message), delivered)

    def user_posts(self, user: str, channel: str, text: str, thread_ts: str | None = None) -> dict[str, Any]:
        """`user` posts `text` but nothing is delivered; returns the message's ts and channel and the
        event bodies Slack would send for it, for a caller that delivers them itself (benchmarks)."""
        person = self.workspace.user(user)
        where = self._member(person, channel)
        message = self._store(where, self.payloads.user_message_fields(person, text, thread_ts))
        return {"ts": message["ts"], "channel": where.id,
                "events": self.payloads.events_for_message(where, message)}

    async def bot_says(
        self, bot_id: str, channel: str, text: str, thread_ts: str | None = None, username: str = "otherbot"
    ) -> Delivered:
        """Another app's bot posts (subtype bot_message); the app gets the same events as for a person."""
        where = self.workspace.channel(channel)
        fields: dict[str, Any] = {
            "subtype": "bot_message",
            "bot_id": bot_id,
            "username": username,
            "text": text,
        }
        if thread_ts:
            fields["thread_ts"] = thread_ts
        message = self._store(where, fields)
        delivered = Delivered(ts=message["ts"], channel=where.id, thread_ts=message.get("thread_ts"))
        return await self._deliver_events(self.payloads.events_for_message(where, message), delivered)

    def _new_response_url(self, kind: str, user: User, channel: Channel, message_ts: str | None) -> str:
        key = secrets.token_urlsafe(12)
        self.response_urls[key] = {
            "kind": kind,
            "user": user.id,
            "channel": channel.id,
            "message_ts": message_ts,
        }
        return f"{self.url}/_response/{key}"

    async def click(
        self, user: str, channel: str, message_ts: str, action_id: str, value: str | None = None
    ) -> Delivered:
        """`user` clicks the button `action_id` on a message (or, for a select menu, picks the option
        whose value is `value`); the app gets a block_actions payload."""
        person = self.workspace.user(user)
        where = self.workspace.channel(channel)
        message = self.workspace.message(where.id, message_ts)
        if message is None:
            raise LookupError(f"no message {message_ts} in {where.name}")
        found = find_button(message, action_id)
        if found is None:
            raise LookupError(
                f"no button {action_id!r} on message {message_ts}; it has {action_ids(message)}"
            )
        block_id, button = found
        response_url = self._new_response_url("block_actions", person, where, message_ts)
        body = self.payloads.block_actions(person, where, message, block_id, button, response_url, value)
        delivered = await self.deliverer.deliver(body)
        delivered.ts, delivered.channel, delivered.thread_ts = message_ts, where.id, message.get("thread_ts")
        return delivered

    async def slash(self, user: str, channel: str, command: str, text: str = "") -> Delivered:
        """`user` runs `/command text` in `channel`; `.response` holds the app's immediate answer."""
        person = self.workspace.user(user)
        where = self._member(person, channel)
        response_url = self._new_response_url("slash_command", person, where, None)
        body = self.payloads.slash_command(person, where, command, text, response_url)
        delivered = await self.deliverer.deliver(body)
        delivered.channel = where.id
        return delivered

    async def open_app_home(self, user: str) -> Delivered:
        person = self.workspace.user(user)
        dm = self.workspace.dm_channel(person.id)
        delivered = Delivered(channel=dm.id)
        return await self._deliver_events([self.payloads.app_home_opened(person, dm)], delivered)

    async def start_assistant_thread(self, user: str, context_channel: str | None = None) -> str:
        """`user` opens a new thread with the app's assistant in their DM; returns the thread's ts."""
        person = self.workspace.user(user)
        dm = self.workspace.dm_channel(person.id)
        context = self.workspace.channel(context_channel).id if context_channel else None
        fields = {"user": self.identity.bot_user_id, "subtype": "assistant_app_thread", "text": ""}
        root = self._store(dm, fields, announce=False)
        body = self.payloads.assistant_thread_started(person, dm, root["ts"], context)
        await self._deliver_events([body], Delivered(ts=root["ts"], channel=dm.id))
        return root["ts"]
