"""Bare repositories on disk, read and written with git plumbing.

Writes made by the emulator itself (create_repo, commit) and the helpers tests call directly
are synchronous; everything a request handler needs is async (asyncio subprocesses), so a slow
git never blocks the server. Every git we start ignores the user's and the system's config.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
ZERO_SHA = "0" * 40
GIT = shutil.which("git") or "git"
LOG_FORMAT = "%H%x1f%T%x1f%P%x1f%an%x1f%ae%x1f%at%x1f%cn%x1f%ce%x1f%ct%x1f%B%x1e"
STATUS_NAMES = {"A": "added", "D": "removed", "M": "modified", "R": "renamed", "C": "copied", "T": "changed"}


class GitError(Exception):
    """A git command that should have worked did not."""


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for every git the emulator runs: no user or system config, no prompts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    tree: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    authored_at: int
    committer_name: str
    committer_email: str
    committed_at: int
    message: str


@dataclass(frozen=True)
class FileChange:
    """One file of a diff, with what GitHub shows for it."""

    filename: str
    status: str  # added, removed, modified, renamed, copied, changed
    additions: int
    deletions: int
    blob_sha: str
    previous_filename: str | None = None
    patch: str | None = None  # None for binary files


def parse_log(output: bytes) -> list[CommitInfo]:
    commits = []
    for record in output.decode("utf-8", "replace").split("\x1e"):
        record = record.lstrip("\n")
        if not record:
            continue
        sha, tree, parents, an, ae, at, cn, ce, ct, message = record.split("\x1f", 9)
        commits.append(
            CommitInfo(
                sha, tree, tuple(parents.split()), an, ae, int(at), cn, ce, int(ct), message.rstrip("\n")
            )
        )
    return commits


def parse_changes(raw: bytes, numstat: bytes, patch: bytes) -> list[FileChange]:
    """Combine `diff --raw -z`, `diff --numstat -z` and `diff -p` of the same two trees."""
    entries: list[tuple[str, str, str | None]] = []  # status letter, blob sha, old path; path below
    paths: list[str] = []
    tokens = raw.decode("utf-8", "replace").split("\0")
    i = 0
    while i < len(tokens) and tokens[i].startswith(":"):
        _, _, old_sha, new_sha, status = tokens[i][1:].split(" ")
        letter = status[0]
        if letter in "RC":
            entries.append((letter, new_sha, tokens[i + 1]))
            paths.append(tokens[i + 2])
            i += 3
        else:
            entries.append((letter, old_sha if letter == "D" else new_sha, None))
            paths.append(tokens[i + 1])
            i += 2
    counts: list[tuple[int, int]] = []
    tokens = numstat.decode("utf-8", "replace").split("\0")
    i = 0
    while i < len(tokens) and tokens[i]:
        added, deleted, path = tokens[i].split("\t", 2)
        counts.append((int(added) if added != "-" else 0, int(deleted) if deleted != "-" else 0))
        i += 3 if path == "" else 1
    patches = split_patch(patch.decode("utf-8", "replace"))
    if len(counts) != len(entries):
        counts = [(0, 0)] * len(entries)
    if len(patches) != len(entries):
        patches = [None] * len(entries)
    return [
        FileChange(path, STATUS_NAMES.get(letter, "modified"), added, deleted, blob, old, text)
        for (letter, blob, old), path, (added, deleted), text in zip(
            entries, paths, counts, patches, strict=True
        )
    ]


def split_patch(text: str) -> list[str | None]:
    """Per file, the hunks of a unified diff as GitHub's `patch` field shows them (None: binary)."""
    sections: list[list[str]] = []
    for line in text.split("\n"):
        if line.startswith("diff --git "):
            sections.append([])
        elif sections:
            sections[-1].append(line)
    patches: list[str | None] = []
    for lines in sections:
        start = next((n for n, line in enumerate(lines) if line.startswith("@@")), None)
        patches.append(None if start is None else "\n".join(lines[start:]).rstrip("\n"))
    return patches


