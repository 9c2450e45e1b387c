"""`/chatops link repo …`, `unlink repo …`, `links`: which repos a channel can ask about.
(`link data …` and `unlink data …` go to bot/data/linking.py.)

Linking checks access at once (git ls-remote with the bot's credentials) and says plainly why
it can't; the mirror is then cloned in the background so the first question is fast.
"""

from __future__ import annotations

import asyncio
import logging

from bot.channel import ChannelContext
from bot.data.linking import DataLinker
from bot.errors import UserError
from bot.repos.links import find_repo, linked_repos, parse_repo
from bot.repos.local import check_local, local_path
from bot.repos.workspace import Workspaces
from bot.settings import Settings
from bot.store.sqlite import Store

log = logging.getLogger(__name__)

LINK_USAGE = ("Use `/chatops link repo <owner/name | git URL> [branch]` or "
              "`/chatops link data <name> <url or file>`.")


class Linker:
    def __init__(self, settings: Settings, store: Store, workspaces: Workspaces) -> None:
        self.settings = settings
        self.store = store
        self.workspaces = workspaces
        self.data = DataLinker(settings, store)
        self._warming: set[asyncio.Task] = set()

    async def link(self, channel: ChannelContext, args: str, user: str) -> str:
        words = args.split()
        if words and words[0].lower() == "data":
            return await self.data.link(channel, words[1:], user)
        if len(words) < 2 or words[0].lower() != "repo" or len(words) > 3:
            raise UserError(f"I didn't get that. {LINK_USAGE}")
        link = parse_repo(words[1], self.settings, branch=words[2] if len(words) == 3 else None)
        path = local_path(link.url)
        if path is not None:
            check_local(path, self.settings, from_slack=True)
        same = find_repo(channel.repos, link.name)
        if same is not None and same.source == "chatops.yml":
            raise UserError(f"`{link.name}` is already linked here in chatops.yml.")
        branch = await self.workspaces.check_access(link)
        self.store.link_repo(channel.id, link.name, link.url, link.branch, user)
        task = asyncio.create_task(self._warm(link))
        self._warming.add(task)
        task.add_done_callback(self._warming.discard)
        default = linked_repos(self.settings, self.store, channel.id, channel.name)[0]  # now with the new one
        role = "the channel's default" if default.name == link.name else f"the default stays `{default.name}`"
        return (f"<@{user}> linked *{link.name}* (branch `{branch}`) to this channel; {role}. "
                f"Ask away: `@chatops where is … in {link.short_name}?` (or add `repo={link.short_name}`).")

    def unlink(self, channel: ChannelContext, args: str) -> str:
        words = args.split()
        if words and words[0].lower() == "data":
            return self.data.unlink(channel, words[1:])
        if len(words) != 2 or words[0].lower() != "repo":
            raise UserError("Use `/chatops unlink repo <name>` or `/chatops unlink data <name>`.")
        link = find_repo(channel.repos, words[1])
        if link is None:
            raise UserError(f"No repo `{words[1]}` is linked here. {self.describe_repos(channel)}")
        if link.source == "chatops.yml":
            raise UserError(f"`{link.name}` is linked in chatops.yml; remove it there.")
        self.store.unlink_repo(channel.id, link.name)
        return f"Unlinked *{link.name}* from this channel."

    def describe(self, channel: ChannelContext) -> str:
        """The channel's repos and data sources."""
        return f"{self.describe_repos(channel)}\n{self.data.describe(channel)}"

    def describe_repos(self, channel: ChannelContext) -> str:
        links = channel.repos
        if not links:
            return "No repos are linked to this channel. Use `/chatops link repo <owner/name | git URL> [branch]`."
        lines = ["*Repos linked to this channel* (the first is the default):"]
        for link in links:
            branch = f" branch `{link.branch}`" if link.branch else ""
            origin = " (chatops.yml)" if link.source == "chatops.yml" else ""
            lines.append(f"• `{link.name}`{branch}{origin}")
        return "\n".join(lines)

    async def _warm(self, link) -> None:
        try:
            await self.workspaces.mirror(link)
        except Exception as exc:
            log.warning("could not clone %s after linking (%s)", link.name, type(exc).__name__, exc_info=True)
