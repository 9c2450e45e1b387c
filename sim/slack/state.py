"""The emulated workspace: who is in it, which conversations exist, and every message posted.

Messages are stored as the dicts Slack's Web API returns, plus a few emulator-only keys
(`channel`, `markdown_text`, `stream_state`, `stream_chunks`) that `public_message` strips
before anything leaves over the wire.
"""

from __future__ import annotations

import copy
import itertools
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

EMULATOR_ONLY_KEYS = frozenset({"channel", "markdown_text", "stream_state", "stream_chunks"})


@dataclass(frozen=True)
class Identity:
    """The app installed in the emulated workspace, and the secrets it uses."""

    bot_token: str = "xoxb-sim-bot"
    app_token: str = "xapp-sim-app"
    signing_secret: str = "sim-signing-secret"
    team_id: str = "T0SIM"
    team_domain: str = "sim"
    bot_user_id: str = "U0BOT"
    bot_id: str = "B0BOT"
    app_id: str = "A0SIM"
    bot_name: str = "chatops"
    verification_token: str = "sim-verification-token"


@dataclass
class User:
    id: str
    name: str
    real_name: str
    is_bot: bool = False
    bot_id: str | None = None
    guest: str | None = None  # "multi" (is_restricted) or "single" (is_ultra_restricted): a Slack guest
    team_id: str | None = None  # another team's id for a Slack Connect user

    def to_api(self, team_id: str) -> dict[str, Any]:
        team_id = self.team_id or team_id
        profile: dict[str, Any] = {
            "real_name": self.real_name,
            "display_name": self.name,
            "real_name_normalized": self.real_name,
            "display_name_normalized": self.name,
            "image_48": f"https://avatars.sim.invalid/{self.id}_48.png",
            "image_72": f"https://avatars.sim.invalid/{self.id}_72.png",
            "team": team_id,
        }
        if self.bot_id:
            profile["bot_id"] = self.bot_id
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "deleted": False,
            "real_name": self.real_name,
            "tz": "Europe/London",
            "tz_label": "Greenwich Mean Time",
            "tz_offset": 0,
            "is_admin": False,
            "is_owner": False,
            "is_restricted": self.guest is not None,
            "is_ultra_restricted": self.guest == "single",
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": 1700000000,
            "profile": profile,
        }


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    im_user: str | None = None
    members: set[str] = field(default_factory=set)
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def is_im(self) -> bool:
        return self.im_user is not None

    @property
    def channel_type(self) -> str:
        """The `channel_type` Slack puts on message events: channel, group or im."""
        if self.is_im:
            return "im"
        return "group" if self.is_private else "channel"

    def to_api(self, bot_user_id: str) -> dict[str, Any]:
        if self.is_im:
            return {
                "id": self.id,
                "created": self.created,
                "is_im": True,
                "is_org_shared": False,
                "user": self.im_user,
                "is_user_deleted": False,
                "priority": 0,
            }
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "created": self.created,
            "creator": "U0ALICE",
            "is_channel": True,
            "is_group": self.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "is_archived": False,
            "is_general": self.name == "general",
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_member": bot_user_id in self.members,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "num_members": len(self.members),
        }


class TsClock:
    """Message timestamps: wall-clock microseconds, strictly increasing, as "1700000000.000100"."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> str:
        micros = max(int(time.time() * 1_000_000), self._last + 1)
        self._last = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


class IdMint:
    """Unique ids with Slack's prefixes: Ev (events), F (files), V (views) ..."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def next(self, prefix: str) -> str:
        return f"{prefix}0{next(self._counter):05d}{secrets.token_hex(2).upper()}"


def public_message(message: dict[str, Any], include_metadata: bool = True) -> dict[str, Any]:
    """A stored message as Slack's Web API would return it."""
    shown = {k: copy.deepcopy(v) for k, v in message.items() if k not in EMULATOR_ONLY_KEYS}
    if not include_metadata:
        shown.pop("metadata", None)
    return shown


def author_of(message: dict[str, Any]) -> str:
    return message.get("user") or message.get("bot_id") or ""