class BareRepo:
    """One bare repository under the emulator's root."""

    def __init__(self, path: Path) -> None:
        self.path = path

    # ----- synchronous: setup and test-side helpers

    @classmethod
    def create(cls, path: Path, default_branch: str) -> BareRepo:
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [GIT, "init", "--quiet", "--bare", f"--initial-branch={default_branch}", str(path)],
            check=True,
            env=git_env(),
            capture_output=True,
        )
        repo = cls(path)
        for key, value in (
            ("uploadpack.allowFilter", "true"),
            ("uploadpack.allowReachableSHA1InWant", "true"),
            ("receive.advertisePushOptions", "true"),
            ("core.logAllRefUpdates", "false"),
        ):
            repo.run("config", key, value)
        return repo

    def run(self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
        done = subprocess.run(
            [GIT, *args],
            input=input,
            capture_output=True,
            cwd=self.path,
            env=git_env({"GIT_DIR": str(self.path), **(env or {})}),
        )
        if done.returncode != 0:
            raise GitError(f"git {' '.join(args)}: {done.stderr.decode(errors='replace').strip()}")
        return done.stdout

    def tip(self, branch: str) -> str | None:
        try:
            return (
                self.run("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}")
                .decode()
                .strip()
            )
        except GitError:
            return None

    def commit(
        self,
        branch: str,
        files: dict[str, str | bytes | None],
        message: str,
        author: tuple[str, str],
        when: int,
        start: str | None = None,
    ) -> str:
        """A commit on `branch` that writes `files` (None content deletes a file). A missing branch
        is created from branch `start` (or as a root commit when that is None or missing too)."""
        old = self.tip(branch)
        parent = old or (self.tip(start) if start else None)
        with tempfile.TemporaryDirectory(prefix="sim-github-index-") as scratch:
            index = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            self.run("read-tree", parent or "--empty", env=index)
            lines = []
            for path, content in files.items():
                if content is None:
                    lines.append(f"0 {ZERO_SHA}\t{path}\n")
                    continue
                data = content.encode() if isinstance(content, str) else content
                sha = self.run("hash-object", "-w", "--stdin", input=data).decode().strip()
                lines.append(f"100644 {sha}\t{path}\n")
            self.run("update-index", "--index-info", input="".join(lines).encode(), env=index)
            tree = self.run("write-tree", env=index).decode().strip()
        name, email = author
        stamp = f"{when} +0000"
        people = {
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_AUTHOR_DATE": stamp,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
            "GIT_COMMITTER_DATE": stamp,
        }
        parents = ["-p", parent] if parent else []
        sha = self.run("commit-tree", tree, *parents, input=message.encode(), env=people).decode().strip()
        self.run("update-ref", f"refs/heads/{branch}", sha, old or ZERO_SHA)
        return sha

    def files_at(self, rev: str) -> dict[str, str | bytes]:
        """Every file at `rev`: text as str, anything not UTF-8 as bytes."""
        listing = self.run("ls-tree", "-r", "-z", "--full-tree", rev).split(b"\0")
        blobs = []
        for entry in listing:
            if not entry:
                continue
            meta, path = entry.split(b"\t", 1)
            _, kind, sha = meta.split(b" ")
            if kind == b"blob":
                blobs.append((path.decode("utf-8", "replace"), sha))
        output = self.run("cat-file", "--batch", input=b"".join(sha + b"\n" for _, sha in blobs))
        files: dict[str, str | bytes] = {}
        pos = 0
        for path, _ in blobs:
            header_end = output.index(b"\n", pos)
            size = int(output[pos:header_end].split(b" ")[2])
            data = output[header_end + 1 : header_end + 1 + size]
            pos = header_end + 2 + size
            try:
                files[path] = data.decode("utf-8")
            except UnicodeDecodeError:
                files[path] = data
        return files

    # ----- asynchronous: what request handlers read and change

    async def arun(
        self, *args: str, input: bytes | None = None, ok: tuple[int, ...] = (0,)
    ) -> tuple[int, bytes]:
        process = await asyncio.create_subprocess_exec(
            GIT, *args, cwd=self.path, env=git_env({"GIT_DIR": str(self.path)}),
            stdin=asyncio.subprocess.PIPE if input is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            out, err = await process.communicate(input)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        if process.returncode not in ok:
            raise GitError(f"git {' '.join(args)}: {err.decode(errors='replace').strip()}")
        return process.returncode, out

    async def resolve(self, rev: str) -> str | None:
        """The commit `rev` names (a sha, a branch, refs/...), or None."""
        if not rev or rev.startswith("-"):
            return None
        code, out = await self.arun(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", ok=(0, 1, 128)
        )
        return out.decode().strip() if code == 0 else None

    async def branch_tip(self, branch: str) -> str | None:
        return await self.resolve(f"refs/heads/{branch}")

    async def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        code, _ = await self.arun("merge-base", "--is-ancestor", ancestor, descendant, ok=(0, 1))
        return code == 0

    async def merge_base(self, a: str, b: str) -> str | None:
        code, out = await self.arun("merge-base", a, b, ok=(0, 1))
        return out.decode().strip() if code == 0 else None

    async def log(self, *revs: str, reverse: bool = False) -> list[CommitInfo]:
        order = ["--reverse"] if reverse else []
        _, out = await self.arun("log", f"--format={LOG_FORMAT}", *order, *revs, "--")
        return parse_log(out)

    async def count(self, exclude: str, include: str) -> int:
        """How many commits `include` has that `exclude` does not."""
        _, out = await self.arun("rev-list", "--count", include, f"^{exclude}", "--")
        return int(out.decode().strip() or 0)

    async def commit_info(self, sha: str) -> CommitInfo | None:
        found = await self.log("-1", sha)
        return found[0] if found else None

    async def changes(self, base: str, head: str) -> list[FileChange]:
        """What changed from commit (or tree) `base` to `head`, renames detected."""
        common = ("--no-ext-diff", "--no-textconv", "--no-color", "-M", base, head, "--")
        _, raw = await self.arun("diff", "--raw", "-z", "--no-abbrev", *common)
        _, numstat = await self.arun("diff", "--numstat", "-z", *common)
        _, patch = await self.arun("diff", "--patch", *common)
        return parse_changes(raw, numstat, patch)

    async def merges_cleanly(self, base: str, head: str) -> bool:
        code, _ = await self.arun("merge-tree", "--write-tree", "--name-only", base, head, ok=(0, 1))
        return code == 0

    async def blob(self, rev: str, path: str) -> bytes | None:
        code, out = await self.arun("cat-file", "blob", f"{rev}:{path}", ok=(0, 128))
        return out if code == 0 else None

    async def paths(self, rev: str) -> list[str]:
        _, out = await self.arun("ls-tree", "-r", "-z", "--name-only", "--full-tree", rev)
        return [p.decode("utf-8", "replace") for p in out.split(b"\0") if p]

    async def set_ref(self, ref: str, new: str, old: str | None) -> bool:
        """Point `ref` at `new` if it still points at `old` (None: must not exist); False if it moved."""
        code, _ = await self.arun("update-ref", ref, new, old or ZERO_SHA, ok=(0, 1, 128))
        return code == 0

    async def delete_ref(self, ref: str, old: str) -> bool:
        code, _ = await self.arun("update-ref", "-d", ref, old, ok=(0, 1, 128))
        return code == 0

    async def valid_ref_name(self, ref: str) -> bool:
        code, _ = await self.arun("check-ref-format", ref, ok=(0, 1))
        return code == 0
