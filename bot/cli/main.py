"""The `chatops` command. The only place that reads os.environ or configures logging."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
from pathlib import Path

import click

from bot.app import build_app
from bot.cli.doctor import Doctor
from bot.cli.loop_probe import watch_loop
from bot.errors import SettingsError
from bot.redact import RedactingFormatter, Redactor
from bot.settings import Settings
from bot.store.sqlite import StoreUnavailableError


def configure_logging(settings: Settings, stream=None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(RedactingFormatter(Redactor(settings.secrets),
                                            "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    for noisy in ("slack_bolt", "slack_sdk", "aiohttp.access", "httpx", "httpx2", "openai"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def load_settings(*, for_slack: bool, overrides: dict[str, str] | None = None) -> Settings:
    try:
        return Settings.from_env({**os.environ, **(overrides or {})}, for_slack=for_slack)
    except SettingsError as exc:
        click.echo("chatops cannot start; fix these settings:", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        click.echo("Run `chatops doctor` for a full check.", err=True)
        raise SystemExit(2) from None


@click.group(help="chatops: a Slack bot that answers @mentions with your team's code and data.")
def main() -> None:
    pass


@main.command(help="Run the bot against Slack: Socket Mode when SLACK_APP_TOKEN is set, else HTTP on --port.")
@click.option("--port", default=3000, show_default=True, help="Port for the HTTP Events API (HTTP mode only).")
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on (HTTP mode only).")
@click.option("--loop-probe", type=click.Path(dir_okay=False, path_type=Path), envvar="CHATOPS_LOOP_PROBE",
              help="For benchmarks: write the event loop's stalls to this JSON file (bot/cli/loop_probe.py).")
def run(port: int, host: str, loop_probe: Path | None) -> None:
    settings = load_settings(for_slack=True)
    configure_logging(settings)
    try:
        asyncio.run(_serve(settings, host, port, loop_probe))
    except StoreUnavailableError as exc:  # one plain sentence, not a traceback
        click.echo(f"chatops cannot start: {exc.message}", err=True)
        raise SystemExit(1) from None


@main.command(help="Try the bot locally: a Slack emulator, the bot wired to it, and a chat in this terminal.")
@click.option("--user", default="you", show_default=True, help="Your name in the emulated workspace.")
def dev(user: str) -> None:
    from bot.cli.dev import run_dev

    settings = load_settings(for_slack=False)
    configure_logging(settings.replace(log_level="WARNING" if settings.log_level == "INFO" else settings.log_level))
    asyncio.run(run_dev(settings, user=user))


@main.command(help="Check settings, Slack tokens, the model endpoint and the sandbox; print exactly what to fix.")
def doctor() -> None:
    raise SystemExit(asyncio.run(Doctor(os.environ, click.echo).run()))


@main.group(help="The metrics catalog (chatops.yml): list metrics, explain why one moved.")
def metrics() -> None:
    pass


@metrics.command(name="list", help="List the metrics defined in chatops.yml.")
@click.option("--channel", help="Only this channel's metrics (#name or id).")
def metrics_list(channel: str | None) -> None:
    from bot.cli.metrics import list_metrics

    click.echo(list_metrics(load_settings(for_slack=False), channel))


@metrics.command(name="explain", help=(
    "Explain why a metric moved: the change, its onset, the segments that drove it, candidate commits, "
    "and the SQL. Name a catalog metric, or describe one with --source/--table/--value."))
@click.argument("metric", required=False)
@click.option("--channel", help="Use this channel's catalog, data sources and repos (#name or id).")
@click.option("--source", help="A data source: a name from chatops.yml, a file, or a URL (sqlite:///, duckdb:///, "
                               "postgresql://).")
@click.option("--table", help="The table (or view) the metric is computed from.")
@click.option("--value", help="An additive aggregate, e.g. 'count(*)' or 'sum(amount)'.")
@click.option("--numerator", help="For a ratio metric: the numerator aggregate, e.g. 'sum(converted)'.")
@click.option("--denominator", help="For a ratio metric: the denominator aggregate, e.g. 'count(*)'.")
@click.option("--time", "time_column", help="The time column (ISO text, epoch seconds, date or timestamp).")
@click.option("--dimension", "-d", "dimensions", multiple=True, help="A column to slice by (repeatable).")
@click.option("--filter", "filters", multiple=True, help="A SQL condition every row must meet (repeatable).")
@click.option("--grain", type=click.Choice(["hour", "day"]), help="Series grain (default: from the window length).")
@click.option("--current", default="", help="The period to explain (default: the last 7 days), e.g. 'last week'.")
@click.option("--baseline", default="", help="The period to compare with (default: the same length before).")
@click.option("--baseline-where", help="Compare two slices instead of two windows: the baseline slice's SQL condition.")
@click.option("--current-where", help="The current slice's SQL condition (with --baseline-where).")
@click.option("--repo", "repos", multiple=True, help="A repo (path or URL) to search for candidate commits.")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), help="Treat this date as today.")
@click.option("--timeout", type=float, help="Seconds per query (default: CHATOPS_SQL_TIMEOUT).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: top-line, onset, root causes, commits, SQL.")
def metrics_explain(metric: str | None, time_column: str | None, as_of, **flags) -> None:
    from bot.cli.metrics import ExplainOptions, explain_command
    from bot.errors import UserError

    settings = load_settings(for_slack=False)
    configure_logging(settings.replace(log_level="WARNING" if settings.log_level == "INFO" else settings.log_level))
    options = ExplainOptions(metric=metric, time=time_column, today=as_of.date() if as_of else None,
                             dimensions=tuple(flags.pop("dimensions")), filters=tuple(flags.pop("filters")),
                             repos=tuple(r if "://" in r else os.path.abspath(r) for r in flags.pop("repos")), **flags)
    try:
        click.echo(asyncio.run(explain_command(settings, options)))
    except UserError as exc:
        click.echo(exc.message, err=True)
        raise SystemExit(1) from None


async def _serve(settings: Settings, host: str, port: int, loop_probe: Path | None = None) -> None:
    app = build_app(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    probe = asyncio.create_task(watch_loop(loop_probe)) if loop_probe else None
    try:
        await app.start()
        if settings.socket_mode:
            await app.serve_socket_mode()
        else:
            await app.serve_http(host, port)
        # What start-up made (modules, the tokenizer, clients) lives as long as the process: keep it out of
        # the collector's full passes, each of which would otherwise hold the event loop for ~60 ms.
        gc.collect()
        gc.freeze()
        await stop.wait()
    finally:
        logging.getLogger(__name__).info("shutting down")
        await app.stop()
        if probe is not None:
            probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await probe


if __name__ == "__main__":
    main()