def _slug(name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", name.upper()) or "X"


class Workspace:
    """Users, conversations and messages of one emulated Slack team, plus what the bot produced."""

    def __init__(self, identity: Identity) -> None:
        self.identity = identity
        self.clock = TsClock()
        self.ids = IdMint()
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.history: dict[str, list[dict[str, Any]]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []
        self.statuses: list[dict[str, Any]] = []
        self.titles: list[dict[str, Any]] = []
        self.suggested_prompts: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.streaming_enabled = True
        bot = User(identity.bot_user_id, identity.bot_name, identity.bot_name, True, identity.bot_id)
        self.users[bot.id] = bot
        for name in ("alice", "bob", "carol"):
            self.add_user(name)
        self.add_channel("general", channel_id="C0GENERAL")
        self.add_channel("random", channel_id="C0RANDOM")
        self.add_channel("secret", private=True, channel_id="G0SECRET")

    # ----- people and conversations

    def add_user(self, name: str, real_name: str | None = None, *, guest: str | None = None,
                 team_id: str | None = None) -> User:
        if self.find_user(name):
            raise ValueError(f"user {name!r} already exists")
        user_id = self._free_id("U0" + _slug(name), self.users)
        user = User(user_id, name, real_name or name.capitalize(), guest=guest, team_id=team_id)
        self.users[user_id] = user
        for channel in self.channels.values():
            if not channel.is_im and not channel.is_private:
                channel.members.add(user_id)
        return user

    def add_channel(
        self,
        name: str,
        private: bool = False,
        members: list[str] | None = None,
        bot_member: bool = True,
        channel_id: str | None = None,
    ) -> Channel:
        name = name.lstrip("#")
        if self.find_channel(name):
            raise ValueError(f"channel {name!r} already exists")
        channel_id = channel_id or self._free_id(("G0" if private else "C0") + _slug(name), self.channels)
        if members is None:
            member_ids = {u.id for u in self.users.values() if not u.is_bot}
        else:
            member_ids = {self.user(m).id for m in members}
        if bot_member:
            member_ids.add(self.identity.bot_user_id)
        channel = Channel(channel_id, name, is_private=private, members=member_ids)
        self.channels[channel_id] = channel
        self.history[channel_id] = []
        return channel

    def dm_channel(self, user_ref: str) -> Channel:
        """The im between a user and the bot, opened on first use."""
        user = self.user(user_ref)
        for channel in self.channels.values():
            if channel.im_user == user.id:
                return channel
        channel_id = self._free_id("D0" + _slug(user.name), self.channels)
        channel = Channel(channel_id, user.id, im_user=user.id, members={user.id, self.identity.bot_user_id})
        self.channels[channel_id] = channel
        self.history[channel_id] = []
        return channel

    def find_user(self, ref: str) -> User | None:
        ref = ref.lstrip("@")
        if ref in self.users:
            return self.users[ref]
        return next((u for u in self.users.values() if u.name == ref), None)

    def user(self, ref: str) -> User:
        found = self.find_user(ref)
        if found is None:
            raise LookupError(f"no user {ref!r} in the emulated workspace")
        return found

    def find_channel(self, ref: str) -> Channel | None:
        if ref in self.channels:
            return self.channels[ref]
        name = ref.lstrip("#")
        return next((c for c in self.channels.values() if not c.is_im and c.name == name), None)

    def channel(self, ref: str) -> Channel:
        found = self.find_channel(ref)
        if found is None:
            raise LookupError(f"no channel {ref!r} in the emulated workspace")
        return found

    def _free_id(self, wanted: str, taken: dict[str, Any]) -> str:
        candidate, n = wanted, 2
        while candidate in taken:
            candidate, n = f"{wanted}{n}", n + 1
        return candidate

    # ----- messages

    def post(self, channel: Channel, fields: dict[str, Any]) -> dict[str, Any]:
        """Store a new message (a thread reply when `thread_ts` is set) and return the stored dict."""
        ts = self.clock.next()
        message: dict[str, Any] = {"type": "message", **fields, "ts": ts, "channel": channel.id}
        message.setdefault("team", self.identity.team_id)
        root_ts = message.get("thread_ts")
        if root_ts:
            root = self.message(channel.id, root_ts)
            if root is None:
                raise LookupError(f"no thread {root_ts} in {channel.id}")
            if root.get("thread_ts") not in (None, root["ts"]):  # a reply to a reply joins the root's thread
                root = self.message(channel.id, root["thread_ts"]) or root
                message["thread_ts"] = root["ts"]
            message["parent_user_id"] = author_of(root)
            self._count_reply(root, message)
        self.history[channel.id].append(message)
        return message

    def _count_reply(self, root: dict[str, Any], reply: dict[str, Any]) -> None:
        root["thread_ts"] = root["ts"]
        root["reply_count"] = root.get("reply_count", 0) + 1
        users = root.setdefault("reply_users", [])
        if author_of(reply) not in users:
            users.append(author_of(reply))
        root["reply_users_count"] = len(users)
        root["latest_reply"] = reply["ts"]
        root.setdefault("is_locked", False)
        root.setdefault("subscribed", False)

    def message(self, channel_id: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.history.get(channel_id, []) if m["ts"] == ts), None)

    def thread(self, channel_id: str, ts: str) -> list[dict[str, Any]]:
        """The thread `ts` is the root of or a reply in: root first, then replies oldest first."""
        root = self.message(channel_id, ts)
        if root is None:
            return []
        if root.get("thread_ts") not in (None, root["ts"]):
            root = self.message(channel_id, root["thread_ts"]) or root
        root_ts = root["ts"]
        replies = [m for m in self.history[channel_id] if m.get("thread_ts") == root_ts and m is not root]
        return [root, *replies]

    def top_level(self, channel_id: str) -> list[dict[str, Any]]:
        """What conversations.history lists: top-level messages and thread broadcasts, oldest first."""
        return [
            m
            for m in self.history.get(channel_id, [])
            if m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast"
        ]

    def remove(self, channel_id: str, ts: str) -> None:
        """Delete like Slack: a thread root with replies becomes a tombstone, anything else disappears."""
        message = self.message(channel_id, ts)
        if message is None:
            return
        if message.get("reply_count"):
            for key in ("blocks", "attachments", "files", "metadata", "bot_id", "bot_profile", "app_id"):
                message.pop(key, None)
            message.update(
                subtype="tombstone", text="This message was deleted.", user="USLACKBOT", hidden=True
            )
            return
        self.history[channel_id].remove(message)
        root_ts = message.get("thread_ts")
        root = self.message(channel_id, root_ts) if root_ts and root_ts != ts else None
        if root is not None:
            replies = [m for m in self.history[channel_id] if m.get("thread_ts") == root_ts and m is not root]
            root["reply_count"] = len(replies)
            root["reply_users"] = list(dict.fromkeys(author_of(m) for m in replies))
            root["reply_users_count"] = len(root["reply_users"])
            root["latest_reply"] = replies[-1]["ts"] if replies else root["ts"]
