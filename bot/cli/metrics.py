"""`chatops metrics list` and `chatops metrics explain`: the same analysis as in Slack, in a terminal.

The metric comes from the catalog (chatops.yml) or from flags; it is compared over two time
windows or two slices (`--baseline-where`, `--current-where`). Candidate commits come from the
channel's linked repos, or from `--repo` (a local path or URL).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from dataclasses import dataclass, replace
from pathlib import Path

from bot.data.analysis.explain import Explanation, explain_slices, explain_window
from bot.data.analysis.metrics import Metric, aggregate_problem, find_metric
from bot.data.analysis.windows import Comparison, parse_period, parse_window
from bot.data.catalog import ChannelData
from bot.data.report import to_json, to_markdown
from bot.data.sources.links import DataLink
from bot.data.sources.source import QueryLimits
from bot.data.why import add_candidates
from bot.errors import SkillError, UserError
from bot.repos.git_auth import GitAuth
from bot.repos.github_auth import GitHubAuth
from bot.repos.links import RepoLink, linked_repos, parse_repo
from bot.repos.run_repos import RunRepos
from bot.repos.workspace import Workspaces
from bot.settings import Settings
from bot.store.sqlite import Store


@dataclass(frozen=True)
class ExplainOptions:
    metric: str | None = None
    channel: str | None = None
    source: str | None = None
    table: str | None = None
    value: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    time: str | None = None
    dimensions: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    grain: str | None = None
    current: str = ""
    baseline: str = ""
    baseline_where: str | None = None
    current_where: str | None = None
    repos: tuple[str, ...] = ()
    as_json: bool = False
    today: dt.date | None = None
    timeout: float | None = None


def list_metrics(settings: Settings, channel: str | None) -> str:
    catalogs = _catalogs(settings, channel)
    lines = []
    for where, metrics in catalogs:
        for metric in metrics:
            about = f" — {metric.description}" if metric.description else ""
            lines.append(f"{metric.name} [{where}]{about}\n    {metric.describe()}; time {metric.time or '-'}; "
                         f"by {', '.join(metric.dimensions) or '-'}")
    return "\n".join(lines) if lines else "No metrics are defined in chatops.yml."


def _catalogs(settings: Settings, channel: str | None) -> list[tuple[str, tuple[Metric, ...]]]:
    if channel:
        return [(channel, settings.channel(channel.lstrip("#"), channel.lstrip("#")).metrics)]
    catalogs = [("defaults", settings.default_channel.metrics)]
    catalogs += [(name, config.metrics) for name, config in settings.channels.items()
                 if config.metrics != settings.default_channel.metrics]
    return catalogs


def _resolve(settings: Settings, options: ExplainOptions) -> tuple[ChannelData, Metric, str | None]:
    """The data sources, the metric, and the channel key whose repos give candidate commits."""
    limits = QueryLimits(options.timeout or settings.sql_timeout, settings.sql_max_rows)
    cache = settings.home / "cache" / "duckdb"
    if options.metric:
        for where, metrics in _catalogs(settings, options.channel):
            if any(m.name == options.metric or options.metric in m.synonyms for m in metrics):
                key = None if where == "defaults" else where
                config = settings.channel(key, key) if key else settings.default_channel
                data = ChannelData(config.data, config.metrics, limits, dict(settings.data_passwords), cache)
                return data, _override(find_metric(options.metric, config.metrics), options), key
        every = tuple(m for _, metrics in _catalogs(settings, options.channel) for m in metrics)
        find_metric(options.metric, every)  # raises "did you mean" / "unknown"
    if not (options.source and options.table and (options.value or options.numerator)):
        raise UserError("Name a catalog metric, or give --source, --table and --value "
                        "(or --numerator and --denominator).")
    link = DataLink("cli", options.source, base_dir=Path.cwd(), origin="cli")
    known = {configured.name: configured for configured in settings.default_channel.data}
    link = known.get(options.source, link)
    metric = _override(Metric(name=options.table, source=link.name, table=options.table), options)
    for text in (metric.value, metric.numerator, metric.denominator):
        if text and aggregate_problem(text):
            raise UserError(aggregate_problem(text) or "")
    return ChannelData((link,), (metric,), limits, dict(settings.data_passwords), cache), metric, options.channel


def _override(metric: Metric, options: ExplainOptions) -> Metric:
    changes = {key: getattr(options, key) for key in ("table", "value", "numerator", "denominator", "time", "grain")
               if getattr(options, key)}
    if options.dimensions:
        changes["dimensions"] = options.dimensions
    if options.filters:
        changes["filters"] = options.filters
    return replace(metric, **changes)


def _comparison(options: ExplainOptions, today: dt.date) -> Comparison:
    comparison = parse_period(options.current, today)
    if comparison is None:
        raise UserError(f"Can't read --current {options.current!r}: try `last week`, `last 14 days`, "
                        "`since 2026-11-03` or `2026-11-01..2026-11-07`.")
    if options.baseline:
        window = parse_window(options.baseline, today)
        if window is None:
            raise UserError(f"Can't read --baseline {options.baseline!r}.")
        comparison = Comparison(comparison.current, window, f"{comparison.current.label()} vs {window.label()}")
    return comparison


async def explain_command(settings: Settings, options: ExplainOptions) -> str:
    """The report (text or JSON) for one `chatops metrics explain`; UserError for anything the user can fix."""
    data, metric, channel = _resolve(settings, options)
    source = data.source(metric.source)
    try:
        if options.baseline_where or options.current_where:
            if not (options.baseline_where and options.current_where):
                raise UserError("Give both --baseline-where and --current-where.")
            explanation = await asyncio.to_thread(explain_slices, source, metric, options.baseline_where,
                                                  options.current_where, timeout=options.timeout)
        else:
            today = options.today or dt.datetime.now(dt.UTC).date()
            explanation = await asyncio.to_thread(explain_window, source, metric, _comparison(options, today),
                                                  timeout=options.timeout)
    except SkillError as exc:
        raise UserError(str(exc)) from None
    await _commits(settings, explanation, channel, options.repos)
    if options.as_json:
        return json.dumps(to_json(explanation), indent=2, default=str)
    report = to_markdown(explanation).replace("The SQL is in the attached file.", "The SQL follows.")
    return report + "\n\n" + "\n\n".join(f"-- {r.purpose}\n{r.sql};" for r in explanation.receipts)


async def _commits(settings: Settings, explanation: Explanation, channel: str | None, paths: tuple[str, ...]) -> None:
    links: list[RepoLink] = [parse_repo(p, settings) for p in paths]  # the CLI made paths absolute
    if channel and not links:
        store = Store.memory()
        links = linked_repos(settings, store, channel.lstrip("#"), channel.lstrip("#"))
        store.close()
    if not links:
        return
    workspaces = Workspaces(settings, GitAuth(settings, GitHubAuth(settings)), spares=False)
    repos = RunRepos(workspaces, links, links[0], "cli")
    try:
        await add_candidates(explanation, repos)
    finally:
        await repos.close()
        await workspaces.close()
