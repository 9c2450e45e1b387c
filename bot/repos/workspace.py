"""Repo mirrors and per-run worktrees.

One bare mirror per linked repo under CHATOPS_HOME/mirrors, cloned once and fetched when older
than the freshness window, one fetch at a time per repo. Each run gets its own `git worktree`,
detached at the branch tip and removed when the run ends, so concurrent runs never see each
other's changes. Worktrees live on a tmpfs (/dev/shm) when there is room: checking out tens of
thousands of files is several times faster there. Whatever a crashed run left is removed on start.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import git

from bot.errors import UserError
from bot.repos.git_auth import GitAuth
from bot.repos.links import RepoLink
from bot.settings import Settings

log = logging.getLogger(__name__)

GIT_TIMEOUT = 600  # seconds for a clone or fetch
TMPFS_MIN_FREE = 2 * 1024**3


@dataclass(frozen=True)
class _Spare:
    path: Path
    sha: str


@dataclass(frozen=True)
class Worktree:
    link: RepoLink
    path: Path
    sha: str
    branch: str
    mirror: Path


class Workspaces:
    def __init__(self, settings: Settings, auth: GitAuth, *, spares: bool = True) -> None:
        self.auth = auth
        self.spares = spares
        self.freshness = settings.repo_freshness
        self.mirrors_dir = settings.home / "mirrors"
        self.root = settings.worktrees_dir or _default_root(settings.home)
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._fetched_at: dict[str, float] = {}
        self._spares: dict[tuple[str, str], _Spare] = {}
        self._spare_tasks: dict[tuple[str, str], asyncio.Task] = {}
        self._spare_count = 0
        self._closing = False
        self._mirror_locks: defaultdict[Path, asyncio.Lock] = defaultdict(asyncio.Lock)

    def mirror_path(self, link: RepoLink) -> Path:
        digest = hashlib.sha1(link.url.encode()).hexdigest()[:8]
        return self.mirrors_dir / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', link.name)}-{digest}.git"

    async def check_access(self, link: RepoLink) -> str:
        """Fail with a clear UserError unless the repo can be read; returns the branch runs will use."""
        env = await self.auth.env_for(link.url)
        try:
            wanted = ["HEAD", *([f"refs/heads/{link.branch}"] if link.branch else [])]
            heads = str(await asyncio.to_thread(git.Git().ls_remote, "--symref", link.url, *wanted, env=env,
                                                kill_after_timeout=60))
        except git.GitCommandError as exc:
            raise _git_problem(link, exc) from None
        if link.branch:
            if f"refs/heads/{link.branch}" not in heads:
                raise UserError(f"`{link.name}` has no branch `{link.branch}`.")
            return link.branch
        match = re.search(r"^ref: refs/heads/(\S+)\s+HEAD", heads, flags=re.MULTILINE)
        return match.group(1) if match else "main"

    async def mirror(self, link: RepoLink) -> Path:
        """The repo's bare mirror, cloned or fetched as needed (at most one fetch at a time per repo)."""
        path = self.mirror_path(link)
        async with self._locks[link.url]:
            fresh = time.monotonic() - self._fetched_at.get(link.url, float("-inf")) < self.freshness
            if path.exists() and fresh:
                return path
            env = await self.auth.env_for(link.url)
            try:
                await asyncio.to_thread(_clone if not path.exists() else _fetch, link.url, path, env)
            except git.GitCommandError as exc:
                if not path.exists() or not (path / "HEAD").exists():
                    await asyncio.to_thread(shutil.rmtree, path, True)
                    raise _git_problem(link, exc) from None
                log.warning("fetching %s failed (%s); using the mirror as it is", link.name, _stderr(exc))
            self._fetched_at[link.url] = time.monotonic()
        return path

    async def resolve(self, link: RepoLink, branch: str | None = None) -> tuple[Path, str, str]:
        """(mirror, branch, sha) for the tip the run will read."""
        mirror = await self.mirror(link)
        tip_branch, sha = await asyncio.to_thread(_tip, link, mirror, branch)
        return mirror, tip_branch, sha

    async def checkout(self, link: RepoLink, run_id: str, branch: str | None = None,
                       sha: str | None = None) -> Worktree:
        """A fresh worktree for this run, detached at the branch tip (or at `sha`).

        A spare worktree made after the previous run on this repo and branch is taken when there
        is one (a rename, plus a checkout of the few files that changed since); then the next
        spare is prepared in the background, so a run's workspace is ready in a blink.
        """
        mirror, branch, tip = await self.resolve(link, branch)
        sha = sha or tip
        path = self.root / f"{run_id}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', link.short_name)}"
        self.root.mkdir(parents=True, exist_ok=True)
        key = (link.url, branch)
        spare = self._spares.pop(key, None)
        if spare is None or not await self._adopt(mirror, spare, path, sha):
            await self._add(mirror, path, sha)
        self._prepare_spare(key, mirror, sha)
        return Worktree(link=link, path=path, sha=sha, branch=branch, mirror=mirror)

    async def _add(self, mirror: Path, path: Path, sha: str) -> None:
        """git keeps worktree bookkeeping in the mirror and concurrent `worktree add`s can trip over
        each other, so the bookkeeping is serialized per mirror; filling the files is not."""
        async with self._mirror_locks[mirror]:
            await asyncio.to_thread(git.Repo(mirror).git.worktree, "add", "--detach", "--no-checkout", "--force",
                                    str(path), sha)
        await asyncio.to_thread(git.Repo(path).git.reset, "--hard", "--quiet")

    async def _adopt(self, mirror: Path, spare: _Spare, path: Path, sha: str) -> bool:
        """Make a spare worktree this run's: move it into place, check out `sha` if the tip moved on."""
        try:
            async with self._mirror_locks[mirror]:
                await asyncio.to_thread(git.Repo(mirror).git.worktree, "move", str(spare.path), str(path))
            if spare.sha != sha:
                await asyncio.to_thread(git.Repo(path).git.checkout, "--detach", "--force", "--quiet", sha)
            return True
        except (git.GitCommandError, git.NoSuchPathError) as exc:
            log.info("spare worktree unusable (%s); making a new one", type(exc).__name__, exc_info=True)
            await asyncio.to_thread(shutil.rmtree, spare.path, True)
            await asyncio.to_thread(shutil.rmtree, path, True)
            async with self._mirror_locks[mirror]:
                await asyncio.to_thread(_prune, mirror)
            return False

    def _prepare_spare(self, key: tuple[str, str], mirror: Path, sha: str) -> None:
        if not self.spares or key in self._spares or key in self._spare_tasks or self._closing:
            return
        self._spare_count += 1
        path = self.root / f".spare-{self._spare_count}-{hashlib.sha1(repr(key).encode()).hexdigest()[:8]}"

        async def make() -> None:
            try:
                await self._add(mirror, path, sha)
                self._spares[key] = _Spare(path, sha)
            except git.GitCommandError as exc:
                log.info("could not prepare a spare worktree (%s)", _stderr(exc))
            finally:
                self._spare_tasks.pop(key, None)

        self._spare_tasks[key] = asyncio.create_task(make())

    async def close(self) -> None:
        """Stop preparing spares and remove them (runs' own worktrees are removed by the runs)."""
        self._closing = True
        if self._spare_tasks:
            await asyncio.wait(list(self._spare_tasks.values()))
        for spare in list(self._spares.values()):
            await asyncio.to_thread(shutil.rmtree, spare.path, True)
        self._spares.clear()
        for mirror in self.mirrors_dir.glob("*.git") if self.mirrors_dir.exists() else ():
            async with self._mirror_locks[mirror]:
                await asyncio.to_thread(_prune, mirror)
        self.remove_root_if_empty()

    async def release(self, worktree: Worktree) -> None:
        await asyncio.to_thread(shutil.rmtree, worktree.path, True)
        async with self._mirror_locks[worktree.mirror]:
            await asyncio.to_thread(_prune, worktree.mirror)

    def clean_up_after_crash(self) -> None:
        """Remove every worktree left in our root (no run is active at start) and prune the mirrors."""
        if self.root.exists():
            for entry in self.root.iterdir():
                shutil.rmtree(entry, ignore_errors=True)
        if self.mirrors_dir.exists():
            for mirror in self.mirrors_dir.glob("*.git"):
                _prune(mirror)


    def remove_root_if_empty(self) -> None:
        try:
            self.root.rmdir()
        except OSError:
            pass


