"""The repos one run can work on: the chosen one pinned to a commit up front; a worktree for each
made on first use and removed when the run ends. Also what the run read, for its receipts, and
which AGENTS.md files the model has been given."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import git

from bot.errors import SkillError
from bot.repos.diff import apply_patch
from bot.repos.links import RepoLink, find_repo
from bot.repos.workspace import Workspaces, Worktree

log = logging.getLogger(__name__)

AGENTS_FILE = "AGENTS.md"
AGENTS_BUDGET = 16 * 1024  # bytes of AGENTS.md per run, root included


@dataclass
class Pinned:
    link: RepoLink
    mirror: Path
    branch: str
    sha: str


@dataclass
class RunRepos:
    workspaces: Workspaces
    links: list[RepoLink]
    chosen: RepoLink
    run_id: str
    branch: str | None = None
    pinned: dict[str, Pinned] = field(default_factory=dict)
    worktrees: dict[str, Worktree] = field(default_factory=dict)
    read: list[str] = field(default_factory=list)  # names of repos the model looked at, in order
    agents_given: set[str] = field(default_factory=set)  # "repo:dir" whose AGENTS.md the model has
    agents_bytes: int = 0
    start_from: dict[str, tuple[str, str]] = field(default_factory=dict)  # repo -> (sha, patch) to continue from
    # skills that only read may run at once: each repo is pinned and checked out exactly once
    _locks: defaultdict[str, asyncio.Lock] = field(default_factory=lambda: defaultdict(asyncio.Lock))

    async def prepare(self) -> Pinned:
        """Fetch (if stale) and pin the chosen repo, so the whole run reads one commit."""
        return await self.pin(self.chosen.name)

    def link(self, name: str) -> RepoLink:
        link = find_repo(self.links, name) if name else self.chosen
        if link is None:
            known = ", ".join(f"`{x.name}`" for x in self.links)
            raise SkillError(f"no linked repo named {name!r}; linked here: {known}")
        return link

    async def pin(self, name: str) -> Pinned:
        link = self.link(name)
        async with self._locks[f"pin:{link.name}"]:
            if link.name not in self.pinned:
                branch = self.branch if link is self.chosen else None
                mirror, branch, sha = await self.workspaces.resolve(link, branch)
                if link.name in self.start_from:  # continuing an earlier proposal: stay on its base
                    sha = self.start_from[link.name][0]
                self.pinned[link.name] = Pinned(link, mirror, branch, sha)
        pinned = self.pinned[link.name]
        if link.name not in self.read:
            self.read.append(link.name)
        return pinned

    async def worktree(self, name: str) -> Worktree:
        pinned = await self.pin(name)
        async with self._locks[f"worktree:{pinned.link.name}"]:
            if pinned.link.name not in self.worktrees:
                worktree = await self.workspaces.checkout(pinned.link, self.run_id, pinned.branch, sha=pinned.sha)
                if pinned.link.name in self.start_from:
                    await asyncio.to_thread(apply_patch, worktree.path, self.start_from[pinned.link.name][1])
                self.worktrees[pinned.link.name] = worktree
        return self.worktrees[pinned.link.name]

    async def is_tracked(self, worktree: Worktree, relative: str) -> bool:
        """Is the path in the pinned commit (as opposed to created during this run)?"""
        return await asyncio.to_thread(_in_commit, worktree.mirror, worktree.sha, relative)

    async def root_agents_text(self, name: str) -> str:
        """The whole AGENTS.md at the repo root, at the pinned commit ("" if there is none)."""
        pinned = self.pinned.get(self.link(name).name)
        if pinned is None:
            return ""
        return await asyncio.to_thread(_root_agents, pinned.mirror, pinned.sha)

    async def root_agents_md(self, pinned: Pinned) -> str:
        """The repo's top-level AGENTS.md, within budget, for the system prompt."""
        text = await asyncio.to_thread(_root_agents, pinned.mirror, pinned.sha)
        if not text:
            return ""
        self.agents_given.add(f"{pinned.link.name}:")
        return self._within_budget(text, AGENTS_FILE)

    async def nearby_agents_md(self, worktree: Worktree, relative: str) -> str:
        """AGENTS.md files in the directories leading to `relative` that the model has not seen yet."""
        parts = Path(relative).parts
        directories = [Path(*parts[:i]) for i in range(1, len(parts) + 1)]
        unseen = [d for d in directories if f"{worktree.link.name}:{d}" not in self.agents_given]
        found = await asyncio.to_thread(_agents_files, worktree.path, unseen) if unseen else []
        notes = []
        for directory, text in found:
            key = f"{worktree.link.name}:{directory}"
            if key in self.agents_given:  # a skill running alongside gave it meanwhile
                continue
            self.agents_given.add(key)
            text = self._within_budget(text, f"{directory}/{AGENTS_FILE}")
            if text:
                notes.append(f"Instructions from {directory}/{AGENTS_FILE} (they apply to files under it):\n{text}")
        return "\n\n".join(notes)

    def _within_budget(self, text: str, where: str) -> str:
        left = AGENTS_BUDGET - self.agents_bytes
        if left <= 0:
            return ""
        data = text.encode()
        if len(data) > left:
            text = data[:left].decode(errors="ignore") + f"\n[{where} truncated: {len(data) - left} more bytes]"
        self.agents_bytes += min(len(data), left)
        return text.strip()

    async def close(self) -> None:
        for worktree in self.worktrees.values():
            try:
                await self.workspaces.release(worktree)
            except Exception as exc:  # a leftover worktree is removed on the next start
                log.warning("could not remove worktree %s (%s)", worktree.path, type(exc).__name__, exc_info=True)
        self.worktrees.clear()


def _in_commit(mirror: Path, sha: str, relative: str) -> bool:
    try:
        git.Repo(mirror).git.cat_file("-e", f"{sha}:{relative}")
        return True
    except git.GitCommandError:
        return False


def _root_agents(mirror: Path, sha: str) -> str:
    try:
        return git.Repo(mirror).git.show(f"{sha}:{AGENTS_FILE}")
    except git.GitCommandError:
        return ""


def _agents_files(worktree: Path, directories: list[Path]) -> list[tuple[Path, str]]:
    """(directory, text) of the AGENTS.md files among `directories` of the worktree."""
    found = []
    for directory in directories:
        candidate = worktree / directory / AGENTS_FILE
        if candidate.is_file():
            found.append((directory, candidate.read_text(errors="replace")))
    return found
