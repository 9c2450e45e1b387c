"""Builders for what Slack sends an app: Events API envelopes, block_actions and slash commands.

Shapes follow what Slack sends today (and what slack_bolt's own tests feed it): an
`event_callback` carries `authorizations`, `event_context` and `is_ext_shared_channel`; a
user's message carries `client_msg_id` and a `rich_text` rendering of its text in `blocks`.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
import uuid
from typing import Any

from sim.slack.state import Channel, Identity, User, Workspace, public_message

MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")

MESSAGE_EVENT_KEYS = (
    "subtype",
    "user",
    "bot_id",
    "username",
    "app_id",
    "bot_profile",
    "text",
    "ts",
    "team",
    "client_msg_id",
    "blocks",
    "files",
    "upload",
    "display_as_bot",
    "thread_ts",
    "parent_user_id",
)


def rich_text_blocks(text: str) -> list[dict[str, Any]]:
    """The `rich_text` block Slack's composer attaches to what a person types."""
    elements: list[dict[str, Any]] = []
    position = 0
    for match in MENTION.finditer(text):
        if match.start() > position:
            elements.append({"type": "text", "text": text[position : match.start()]})
        elements.append({"type": "user", "user_id": match.group(1)})
        position = match.end()
    if position < len(text):
        elements.append({"type": "text", "text": text[position:]})
    section = {"type": "rich_text_section", "elements": elements}
    return [{"type": "rich_text", "block_id": secrets.token_hex(3), "elements": [section]}]


class Payloads:
    """Builds payloads for one workspace; ids and timestamps come from the workspace."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    @property
    def identity(self) -> Identity:
        return self.workspace.identity

    def new_event_id(self) -> str:
        return self.workspace.ids.next("Ev")

    def new_trigger_id(self) -> str:
        return f"{int(time.time())}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"

    # ----- Events API

    def event_callback(self, event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
        me = self.identity
        context = {"et": event.get("type"), "tid": me.team_id, "aid": me.app_id, "cid": event.get("channel")}
        encoded = base64.urlsafe_b64encode(json.dumps(context, separators=(",", ":")).encode()).decode()
        return {
            "token": me.verification_token,
            "team_id": me.team_id,
            "context_team_id": me.team_id,
            "context_enterprise_id": None,
            "api_app_id": me.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or self.new_event_id(),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": me.team_id,
                    "user_id": me.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + encoded.rstrip("="),
        }

    def message_event(self, channel: Channel, message: dict[str, Any]) -> dict[str, Any]:
        shown = public_message(message, include_metadata=False)
        event: dict[str, Any] = {"type": "message"}
        event.update({k: shown[k] for k in MESSAGE_EVENT_KEYS if k in shown})
        event.update(channel=channel.id, event_ts=message["ts"], channel_type=channel.channel_type)
        return event

    def app_mention_event(self, channel: Channel, message: dict[str, Any]) -> dict[str, Any]:
        event = self.message_event(channel, message)
        event["type"] = "app_mention"
        event.pop("channel_type", None)
        return event

    def events_for_message(self, channel: Channel, message: dict[str, Any]) -> list[dict[str, Any]]:
        """What a bot subscribed to app_mention and message.* receives: mention first, then the message."""
        bodies = []
        if not channel.is_im and f"<@{self.identity.bot_user_id}" in (message.get("text") or ""):
            bodies.append(self.event_callback(self.app_mention_event(channel, message)))
        bodies.append(self.event_callback(self.message_event(channel, message)))
        return bodies

    def app_home_opened(self, user: User, dm: Channel) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user.id,
            "channel": dm.id,
            "tab": "home",
            "event_ts": self.workspace.clock.next(),
        }
        if user.id in self.workspace.views:
            event["view"] = self.workspace.views[user.id]
        return self.event_callback(event)

    def assistant_thread_started(self, user: User, dm: Channel, thread_ts: str, context_channel: str | None):
        thread = {
            "user_id": user.id,
            "context": {
                "channel_id": context_channel,
                "team_id": self.identity.team_id,
                "enterprise_id": None,
            },
            "channel_id": dm.id,
            "thread_ts": thread_ts,
        }
        event = {
            "type": "assistant_thread_started",
            "assistant_thread": thread,
            "event_ts": self.workspace.clock.next(),
        }
        return self.event_callback(event)

    # ----- interactivity and commands

    def block_actions(
        self,
        user: User,
        channel: Channel,
        message: dict[str, Any],
        block_id: str,
        element: dict[str, Any],
        response_url: str,
        value: str | None = None,
    ) -> dict[str, Any]:
        """The payload for clicking a button, or (for a static_select) choosing the option `value`."""
        me = self.identity
        action: dict[str, Any] = {"action_id": element["action_id"], "block_id": block_id,
                                  "type": element.get("type", "button"), "action_ts": f"{time.time():.6f}"}
        if action["type"] == "static_select":
            option = next((o for o in element.get("options", []) if o.get("value") == value), None)
            if option is None:
                raise LookupError(f"no option {value!r} in {element['action_id']}")
            action["selected_option"] = option
            if element.get("placeholder"):
                action["placeholder"] = element["placeholder"]
        else:
            action["text"] = element.get("text")
            action["value"] = value if value is not None else element.get("value")
            if element.get("style"):
                action["style"] = element["style"]
            if action["value"] is None:
                del action["value"]
        return {
            "type": "block_actions",
            "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": me.team_id},
            "api_app_id": me.app_id,
            "token": me.verification_token,
            "container": {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": channel.id,
                "is_ephemeral": False,
            },
            "trigger_id": self.new_trigger_id(),
            "team": {"id": me.team_id, "domain": me.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel.id, "name": channel.name if not channel.is_im else "directmessage"},
            "message": public_message(message, include_metadata=False),
            "state": {"values": {}},
            "response_url": response_url,
            "actions": [action],
        }

    def slash_command(
        self, user: User, channel: Channel, command: str, text: str, response_url: str
    ) -> dict[str, str]:
        me = self.identity
        return {
            "token": me.verification_token,
            "team_id": me.team_id,
            "team_domain": me.team_domain,
            "channel_id": channel.id,
            "channel_name": channel.name if not channel.is_im else "directmessage",
            "user_id": user.id,
            "user_name": user.name,
            "command": command,
            "text": text,
            "api_app_id": me.app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": self.new_trigger_id(),
        }

    def user_message_fields(self, user: User, text: str, thread_ts: str | None) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "user": user.id,
            "text": text,
            "team": self.identity.team_id,
            "client_msg_id": str(uuid.uuid4()),
            "blocks": rich_text_blocks(text) if text else [],
        }
        if thread_ts:
            fields["thread_ts"] = thread_ts
        return fields
