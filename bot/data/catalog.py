"""What one channel may query: its linked data sources (chatops.yml and `/chatops link data`) and metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.data.analysis.metrics import Metric, find_metric
from bot.data.sources.links import DataLink, DataLinkError, open_source
from bot.data.sources.source import DataSource, QueryLimits
from bot.errors import SkillError, UserError
from bot.settings import Settings
from bot.store.sqlite import Store

NO_DATA = ("No data source is linked to this channel. Link one with `/chatops link data <name> <url>` "
           "(SQLite, DuckDB, CSV/Parquet or PostgreSQL) or under `data:` in chatops.yml.")


@dataclass
class ChannelData:
    links: tuple[DataLink, ...]
    metrics: tuple[Metric, ...]
    limits: QueryLimits = field(default_factory=QueryLimits)
    passwords: dict[str, str] = field(default_factory=dict)
    cache_dir: Path | None = None
    _open: dict[str, DataSource] = field(default_factory=dict)

    @classmethod
    def for_channel(cls, settings: Settings, store: Store, channel: str,
                    channel_name: str | None = None) -> ChannelData:
        config = settings.channel(channel, channel_name)
        links = list(config.data)
        configured = {link.name for link in links}
        for row in store.data_links(channel):
            if row["name"] not in configured:
                links.append(DataLink(row["name"], row["url"], base_dir=settings.data_folder, origin="slack"))
        return cls(tuple(links), config.metrics, QueryLimits(settings.sql_timeout, settings.sql_max_rows),
                   dict(settings.data_passwords), settings.home / "cache" / "duckdb")

    def __bool__(self) -> bool:
        return bool(self.links)

    def link(self, name: str) -> DataLink | None:
        return next((link for link in self.links if link.name.lower() == name.lower()), None)

    def source(self, name: str | None = None) -> DataSource:
        """The named source; with no name, the channel's only one. A SkillError lists the choices."""
        if not self.links:
            raise SkillError(NO_DATA)
        if not name:
            if len(self.links) > 1:
                raise SkillError(f"name a source: {', '.join(link.name for link in self.links)}")
            name = self.links[0].name
        link = self.link(name)
        if link is None:
            raise SkillError(f"no data source `{name}` here; linked: {', '.join(k.name for k in self.links)}")
        if link.name not in self._open:
            try:
                target = link.target
            except DataLinkError as exc:
                raise UserError(f"The data source `{link.name}` is misconfigured: {exc.message}.",
                                kind="data") from None
            self._open[link.name] = open_source(link, target, self.limits, cache_dir=self.cache_dir,
                                                passwords=self.passwords)
        return self._open[link.name]

    def metric(self, asked: str) -> Metric:
        return find_metric(asked, self.metrics)
