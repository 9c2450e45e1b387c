"""The `chatops` command. The only place that reads os.environ or configures logging."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

import click

from bot.app import build_app
from bot.doctor import Doctor
from bot.errors import SettingsError
from bot.redact import RedactingFormatter, Redactor
from bot.settings import Settings


def configure_logging(settings: Settings, stream=None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(RedactingFormatter(Redactor(settings.secrets), "%(asctime)s %(levelname)s %(name)s: %(message)s"))
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
def run(port: int, host: str) -> None:
    settings = load_settings(for_slack=True)
    configure_logging(settings)
    asyncio.run(_serve(settings, host, port))


@main.command(help="Try the bot locally: a Slack emulator, the bot wired to it, and a chat in this terminal.")
@click.option("--user", default="you", show_default=True, help="Your name in the emulated workspace.")
def dev(user: str) -> None:
    from bot.dev import run_dev

    settings = load_settings(for_slack=False)
    configure_logging(settings.replace(log_level="WARNING" if settings.log_level == "INFO" else settings.log_level))
    asyncio.run(run_dev(settings, user=user))


@main.command(help="Check settings, Slack tokens, the model endpoint and the sandbox; print exactly what to fix.")
def doctor() -> None:
    raise SystemExit(asyncio.run(Doctor(os.environ, click.echo).run()))


async def _serve(settings: Settings, host: str, port: int) -> None:
    app = build_app(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await app.start()
        if settings.socket_mode:
            await app.serve_socket_mode()
        else:
            await app.serve_http(host, port)
        await stop.wait()
    finally:
        logging.getLogger(__name__).info("shutting down")
        await app.stop()


if __name__ == "__main__":
    main()
