"""Run the Slack emulator on its own: `python -m sim.slack --port 0 --deliver-http URL`.

Prints one JSON line {"url": ..., "api_url": ...} on stdout once listening, then serves
until interrupted. Drive it through the /_sim/ control API (see sim/slack/control.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys

from sim.slack.emulator import SlackEmulator


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sim.slack", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--deliver-http", metavar="URL", help="deliver events as signed POSTs to URL")
    parser.add_argument("--bot-token", default="xoxb-sim-bot")
    parser.add_argument("--app-token", default="xapp-sim-app")
    parser.add_argument("--signing-secret", default="sim-signing-secret")
    return parser.parse_args(argv)


async def serve(options: argparse.Namespace) -> None:
    sim = SlackEmulator(
        bot_token=options.bot_token, app_token=options.app_token, signing_secret=options.signing_secret
    )
    if options.deliver_http:
        sim.deliver_http_to(options.deliver_http)
    await sim.start(host=options.host, port=options.port)
    print(json.dumps({"url": sim.url, "api_url": sim.api_url}), flush=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stopping.set)
    try:
        await stopping.wait()
    finally:
        await sim.stop()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(serve(parse_args(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":
    main()
