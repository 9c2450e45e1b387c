"""What a run changed in its worktree, as git sees it: the patch, and per file the old and new text.

The patch is taken against the commit the run was pinned to, with binary hunks, so it can be
stored, shown, re-applied on a fresh worktree and pushed exactly as it was reviewed.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import git


@dataclass
class FileChange:
    path: str
    status: str  # A added, M modified, D deleted, R renamed (path is the new name)
    added: int = 0
    deleted: int = 0
    binary: bool = False
    old_text: str | None = None  # None: absent or binary
    new_text: str | None = None


@dataclass
class Diff:
    base: str
    patch: str
    files: list[FileChange] = field(default_factory=list)

    @property
    def added(self) -> int:
        return sum(f.added for f in self.files)

    @property
    def deleted(self) -> int:
        return sum(f.deleted for f in self.files)

    @property
    def empty(self) -> bool:
        return not self.files

    def stat(self) -> str:
        return f"{len(self.files)} file{'s' if len(self.files) != 1 else ''}, +{self.added} −{self.deleted}"


async def collect(worktree: Path, base: str) -> Diff:
    """Everything in the worktree (tracked or new, .gitignore respected) against `base`."""
    return await asyncio.to_thread(_collect, worktree, base)


def worktree_repo(worktree: Path) -> git.Repo:
    """The worktree as a git repo the bot may operate on even after sandboxed commands, which run as
    another uid, left files it does not own (git would refuse it as "dubious ownership")."""
    repo = git.Repo(worktree)
    repo.git.update_environment(GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="safe.directory", GIT_CONFIG_VALUE_0="*")
    return repo


def _collect(worktree: Path, base: str) -> Diff:
    repo = worktree_repo(worktree)
    repo.git.add("-A")
    patch = repo.git.diff("--cached", "--binary", "--no-color", "--no-ext-diff", base, strip_newline_in_stdout=False)
    numstat = repo.git.diff("--cached", "--numstat", "-z", "-M", base)
    statuses = repo.git.diff("--cached", "--name-status", "-z", "-M", base)
    diff = Diff(base=base, patch=patch)
    kinds = _name_status(statuses)
    for path, (added, deleted, binary) in _numstat(numstat).items():
        status = kinds.get(path, ("M", path))
        change = FileChange(path=path, status=status[0], added=added, deleted=deleted, binary=binary)
        if not binary:
            old_path = status[1]
            if change.status != "A":
                change.old_text = _show(repo, f"{base}:{old_path}")
            if change.status != "D":
                change.new_text = (worktree / path).read_text(encoding="utf-8", errors="replace")
        diff.files.append(change)
    return diff


def apply_patch(worktree: Path, patch: str) -> None:
    """Re-apply a stored patch to a fresh worktree at the same base (index and files)."""
    if not patch.strip():
        return
    with tempfile.NamedTemporaryFile("w", suffix=".patch", encoding="utf-8") as file:
        file.write(patch if patch.endswith("\n") else patch + "\n")
        file.flush()
        worktree_repo(worktree).git.apply("--index", "--binary", "--whitespace=nowarn", file.name)


def _show(repo: git.Repo, spec: str) -> str | None:
    try:
        return repo.git.show(spec, strip_newline_in_stdout=False)
    except git.GitCommandError:
        return None


def _numstat(output: str) -> dict[str, tuple[int, int, bool]]:
    """Parse `--numstat -z`: renames come as 'a\\td\\t\\0old\\0new\\0'."""
    result: dict[str, tuple[int, int, bool]] = {}
    parts = output.split("\0")
    i = 0
    while i < len(parts) and parts[i]:
        added, deleted, path = parts[i].split("\t", 2)
        if path == "":  # a rename: the next two parts are the old and new names
            path = parts[i + 2]
            i += 2
        binary = added == "-"
        result[path] = (0 if binary else int(added), 0 if binary else int(deleted), binary)
        i += 1
    return result


def _name_status(output: str) -> dict[str, tuple[str, str]]:
    """new path -> (status letter, old path), from `--name-status -z`."""
    result: dict[str, tuple[str, str]] = {}
    parts = output.split("\0")
    i = 0
    while i < len(parts) and parts[i]:
        status = parts[i][0]
        if status in ("R", "C"):
            result[parts[i + 2]] = (status, parts[i + 1])
            i += 3
        else:
            result[parts[i + 1]] = (status, parts[i + 1])
            i += 2
    return result
