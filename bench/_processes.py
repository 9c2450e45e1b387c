"""Starting the emulators and the bot as separate processes for benchmarks, so each has its own
event loop and the bot is measured as it really runs (`chatops run`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bot.cli.loop_probe import stalls_between

BOT_TOKEN = "xoxb-bench-bot-token"
SIGNING_SECRET = "bench-signing-secret"


@dataclass
class Processes:
    children: list[asyncio.subprocess.Process] = field(default_factory=list)
    named: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)
    home: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="chatops-bench-"))

    async def spawn_json(self, *args: str) -> dict:
        """Start `python -m ...` that prints one JSON line when ready; return that line."""
        process = await asyncio.create_subprocess_exec(sys.executable, "-m", *args, stdout=asyncio.subprocess.PIPE)
        self.children.append(process)
        self.named[args[0]] = process
        line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
        return json.loads(line)

    bot: asyncio.subprocess.Process | None = None

    @property
    def probe(self) -> Path:
        """Where the bot writes its event loop's stalls (bot/cli/loop_probe.py)."""
        return Path(self.home) / "loop-probe.json"

    def stall_figures(self, since: float, until: float) -> str:
        """The bot's event loop stalls between two wall times (read it after stop()): the longest, the
        longest single step (a blocking call when about as long), the longest garbage collection, and
        where the loop was during the longest stall."""
        stalls = stalls_between(self.probe, since, until)
        if not stalls:
            return "loop_stall_ms longest<10 (target < 50)"
        worst = stalls[0]
        line = (f"loop_stall_ms longest={worst.ms:.1f} (target < 50) "
                f"longest_step_ms={max(s.longest_step_ms for s in stalls):.1f} "
                f"longest_gc_ms={max(s.longest_gc_ms for s in stalls):.1f} "
                f"stalls_over_50ms={sum(1 for s in stalls if s.ms > 50)}")
        return line + (f"\n  longest stall: the loop was at {worst.where}" if worst.where else "")

    def bot_cpu_seconds(self) -> float:
        return cpu_seconds(self.bot.pid)

    def all_cpu_seconds(self) -> dict[str, float]:
        """CPU seconds so far of every process in the benchmark, by name."""
        return {name: cpu_seconds(p.pid) for name, p in self.named.items()} | {"load": cpu_seconds(os.getpid())}

    async def start_bot(self, env: dict[str, str], port: int | None = None) -> str:
        """`chatops run` in HTTP mode (on `port`, else a free one); returns its events URL once /healthz answers."""
        port = port or free_port()
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHATOPS_", "SLACK_"))}
        full_env.update(env, CHATOPS_HOME=self.home, CHATOPS_LOG_LEVEL="WARNING", CHATOPS_LOOP_PROBE=str(self.probe))
        full_env.update({k: v for k, v in os.environ.items() if k.startswith("CHATOPS_")})  # to try settings
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--host", "127.0.0.1", "--port", str(port), env=full_env)
        self.children.append(process)
        self.bot = self.named["bot"] = process
        async with aiohttp.ClientSession() as session:
            for _ in range(300):
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                        if response.status == 200:
                            return f"http://127.0.0.1:{port}/slack/events"
                await asyncio.sleep(0.05)
        raise RuntimeError("the bot did not come up")

    async def stop(self) -> None:
        for process in reversed(self.children):
            if process.returncode is None:
                process.terminate()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(process.wait(), timeout=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields_ = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields_[11]) + int(fields_[12])) / os.sysconf("SC_CLK_TCK")
