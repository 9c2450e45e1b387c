"""A watch on the event loop, for benchmarks (`chatops run --loop-probe FILE`, or
CHATOPS_LOOP_PROBE=FILE).

A task sleeps 5 ms at a time and notes by how much each wake-up came late: that lateness is how long
the loop was stalled by whatever ran on it meanwhile, whether one blocking call or a burst of many
short steps. To tell them apart, each callback the loop runs is timed, and the longest one of the
stall is noted, as is the longest garbage collection in it (a collection holds every thread, so a
long one stalls the loop whatever it runs). A watchdog thread looks at the loop every 10 ms; when it
has not woken for 50 ms, it notes where the loop thread is (the innermost frames of our own code),
so a stall comes with its culprit. Every stall over 10 ms (wall time it began, ms, longest single
step in ms, longest collection in ms, where) goes to FILE as JSON, rewritten at most twice a second
and when the bot stops, so a benchmark can take the worst stall within the window it measured.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TICK = 0.005  # seconds slept per wake-up
NOTED_MS = 10.0  # stalls longer than this are listed
LOCATED_MS = 50.0  # stalls longer than this are located (a stack sample of the loop thread)
MAX_NOTED = 20_000
FLUSH_EVERY = 0.5
ROOT = Path(__file__).resolve().parents[2]
OURS = tuple(str(ROOT / package) + os.sep for package in ("bot", "handlers", "skills"))


class _Watch:
    def __init__(self) -> None:
        self.thread_id = threading.get_ident()
        self.beat = time.monotonic()
        self.where = ""  # where the loop thread was during the current stall ("" when not located)
        self.longest_step = 0.0  # seconds, of one callback since the last wake-up
        self.longest_gc = 0.0  # seconds, of one garbage collection since the last wake-up
        self._gc_started = 0.0
        self.stopped = threading.Event()

    def on_gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.longest_gc = max(self.longest_gc, time.perf_counter() - self._gc_started)

    def timed(self, run: Callable[[asyncio.Handle], None]) -> Callable[[asyncio.Handle], None]:
        def timed_run(handle: asyncio.Handle) -> None:
            started = time.perf_counter()
            try:
                run(handle)
            finally:
                self.longest_step = max(self.longest_step, time.perf_counter() - started)
        return timed_run

    def watchdog(self) -> None:
        while not self.stopped.wait(0.01):
            if not self.where and (time.monotonic() - self.beat) * 1000 > LOCATED_MS:
                frame = sys._current_frames().get(self.thread_id)
                self.where = _where(frame) if frame is not None else "?"


async def watch_loop(path: Path) -> None:
    """Run until cancelled, keeping `path` up to date."""
    loop = asyncio.get_running_loop()
    watch = _Watch()
    threading.Thread(target=watch.watchdog, name="loop-probe", daemon=True).start()
    untimed = asyncio.Handle._run
    asyncio.Handle._run = watch.timed(untimed)  # type: ignore[method-assign, assignment]
    gc.callbacks.append(watch.on_gc)
    stalls: list[tuple[float, float, float, float, str]] = []  # (began: wall time, ms, longest step ms, gc ms, where)
    worst = 0.0
    flushed_at = loop.time()
    dirty = True
    try:
        while True:
            before = loop.time()
            await asyncio.sleep(TICK)
            watch.beat = time.monotonic()
            late_ms = (loop.time() - before - TICK) * 1000
            where, watch.where = watch.where, ""
            step_ms, watch.longest_step = watch.longest_step * 1000, 0.0
            gc_ms, watch.longest_gc = watch.longest_gc * 1000, 0.0
            if late_ms > worst:
                worst, dirty = late_ms, True
            if late_ms > NOTED_MS and len(stalls) < MAX_NOTED:
                stalls.append((round(time.time() - late_ms / 1000, 3), round(late_ms, 1), round(step_ms, 1),
                               round(gc_ms, 1), where))
                dirty = True
            if dirty and loop.time() - flushed_at >= FLUSH_EVERY:
                await asyncio.to_thread(_write, path, worst, list(stalls))
                flushed_at, dirty = loop.time(), False
    finally:
        asyncio.Handle._run = untimed  # type: ignore[method-assign]
        gc.callbacks.remove(watch.on_gc)
        watch.stopped.set()
        _write(path, worst, stalls)


def _where(frame) -> str:
    """The innermost frame, and the three innermost of our own code: `file:line function` each."""
    frames = []
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    ours = [f for f in frames if f.f_code.co_filename.startswith(OURS)][:3]
    shown = [frames[0], *(f for f in ours if f is not frames[0])] if frames else []
    return " <- ".join(f"{_short(f.f_code.co_filename)}:{f.f_lineno} {f.f_code.co_name}" for f in shown)


def _short(filename: str) -> str:
    return filename.removeprefix(str(ROOT) + os.sep).split(f"site-packages{os.sep}")[-1]


def _write(path: Path, worst: float, stalls: list[tuple[float, float, float, float, str]]) -> None:
    record = {"tick_ms": TICK * 1000, "worst_ms": round(worst, 1), "noted_over_ms": NOTED_MS,
              "located_over_ms": LOCATED_MS, "stalls": stalls}
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(record))
    os.replace(partial, path)


@dataclass(frozen=True)
class Stall:
    began: float  # wall time
    ms: float
    longest_step_ms: float  # the longest single callback within it: a blocking call when close to `ms`
    longest_gc_ms: float  # the longest garbage collection within it
    where: str  # where the loop thread was, for stalls over LOCATED_MS


def stalls_between(path: Path, since: float, until: float) -> list[Stall]:
    """The noted stalls that overlap [since, until] wall time, longest first."""
    record = json.loads(path.read_text())
    found = [Stall(*row) for row in record["stalls"] if row[0] <= until and row[0] + row[1] / 1000 >= since]
    return sorted(found, key=lambda stall: -stall.ms)
