"""One channel as a run sees it, resolved once: its name, chatops.yml config, linked repos and data."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import ChangePolicy, ChannelConfig
from bot.data.catalog import ChannelData
from bot.repos.links import RepoLink, linked_repos
from bot.settings import Settings
from bot.slack.io import SlackIO
from bot.store.sqlite import Store


@dataclass(frozen=True)
class ChannelContext:
    id: str
    name: str | None  # None for DMs (and when Slack would not say)
    config: ChannelConfig
    repos: list[RepoLink]  # the first is the channel's default
    data: ChannelData

    @property
    def policy(self) -> ChangePolicy:
        return self.config.policy

    @classmethod
    async def resolve(cls, settings: Settings, store: Store, io: SlackIO, channel: str) -> ChannelContext:
        name = await io.channel_name(channel) if channel[:1] in "CG" else None
        return cls(id=channel, name=name, config=settings.channel(channel, name),
                   repos=linked_repos(settings, store, channel, name),
                   data=ChannelData.for_channel(settings, store, channel, name))