def _clone(url: str, path: Path, env: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    repo = git.Repo.init(path, bare=True)
    with repo.config_writer() as config:
        config.set_value('remote "origin"', "url", url)
        config.set_value('remote "origin"', "fetch", "+refs/heads/*:refs/heads/*")
        config.set_value("gc", "autoDetach", "false")
    _fetch(url, path, env)
    heads = str(repo.git.ls_remote("--symref", "origin", "HEAD", env=env, kill_after_timeout=60))
    match = re.search(r"^ref: (refs/heads/\S+)\s+HEAD", heads, flags=re.MULTILINE)
    if match:
        repo.git.symbolic_ref("HEAD", match.group(1))


def _fetch(url: str, path: Path, env: dict[str, str]) -> None:
    git.Repo(path).git.fetch("origin", "--prune", "--tags", "--force", env=env, kill_after_timeout=GIT_TIMEOUT)


def _prune(mirror: Path) -> None:
    try:
        git.Repo(mirror).git.worktree("prune")
    except (git.GitCommandError, git.InvalidGitRepositoryError, git.NoSuchPathError):
        log.warning("could not prune worktrees of %s", mirror.name, exc_info=True)


def _tip(link: RepoLink, mirror: Path, branch: str | None) -> tuple[str, str]:
    """(branch, sha of its tip) in the mirror; the branch defaults to the link's, then the mirror's HEAD."""
    repo = git.Repo(mirror)
    branch = branch or link.branch or _default_branch(repo)
    try:
        return branch, repo.git.rev_parse("--verify", "--quiet", f"refs/heads/{branch}^{{commit}}")
    except git.GitCommandError:
        names = ", ".join(f"`{h.name}`" for h in list(repo.heads)[:10])
        raise UserError(f"`{link.name}` has no branch `{branch}` (branches: {names}).") from None


def _default_branch(repo: git.Repo) -> str:
    try:
        return repo.git.symbolic_ref("--short", "HEAD")
    except git.GitCommandError:
        return "main"


def _default_root(home: Path) -> Path:
    """A tmpfs under /dev/shm when it has room (per user and home, so bots never share), else home/worktrees."""
    shm = Path("/dev/shm")
    tag = hashlib.sha1(str(home.resolve()).encode()).hexdigest()[:8]
    try:
        stats = os.statvfs(shm)
        if os.access(shm, os.W_OK) and stats.f_bavail * stats.f_frsize >= TMPFS_MIN_FREE:
            return shm / f"chatops-{os.getuid()}-{tag}"
    except OSError:
        pass
    return home / "worktrees"


def _stderr(exc: git.GitCommandError) -> str:
    text = exc.stderr if isinstance(exc.stderr, str) else str(exc.stderr or "")
    return " ".join(text.split())[:300]


def _git_problem(link: RepoLink, exc: git.GitCommandError) -> UserError:
    detail = _stderr(exc).lower()
    log.warning("git failed for %s: %s", link.name, _stderr(exc))
    if any(s in detail for s in ("authentication failed", "could not read username", "terminal prompts disabled",
                                 "401", "403", "permission denied", "access denied")):
        return UserError(f"I can't read `{link.name}`: the server wants credentials I don't have. For GitHub, "
                         "set `GITHUB_TOKEN` to a token that can read it; for other hosts, configure a git "
                         "credential helper for the bot's user.")
    if any(s in detail for s in ("not found", "does not appear to be a git repository", "does not exist", "404")):
        return UserError(f"I can't find `{link.name}` at `{link.url}` (or the token can't see it).")
    if any(s in detail for s in ("could not resolve host", "connection refused", "timed out", "unable to access")):
        return UserError(f"I can't reach the server of `{link.name}` ({link.url}).", retryable=True)
    return UserError(f"git could not fetch `{link.name}` (exit {exc.status}).", retryable=True)
