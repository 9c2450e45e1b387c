"""How fast does the bot show it heard you, and does it keep up under a burst?

200 @mentions are fired at `chatops run` (HTTP Events API mode) as signed requests, 50 in
flight, while the model emulator takes 1 s per answer. Measured:
- ack: time until the HTTP response (Slack retries after 3 s);
- first sign: time from sending until the :eyes: reaction reached Slack;
- batch: wall time from the first send until the last answer is done, as a ratio to one lone run;
- loop stall: the longest time the bot's event loop could not run anything during the batch
  (the bot's own probe, `chatops run --loop-probe`, see bot/cli/loop_probe.py).
Targets: ack p99 < 50 ms, first sign p99 < 300 ms, batch < 3x a lone run, loop stall < 50 ms.

    .venv/bin/python bench/ack_latency.py [--mentions 200] [--in-flight 50] [--model-delay 1.0]

CHATOPS_* variables in the environment reach the bot (e.g. CHATOPS_CONCURRENCY=100).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import statistics
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._processes import BOT_TOKEN, SIGNING_SECRET, Processes, percentile


def signed(body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


class Bench:
    def __init__(self, session: aiohttp.ClientSession, slack_url: str, events_url: str) -> None:
        self.session = session
        self.slack_url = slack_url
        self.events_url = events_url
        self.calls: list[dict] = []

    async def new_mention(self, index: int) -> dict:
        spec = {"user": "alice", "channel": "general", "text": f"<@U0BOT> question number {index}"}
        async with self.session.post(f"{self.slack_url}/_sim/post", json=spec) as response:
            return await response.json()

    async def fire(self, posted: dict) -> tuple[float, float]:
        """Deliver a message's events as Slack would; returns (send wall time, ack seconds of the mention)."""
        sent = time.time()
        ack = 0.0
        for body in posted["events"]:
            data = json.dumps(body).encode()
            started = time.perf_counter()
            async with self.session.post(self.events_url, data=data, headers=signed(data)) as response:
                await response.read()
                assert response.status == 200, response.status
            if body["event"]["type"] == "app_mention":
                ack = time.perf_counter() - started
        return sent, ack

    async def refresh_calls(self) -> None:
        async with self.session.get(f"{self.slack_url}/_sim/calls", params={"since": len(self.calls)}) as response:
            self.calls.extend(await response.json())

    def reaction_at(self, ts: str, name: str) -> float | None:
        for call in self.calls:
            if call["method"] == "reactions.add" and call["args"].get("timestamp") == ts \
                    and call["args"].get("name") == name and call["ok"]:
                return call["wall"]
        return None

    async def wait_done(self, timestamps: list[str], within: float) -> dict[str, float]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            await self.refresh_calls()
            done = {ts: self.reaction_at(ts, "white_check_mark") for ts in timestamps}
            if all(done.values()):
                return done
            await asyncio.sleep(0.05)
        raise RuntimeError(f"{sum(1 for v in done.values() if v)} of {len(timestamps)} runs finished in time")

    async def lone_run(self, index: int) -> float:
        posted = await self.new_mention(index)
        sent, _ = await self.fire(posted)
        done = await self.wait_done([posted["ts"]], within=60)
        return done[posted["ts"]] - sent


async def main(mentions: int, in_flight: int, model_delay: float) -> None:
    processes = Processes()
    try:
        model = await processes.spawn_json("sim.openai", "--port", "0", "--reply-delay", str(model_delay),
                                           "--text", "The answer, after some thought.")
        slack = await processes.spawn_json("sim.slack", "--port", "0", "--bot-token", BOT_TOKEN,
                                           "--signing-secret", SIGNING_SECRET)
        events_url = await processes.start_bot({
            "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack["api_url"],
            "OPENAI_BASE_URL": model["base_url"], "CHATOPS_MODEL": model["model"],
        })
        connector = aiohttp.TCPConnector(limit=in_flight + 10)
        async with aiohttp.ClientSession(connector=connector) as session:
            bench = Bench(session, slack["url"], events_url)
            await bench.lone_run(-1)  # warm-up: connections, tokenizer, first auth.test
            lone = statistics.median([await bench.lone_run(-2 - i) for i in range(3)])

            posted = [await bench.new_mention(i) for i in range(mentions)]
            gate = asyncio.Semaphore(in_flight)

            async def limited(item: dict) -> tuple[float, float]:
                async with gate:
                    return await bench.fire(item)

            cpu_before = processes.bot_cpu_seconds()
            all_before = processes.all_cpu_seconds()
            started = time.time()
            results = await asyncio.gather(*(limited(item) for item in posted))
            done = await bench.wait_done([p["ts"] for p in posted], within=120)
            cpu = processes.bot_cpu_seconds() - cpu_before
            others = {k: v - all_before[k] for k, v in processes.all_cpu_seconds().items()}
        acks = [ack * 1000 for _, ack in results]
        first_signs = [(bench.reaction_at(p["ts"], "eyes") - sent) * 1000
                       for p, (sent, _) in zip(posted, results, strict=True)]
        batch = max(done.values()) - started
    finally:
        await processes.stop()
    stall = processes.stall_figures(started, max(done.values()))
    print(f"mentions={mentions} in_flight={in_flight} model_delay={model_delay}s (chatops run, HTTP mode)")
    print(f"ack_ms p50={percentile(acks, 0.5):.1f} p99={percentile(acks, 0.99):.1f} (target p99 < 50)")
    print(f"first_sign_ms p50={percentile(first_signs, 0.5):.1f} p99={percentile(first_signs, 0.99):.1f} "
          "(target p99 < 300)")
    print("cpu_s during the batch: " + " ".join(f"{name}={seconds:.2f}" for name, seconds in others.items()))
    print(f"bot_cpu_s={cpu:.2f} ({cpu / mentions * 1000:.1f} ms per mention)")
    print(f"lone_run_s={lone:.2f} batch_s={batch:.2f} batch_vs_lone={batch / lone:.2f}x (target < 3x)")
    print(f"during the batch: {stall}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=200)
    parser.add_argument("--in-flight", type=int, default=50)
    parser.add_argument("--model-delay", type=float, default=1.0)
    options = parser.parse_args()
    asyncio.run(main(options.mentions, options.in_flight, options.model_delay))
