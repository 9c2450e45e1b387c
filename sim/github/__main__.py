"""Run the GitHub emulator on its own: `python -m sim.github --port 0 --sample-repo`.

Prints one JSON line {"url", "api_url", "token", "repos"} on stdout once listening, then serves
until interrupted. Clone with `git -c http.extraHeader="Authorization: Bearer TOKEN" URL/acme/website.git`;
point GITHUB_API_URL at api_url.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys

from sim.github.emulator import GitHubEmulator
from sim.github.sample import create_sample_repo

DEV_TOKEN = "ghp_simLocalDevToken0000000000000000000"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sim.github", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one (default)")
    parser.add_argument("--sample-repo", action="store_true", help="create acme/website, a small static site")
    parser.add_argument("--token", default=DEV_TOKEN, help="a token with contents and pull_requests write")
    parser.add_argument("--login", default="chatops-bot", help="the login that token belongs to")
    return parser.parse_args(argv)


async def serve(options: argparse.Namespace) -> None:
    gh = GitHubEmulator()
    gh.add_token(
        options.token, login=options.login, permissions={"contents": "write", "pull_requests": "write"}
    )
    repos = [create_sample_repo(gh).full_name] if options.sample_repo else []
    await gh.start(host=options.host, port=options.port)
    print(
        json.dumps({"url": gh.url, "api_url": gh.api_url, "token": options.token, "repos": repos}), flush=True
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # no signal handlers on some platforms
            loop.add_signal_handler(signum, stopping.set)
    try:
        await stopping.wait()
    finally:
        await gh.stop()


def main(argv: list[str] | None = None) -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parse_args(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":
    main()
