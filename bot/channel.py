"""One channel as the bot sees it, resolved once: its id and name, chatops.yml config, linked repos
and linked data. A run resolves it when it starts; a `/chatops` command when it arrives."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import ChangePolicy, ChannelConfig
from bot.data.catalog import ChannelData
from bot.repos.links import RepoLink, linked_repos
from bot.settings import Settings
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
    def of(cls, settings: Settings, store: Store, channel: str, name: str | None) -> ChannelContext:
        return cls(id=channel, name=name, config=settings.channel(channel, name),
                   repos=linked_repos(settings, store, channel, name),
                   data=ChannelData.for_channel(settings, store, channel, name))
