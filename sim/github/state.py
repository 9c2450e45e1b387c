"""What the emulated GitHub keeps besides git objects: repositories, pull requests, comments,
user ids, and a clock tests can move (for token expiry and rate-limit resets)."""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sim.github.git_store import BareRepo

NAME = re.compile(r"[A-Za-z0-9_.-]+")


def iso(timestamp: float) -> str:
    """GitHub's timestamp format: 2024-05-01T12:00:00Z."""
    return datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Clock:
    """Wall-clock time plus an offset that `advance` moves forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class Site:
    """Where the emulator listens; empty until it has started."""

    url: str = ""

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v3"


@dataclass
class Person:
    """Who did something: a user for personal tokens, `<app>[bot]` for installation tokens."""

    login: str
    id: int
    type: str = "User"  # User, Bot, Organization


@dataclass
class PullRequest:
    id: int
    number: int
    title: str
    body: str | None
    head_ref: str
    base_ref: str
    head_sha: str
    base_sha: str
    user: Person
    draft: bool
    created_at: float
    updated_at: float
    state: str = "open"
    closed_at: float | None = None
    maintainer_can_modify: bool = False

    def stored(self) -> dict[str, Any]:
        return {
            "number": self.number, "title": self.title, "body": self.body, "state": self.state,
            "draft": self.draft, "head": {"ref": self.head_ref, "sha": self.head_sha},
            "base": {"ref": self.base_ref, "sha": self.base_sha}, "user": self.user.login,
            "created_at": iso(self.created_at), "updated_at": iso(self.updated_at),
            "closed_at": iso(self.closed_at) if self.closed_at else None,
        }  # fmt: skip


@dataclass
class Comment:
    id: int
    number: int  # the issue or pull request it is on
    body: str
    user: Person
    created_at: float

    def stored(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "number": self.number,
            "body": self.body,
            "user": self.user.login,
            "created_at": iso(self.created_at),
        }


@dataclass
class Repo:
    """A repository: its bare git repo on disk and everything GitHub keeps next to it."""

    id: int
    owner: str
    name: str
    private: bool
    default_branch: str
    git: BareRepo
    site: Site
    created_at: float
    description: str | None = None
    pulls: dict[int, PullRequest] = field(default_factory=dict)
    comments: list[Comment] = field(default_factory=list)
    next_number: int = 1  # issues and pull requests share one sequence

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def path(self) -> Path:
        return self.git.path

    @property
    def html_url(self) -> str:
        return f"{self.site.url}/{self.full_name}"

    @property
    def clone_url(self) -> str:
        return f"{self.site.url}/{self.full_name}.git"

    @property
    def api_url(self) -> str:
        return f"{self.site.api_url}/repos/{self.full_name}"

    def take_number(self) -> int:
        number, self.next_number = self.next_number, self.next_number + 1
        return number


class Forge:
    """All repositories, keyed case-insensitively like GitHub's names, and the id sequences."""

    def __init__(self, root: Path, site: Site, clock: Clock) -> None:
        self.root = root
        self.site = site
        self.clock = clock
        self.repos: dict[str, Repo] = {}
        self.user_ids: dict[str, int] = {}
        self._ids = itertools.count(1001)

    def next_id(self) -> int:
        return next(self._ids)

    def person(self, login: str, type: str = "User") -> Person:
        key = login.lower()
        if key not in self.user_ids:
            self.user_ids[key] = self.next_id()
        return Person(login, self.user_ids[key], type)

    def owner(self, login: str) -> Person:
        known_user = login.lower() in self.user_ids
        return self.person(login, "User" if known_user else "Organization")

    def repo(self, owner: str, name: str) -> Repo | None:
        return self.repos.get(f"{owner}/{name}".lower())

    def repo_by_id(self, repo_id: int) -> Repo | None:
        return next((r for r in self.repos.values() if r.id == repo_id), None)

    def add_repo(self, owner: str, name: str, private: bool, default_branch: str) -> Repo:
        if not (NAME.fullmatch(owner) and NAME.fullmatch(name)) or name.endswith(".git"):
            raise ValueError(f"not a GitHub repository name: {owner}/{name}")
        if self.repo(owner, name) is not None:
            raise ValueError(f"repository {owner}/{name} already exists")
        git = BareRepo.create(self.root / owner / f"{name}.git", default_branch)
        repo = Repo(self.next_id(), owner, name, private, default_branch, git, self.site, self.clock.now())
        self.repos[repo.full_name.lower()] = repo
        return repo
