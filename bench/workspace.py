"""How fast is a run's workspace ready, compared with cloning the repo?

Builds a synthetic repo of 30,000 files and 2,000 commits (git fast-import), then times
(a) a fresh `git clone` of it (over file://, so git does a real transfer, not hardlinks) onto
the disk that holds CHATOPS_HOME, and, for comparison, onto tmpfs; and (b) our run workspace
ready from a warm mirror: `Workspaces.checkout`, both as a new worktree (tmpfs) and taking the
spare worktree prepared after the previous run; also (c) a new worktree when the mirror is stale
and is fetched first. Target: (b) median under 1.5 s and under a tenth of (a).

    .venv/bin/python bench/workspace.py [--files 30000] [--commits 2000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot.repos.git_auth import GitAuth
from bot.repos.links import parse_repo
from bot.repos.workspace import Workspaces
from bot.settings import Settings

DATA = Path(__file__).resolve().parent / ".data"


def build_repo(path: Path, files: int, commits: int) -> None:
    """A bare repo: one commit adding `files` small source files, then `commits - 1` small changes."""
    random.seed(7)
    names = [f"pkg{i // 300}/mod{i % 300 // 30}/file{i}.py" for i in range(files)]

    def stream():
        when = 1_700_000_000
        yield b"commit refs/heads/main\ncommitter Bench <bench@example.com> %d +0000\ndata 7\ninitial\n" % when
        for i, name in enumerate(names):
            body = f"# {name}\nVALUE_{i} = {i}\n\n\ndef f{i}(x):\n    return x + {i}\n".encode()
            yield b"M 100644 inline %s\ndata %d\n%s\n" % (name.encode(), len(body), body)
        for c in range(1, commits):
            message = f"change {c}".encode()
            yield b"commit refs/heads/main\ncommitter Bench <bench@example.com> %d +0000\ndata %d\n%s\n" % (
                when + c * 60, len(message), message)
            for _ in range(3):
                i = random.randrange(files)
                body = f"# {names[i]}\nVALUE_{i} = {i + c}\n".encode()
                yield b"M 100644 inline %s\ndata %d\n%s\n" % (names[i].encode(), len(body), body)

    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    importer = subprocess.Popen(["git", "-C", str(path), "fast-import", "--quiet"], stdin=subprocess.PIPE)
    for chunk in stream():
        importer.stdin.write(chunk)
    importer.stdin.close()
    if importer.wait() != 0:
        raise SystemExit("git fast-import failed")


def fresh_clone(source: Path, into: Path) -> float:
    into.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    subprocess.run(["git", "clone", "-q", f"file://{source}", str(into)], check=True)
    seconds = time.perf_counter() - started
    shutil.rmtree(into)
    return seconds


async def workspace_ready(spaces: Workspaces, source: Path, runs: int, name: str, *,
                          stale: bool = False) -> list[float]:
    link = parse_repo(str(source), Settings(home=spaces.mirrors_dir.parent))
    await spaces.mirror(link)  # warm: cloned once
    times = []
    for i in range(runs):
        spaces.freshness = 0 if stale else 3600
        await asyncio.gather(*spaces._spare_tasks.values())  # runs are seconds apart: the spare is ready
        started = time.perf_counter()
        tree = await spaces.checkout(link, f"{name}{i}")
        times.append(time.perf_counter() - started)
        assert (tree.path / "pkg0/mod0/file0.py").exists()
        await spaces.release(tree)
    await spaces.close()
    return times


async def main(files: int, commits: int, runs: int) -> None:
    source = DATA / f"synthetic-{files}-{commits}.git"
    if not source.exists():
        print(f"building a synthetic repo: {files} files, {commits} commits …", flush=True)
        DATA.mkdir(parents=True, exist_ok=True)
        build_repo(source, files, commits)
    with tempfile.TemporaryDirectory(prefix="chatops-bench-home-") as home:
        settings = Settings(home=Path(home))
        plain = Workspaces(settings, GitAuth(settings), spares=False)
        disk = [fresh_clone(source, Path(home) / "clones" / f"c{i}") for i in range(3)]
        tmpfs = [fresh_clone(source, plain.root / f"clone{i}") for i in range(3)]
        new = await workspace_ready(plain, source, runs, "new")
        stale = await workspace_ready(plain, source, runs, "stale", stale=True)
        spared = await workspace_ready(Workspaces(settings, GitAuth(settings)), source, runs, "spare")
        plain.clean_up_after_crash()
        plain.remove_root_if_empty()

    def figures(times: list[float]) -> str:
        return f"median={statistics.median(times):.2f} runs={[round(t, 2) for t in times]}"

    print(f"repo: {files} files, {commits} commits; worktrees in {plain.root.parent}")
    print(f"(a) fresh_clone_s onto disk {figures(disk)}; onto tmpfs {figures(tmpfs)}")
    print(f"(c) workspace_ready_s stale mirror (fetch + new worktree) {figures(stale)}")
    print(f"(b) workspace_ready_s warm mirror, new worktree {figures(new)}; with the prepared spare {figures(spared)}")
    ratio = statistics.median(new) / statistics.median(disk)
    print(f"ratio new worktree / disk clone = {ratio:.3f}; / tmpfs clone = "
          f"{statistics.median(new) / statistics.median(tmpfs):.3f}; spare / disk clone = "
          f"{statistics.median(spared) / statistics.median(disk):.4f} (target < 0.1; (b) median < 1.5 s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=30_000)
    parser.add_argument("--commits", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    asyncio.run(main(options.files, options.commits, options.runs))
