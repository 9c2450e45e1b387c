"""`/chatops link data <name> <url>`, `unlink data <name>`, and `/chatops metrics`.

Linking opens the source read-only and lists its tables before saving, so a typo or a missing
password is reported at once. Files linked from Slack must sit inside the bot's data folder
(CHATOPS_DATA_DIR): anyone in a channel can run the command, and the bot's own files (its store,
its keys) must not become queryable. Files anywhere else are declared in chatops.yml by an admin.
"""

from __future__ import annotations

import asyncio
import re

from bot.channel import ChannelContext
from bot.data.sources.links import DataLink, DataLinkError, Target, open_source
from bot.data.sources.source import QueryLimits
from bot.errors import SkillError, UserError
from bot.settings import Settings
from bot.store.sqlite import Store

USAGE = "Use `/chatops link data <name> <url or file>`, e.g. `/chatops link data app sqlite:///app.db`."
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")


class DataLinker:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store

    async def link(self, channel: ChannelContext, args: list[str], user: str) -> str:
        if len(args) != 2:
            raise UserError(f"I didn't get that. {USAGE}")
        name, url = args[0], args[1].strip("<>").split("|", 1)[0]
        if not NAME.match(name):
            raise UserError("A data source name is a short word (letters, digits, `-`, `_`), e.g. `app`.")
        current = channel.data.link(name)
        if current is not None and current.origin == "chatops.yml":
            raise UserError(f"`{name}` is already defined in chatops.yml; pick another name.")
        link = DataLink(name, url, base_dir=self.settings.data_folder, origin="slack")
        try:
            target = link.target
        except DataLinkError as exc:
            raise UserError(f"I can't link that: {exc.message}.") from None
        if target.url is not None:
            self._check_server(name, url, target)
        if target.path is not None:
            folder = self.settings.data_folder.resolve()
            resolved = target.path.resolve()
            if resolved != folder and folder not in resolved.parents:
                raise UserError(f"Files linked from Slack must be inside the bot's data folder (`{folder}`, set by "
                                "CHATOPS_DATA_DIR). Put the file there, or declare it in chatops.yml.")
        source = open_source(link, target, QueryLimits(self.settings.sql_timeout, self.settings.sql_max_rows),
                             passwords=self.settings.data_passwords,
                             cache_dir=self.settings.home / "cache" / "duckdb")
        try:
            tables = await asyncio.to_thread(source.tables)
        except SkillError as exc:
            raise UserError(f"I could not read `{name}`: {exc}") from None
        except UserError as exc:
            hint = f" If it needs a password, set `{link.password_variable}` for the bot." \
                if target.engine == "postgresql" else ""
            raise UserError(exc.message + hint) from None
        self.store.link_data(channel.id, name, url, user)
        shown = ", ".join(f"`{t}`" for t in tables[:8]) + (f" and {len(tables) - 8} more" if len(tables) > 8 else "")
        return (f"<@{user}> linked data source *{name}* ({source.engine}, read-only) to this channel: "
                f"{len(tables)} table(s){': ' + shown if tables else ''}. Ask away, e.g. "
                f"`@chatops how many rows are in {tables[0] if tables else 'the biggest table'}?`")

    def _check_server(self, name: str, url: str, target: Target) -> None:
        """A database server linked from Slack must be on the admin's allowlist, with no options of its own."""
        assert target.url is not None
        host, port = target.url.host or "", target.url.port or 5432
        allowed = self.settings.data_hosts
        if host.lower() not in allowed and f"{host.lower()}:{port}" not in allowed:
            raise UserError(f"I can't link `{name}`: database servers linked from Slack must be on the admin's "
                            "allowlist (`CHATOPS_DATA_HOSTS`), and `"
                            f"{host}:{port}` is not. An admin can allow the host, or declare the source in "
                            "chatops.yml (the only place a password can be given to it).")
        if target.url.query:
            raise UserError(f"I can't link `{name}` with connection options (`{'`, `'.join(target.url.query)}`); "
                            "an admin can declare them in chatops.yml.")

    def unlink(self, channel: ChannelContext, args: list[str]) -> str:
        if len(args) != 1:
            raise UserError("Use `/chatops unlink data <name>`.")
        link = channel.data.link(args[0])
        if link is None:
            raise UserError(f"No data source `{args[0]}` is linked here. {self.describe(channel)}")
        if link.origin == "chatops.yml":
            raise UserError(f"`{link.name}` is defined in chatops.yml; remove it there.")
        self.store.unlink_data(channel.id, link.name)
        return f"Unlinked data source *{link.name}* from this channel."

    def describe(self, channel: ChannelContext) -> str:
        data = channel.data
        if not data:
            return f"No data sources are linked to this channel. {USAGE}"
        lines = ["*Data sources linked to this channel* (read-only):"]
        for link in data.links:
            origin = " (chatops.yml)" if link.origin == "chatops.yml" else ""
            try:
                engine = link.target.engine
            except DataLinkError:
                engine = "misconfigured"
            lines.append(f"• `{link.name}` — {engine}{origin}")
        return "\n".join(lines)

    def metrics(self, channel: ChannelContext) -> str:
        data = channel.data
        if not data.metrics:
            return ("No metrics are defined for this channel. Add them under `metrics:` in chatops.yml (name, "
                    "source, table, time, value or numerator/denominator, dimensions).")
        lines = [f"*Metrics for this channel* ({len(data.metrics)}): ask `@chatops why did <metric> drop last week?`"]
        for metric in data.metrics:
            also = f" (also: {', '.join(metric.synonyms)})" if metric.synonyms else ""
            about = f" — {metric.description}" if metric.description else ""
            dims = f"; by {', '.join(metric.dimensions)}" if metric.dimensions else ""
            lines.append(f"• *{metric.name}*{also}{about}: {metric.describe()}{dims}")
        return "\n".join(lines)
