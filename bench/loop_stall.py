"""Does the bot keep answering while a copy change runs on a large repo?

A synthetic repo of 30,000 files (git fast-import, built once under bench/.data) in which 200
Python files of about 20 KB carry the product name in a comment and a docstring. The bot
(`chatops run`, HTTP mode, no model) has it linked through chatops.yml. `change "Acme Widgets" to
"Acme Gizmos"` is asked twice, one after the other (the first also clones the mirror), while
`/chatops help` and `/chatops status` are sent every 0.1 s, on the clock, as Slack would send
them, until the second change shows its preview. Measured: each slash command's answer time from
when it was due (Slack gives up after 3 s), each copy change's time to its preview, and the bot's
longest event loop stall (its own probe, bot/cli/loop_probe.py). Targets: slowest answer < 3 s;
loop stall < 50 ms.

    .venv/bin/python bench/loop_stall.py [--files 30000] [--matching 200] [--kb 20] [--changes 2] [--every 0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._processes import BOT_TOKEN, SIGNING_SECRET, Processes, free_port, percentile

DATA = Path(__file__).resolve().parent / ".data"
OLD, NEW = "Acme Widgets", "Acme Gizmos"
OUTCOMES = ("white_check_mark", "x", "no_entry_sign", "grey_question")


def build_repo(path: Path, files: int, matching: int, kb: int) -> None:
    """A bare repo, one commit: `files` small modules, every (files // matching)th a `kb` KB one naming OLD."""
    step = files // matching

    def body(i: int) -> bytes:
        if i % step or i // step >= matching:
            return f"VALUE_{i} = {i}\n".encode()
        parts = [f'# {OLD}: module {i}\n"""Helpers of {OLD} for part {i}."""\n\nimport math\n\n']
        j = 0
        while sum(map(len, parts)) < kb * 1024:
            parts.append(f"\n\ndef scale_{j}(value: float, factor: float = {j}.5) -> dict:\n"
                         f'    """Scale a value by the factor; keep the label."""\n'
                         f"    total = math.floor(value * factor) + {j}  # rounded down\n"
                         f"    return {{'value': total, 'label': 'item-{j}', 'ok': total > {j}}}\n")
            j += 1
        return "".join(parts).encode()

    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    importer = subprocess.Popen(["git", "-C", str(path), "fast-import", "--quiet"], stdin=subprocess.PIPE)
    assert importer.stdin is not None
    importer.stdin.write(b"commit refs/heads/main\ncommitter Bench <bench@example.com> 1700000000 +0000\n"
                         b"data 7\ninitial\n")
    for i in range(files):
        data = body(i)
        name = f"pkg{i // 300}/mod{i % 300 // 30}/file{i}.py".encode()
        importer.stdin.write(b"M 100644 inline %s\ndata %d\n%s\n" % (name, len(data), data))
    importer.stdin.close()
    if importer.wait() != 0:
        raise SystemExit("git fast-import failed")


class Workspace:
    """The emulated Slack, driven over its control API."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url
        self.calls: list[dict] = []

    async def control(self, route: str, spec: dict) -> dict:
        async with self.session.post(f"{self.url}/_sim/{route}", json=spec) as response:
            return await response.json()

    async def outcome(self, ts: str, within: float) -> tuple[str, float]:
        """The outcome reaction on a message, and the wall time it came."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            async with self.session.get(f"{self.url}/_sim/calls", params={"since": len(self.calls)}) as response:
                self.calls.extend(await response.json())
            for call in self.calls:
                args = call["args"]
                if call["method"] == "reactions.add" and call["ok"] and args.get("timestamp") == ts \
                        and args.get("name") in OUTCOMES:
                    return args["name"], call["wall"]
            await asyncio.sleep(0.05)
        raise RuntimeError(f"no outcome on {ts} within {within} s")

    def previews(self) -> int:
        return sum(1 for c in self.calls if c["method"] == "chat.postMessage" and c["ok"]
                   and "Proposed change to" in str(c["args"].get("blocks", "")))


async def slash_on_the_clock(slack: Workspace, every: float, stop: asyncio.Event) -> list[tuple[str, float, str]]:
    """Send `/chatops help` and `/chatops status` alternately every `every` s until `stop`; each answer's
    (text, seconds from when it was due, status)."""
    results: list[tuple[str, float, str]] = []
    loop = asyncio.get_running_loop()

    async def one(text: str, due: float) -> None:
        delivered = await slack.control("slash", {"user": "alice", "channel": "general", "command": "/chatops",
                                                   "text": text})
        answered = (delivered.get("responses") or [""])[-1] or ""
        status = str(delivered.get("statuses", ["?"])[-1])
        results.append((text, loop.time() - due, status if answered else f"{status}, empty"))

    sent: list[asyncio.Task] = []
    start = loop.time()
    while not stop.is_set():
        due = start + len(sent) * every
        await asyncio.sleep(max(0.0, due - loop.time()))
        sent.append(asyncio.create_task(one("help" if len(sent) % 2 == 0 else "status", due)))
    await asyncio.gather(*sent)
    return results


async def main(files: int, matching: int, kb: int, changes: int, every: float) -> None:
    source = DATA / f"copy-{files}-{matching}-{kb}k.git"
    if not source.exists():
        print(f"building a synthetic repo: {files} files, {matching} of {kb} KB naming {OLD!r} …", flush=True)
        DATA.mkdir(parents=True, exist_ok=True)
        build_repo(source, files, matching, kb)
    processes = Processes()
    config = Path(processes.home) / "chatops.yml"
    config.write_text(f"defaults:\n  repos:\n    - url: {source}\n      name: acme/widgets\n"
                      f"  change_policy:\n    max_files: {matching * 2}\n    max_lines: {matching * 8}\n")
    port = free_port()
    try:
        slack_info = await processes.spawn_json(
            "sim.slack", "--port", "0", "--bot-token", BOT_TOKEN, "--signing-secret", SIGNING_SECRET,
            "--deliver-http", f"http://127.0.0.1:{port}/slack/events")
        await processes.start_bot({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                                   "SLACK_API_URL": slack_info["api_url"], "CHATOPS_CONFIG": str(config)}, port)
        async with aiohttp.ClientSession() as session:
            slack = Workspace(session, slack_info["url"])
            stop = asyncio.Event()
            firing = asyncio.create_task(slash_on_the_clock(slack, every, stop))
            await asyncio.sleep(0.5)  # a few answers from an idle bot first
            started = time.time()
            took = []
            try:
                for _ in range(changes):
                    asked = await slack.control("say", {"user": "alice", "channel": "general",
                                                        "text": f'<@U0BOT> change "{OLD}" to "{NEW}"'})
                    sent = time.time()
                    reaction, at = await slack.outcome(asked["ts"], within=300)
                    if reaction != "white_check_mark":
                        raise RuntimeError(f"the copy change ended with :{reaction}:, not its preview")
                    took.append(at - sent)
            finally:
                finished = time.time()
                stop.set()
                answers = await firing
            previews = slack.previews()
    finally:
        await processes.stop()
    stall = processes.stall_figures(started, finished)
    seconds = [s for _, s, _ in answers]
    late = [a for a in answers if a[1] > 3 or a[2] != "200"]
    print(f"repo: {files} files, {matching} of {kb} KB naming {OLD!r}; chatops run, HTTP mode, no model")
    print(f"copy changes: {len(took)} to their preview ({previews} previews) in "
          f"{', '.join(f'{t:.1f}' for t in took)} s (median {statistics.median(took):.1f} s)")
    print(f"slash_ms p50={percentile(seconds, 0.5) * 1000:.0f} p99={percentile(seconds, 0.99) * 1000:.0f} "
          f"slowest={max(seconds) * 1000:.0f} over {len(answers)} commands, {len(late)} late or failed "
          "(target slowest < 3000)")
    print(f"during the copy changes: {stall}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=30_000)
    parser.add_argument("--matching", type=int, default=200)
    parser.add_argument("--kb", type=int, default=20)
    parser.add_argument("--changes", type=int, default=2)
    parser.add_argument("--every", type=float, default=0.1)
    options = parser.parse_args()
    asyncio.run(main(options.files, options.matching, options.kb, options.changes, options.every))
