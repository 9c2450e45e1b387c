"""Running shell commands in a bubblewrap sandbox. There is no unsandboxed fallback.

Inside: the run's worktree at /workspace (read-write, except its `.git`), the repo's git
mirror at /git (read-only), the system's programs and libraries (read-only), a private /tmp,
a fresh /proc and /dev. Not inside: the network (a new, empty network namespace), the bot's
environment (cleared), home directories, CHATOPS_HOME, other processes. Limits: wall time (the
whole process group is killed), CPU seconds, processes, file size, and output (head and tail
kept, with the count of lines left out).

Run as a normal user, bwrap makes an unprivileged user namespace. Run as root, bwrap sets the
mounts up and the command then runs as an unprivileged uid (setpriv, no capabilities, no new
privileges), so the process limit applies and root-only files stay closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
from collections import deque
from dataclasses import dataclass
from pathlib import Path

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt")
SYSTEM_FILES = ("/etc/alternatives", "/etc/ssl", "/etc/ca-certificates", "/etc/ld.so.cache", "/etc/ld.so.conf",
                "/etc/ld.so.conf.d", "/etc/localtime", "/etc/nsswitch.conf", "/etc/passwd", "/etc/group",
                "/etc/mime.types", "/etc/python3", "/etc/os-release")
SAFE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "TERM": "dumb",
            "TMPDIR": "/tmp", "PAGER": "cat", "GIT_OPTIONAL_LOCKS": "0", "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "safe.directory", "GIT_CONFIG_VALUE_0": "*"}
HEAD_LINES, TAIL_LINES = 150, 100
MAX_OUTPUT_BYTES = 8 * 1024 * 1024  # beyond this the command is stopped
MAX_FILE_BYTES = 512 * 1024 * 1024
TMP_BYTES = 1024 * 1024 * 1024


class SandboxUnavailableError(Exception):
    """bubblewrap is missing or cannot create a sandbox here; commands are refused."""


@dataclass
class CommandResult:
    exit_code: int | None
    output: str  # head and tail of stdout+stderr, with a note of what was left out
    timed_out: bool = False
    output_limited: bool = False
    omitted_lines: int = 0

    def summary(self) -> str:
        if self.timed_out:
            status = "killed: wall-time limit reached"
        elif self.output_limited:
            status = f"killed: output over {MAX_OUTPUT_BYTES // (1024 * 1024)} MB"
        else:
            status = f"exit code {self.exit_code}"
        return f"[{status}]\n{self.output}"


class Sandbox:
    def __init__(self, *, timeout: float = 120.0, max_processes: int = 256, unprivileged_uid: int = 65534,
                 bwrap: str | None = None) -> None:
        self.timeout = timeout
        self.max_processes = max_processes
        self.uid = unprivileged_uid if os.geteuid() == 0 else None
        self.bwrap = bwrap or shutil.which("bwrap")
        self._usable: bool | None = None

    async def check(self) -> None:
        """Raise SandboxUnavailableError unless a sandbox really works here (probed once)."""
        if self._usable is None:
            self._usable = False
            if self.bwrap and shutil.which("prlimit") and (self.uid is None or shutil.which("setpriv")):
                with tempfile.TemporaryDirectory() as empty:
                    result = await self._exec(self._args(Path(empty), None, "true", None, 20), time_limit=20)
                self._usable = result.exit_code == 0
        if not self._usable:
            missing = "bubblewrap is not installed" if not self.bwrap else \
                "bubblewrap cannot create a sandbox on this host (user namespaces may be disabled)"
            raise SandboxUnavailableError(missing)

    async def run(self, command: str, worktree: Path, mirror: Path | None = None,
                  time_limit: float | None = None) -> CommandResult:
        await self.check()
        if self.uid is not None:
            await asyncio.to_thread(_give_to, worktree, self.uid)
        name = _worktree_gitdir(worktree) if mirror is not None else None
        if name is None:
            return await self._exec(self._args(worktree, None, command, None, time_limit),
                                    time_limit=time_limit or self.timeout)
        # The mirror goes in at /git with a .git file pointing there, fed to bwrap through a pipe:
        # host paths stay out of the sandbox, and git works inside it.
        read_end, write_end = os.pipe()
        os.write(write_end, f"gitdir: /git/worktrees/{name}\n".encode())
        os.close(write_end)
        try:
            return await self._exec(self._args(worktree, mirror, command, read_end, time_limit),
                                    time_limit=time_limit or self.timeout, pass_fds=(read_end,))
        finally:
            os.close(read_end)

    def _args(self, worktree: Path, mirror: Path | None, command: str, gitfile_fd: int | None,
              time_limit: float | None) -> list[str]:
        cpu = int(time_limit or self.timeout) + 5
        args = ["prlimit", f"--nproc={self.max_processes}", f"--cpu={cpu}:{cpu + 5}", f"--fsize={MAX_FILE_BYTES}",
                "--core=0", "--", self.bwrap or "bwrap", "--die-with-parent", "--new-session", "--clearenv",
                "--hostname", "sandbox"]
        if self.uid is None:
            args += ["--unshare-all"]
        else:  # privileged bwrap: no user namespace, so the uid switch below is a real one
            args += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                     "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        for directory in SYSTEM_DIRS:
            if os.path.islink(directory):
                args += ["--symlink", os.readlink(directory), directory]
            elif os.path.isdir(directory):
                args += ["--ro-bind", directory, directory]
        args += ["--perms", "0755", "--dir", "/etc"]
        for path in SYSTEM_FILES:
            if os.path.exists(path):
                args += ["--ro-bind", path, path]
        args += ["--proc", "/proc", "--dev", "/dev", "--size", str(TMP_BYTES), "--tmpfs", "/tmp", "--tmpfs", "/run"]
        args += ["--bind", str(worktree), "/workspace"]
        if mirror is not None and gitfile_fd is not None:
            args += ["--ro-bind", str(mirror), "/git", "--perms", "0644", "--ro-bind-data", str(gitfile_fd),
                     "/workspace/.git"]
        elif (worktree / ".git").exists():
            args += ["--ro-bind", str(worktree / ".git"), "/workspace/.git"]
        for key, value in SAFE_ENV.items():
            args += ["--setenv", key, value]
        args += ["--chdir", "/workspace", "--"]
        if self.uid is not None:
            args += ["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups", "--inh-caps=-all",
                     "--bounding-set=-all", "--no-new-privs", "--"]
        return [*args, "/bin/bash", "-c", command]

    async def _exec(self, args: list[str], time_limit: float, pass_fds: tuple[int, ...] = ()) -> CommandResult:
        process = await asyncio.create_subprocess_exec(
            *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, start_new_session=True, env={"PATH": "/usr/bin:/bin"},
            pass_fds=pass_fds,
        )
        collector = _Output()
        timed_out = False
        try:
            async with asyncio.timeout(time_limit):
                assert process.stdout is not None, "started with stdout=PIPE"
                while chunk := await process.stdout.read(65536):
                    if not collector.add(chunk):
                        break
        except TimeoutError:
            timed_out = True
        finally:
            _kill_group(process.pid)
            exit_code = await _reap(process)
        return CommandResult(exit_code=None if timed_out or collector.limited else exit_code,
                             output=collector.text(), timed_out=timed_out, output_limited=collector.limited,
                             omitted_lines=collector.omitted)


class _Output:
    """Keeps the first and last lines of a command's output and counts what falls between."""

    def __init__(self) -> None:
        self.head: list[str] = []
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        self.omitted = 0
        self.total_bytes = 0
        self.limited = False
        self._partial = b""

    def add(self, chunk: bytes) -> bool:
        self.total_bytes += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            self._line(line)
        if self.total_bytes > MAX_OUTPUT_BYTES:
            self.limited = True
            return False
        return True

    def _line(self, raw: bytes) -> None:
        line = raw.decode("utf-8", errors="replace")[:2000]
        if len(self.head) < HEAD_LINES:
            self.head.append(line)
            return
        if len(self.tail) == self.tail.maxlen:
            self.omitted += 1
        self.tail.append(line)

    def text(self) -> str:
        if self._partial:
            self._line(self._partial[:4000])
            self._partial = b""
        parts = list(self.head)
        if self.omitted:
            parts.append(f"[... {self.omitted} lines omitted ...]")
        parts.extend(self.tail)
        return "\n".join(parts)


def _worktree_gitdir(worktree: Path) -> str | None:
    """The worktree's name inside its mirror (from its .git file: gitdir: <mirror>/worktrees/<name>)."""
    try:
        text = (worktree / ".git").read_text()
    except OSError:
        return None
    if not text.startswith("gitdir:") or "/worktrees/" not in text:
        return None
    return text.strip().rsplit("/worktrees/", 1)[1]


async def _reap(process: asyncio.subprocess.Process) -> int | None:
    """Read the pipe to its end, then wait. In this order: a paused, unread pipe never reports EOF, and
    asyncio's wait() returns only once every pipe is closed."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(5):
            assert process.stdout is not None, "started with stdout=PIPE"
            while await process.stdout.read(65536):
                pass
    try:
        async with asyncio.timeout(5):
            return await process.wait()
    except TimeoutError:
        return None


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _give_to(worktree: Path, uid: int) -> None:
    """Let the unprivileged sandbox user write the worktree (done once per worktree)."""
    if worktree.stat().st_uid == uid:
        return
    for root, dirs, files in os.walk(worktree):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, uid)
    os.lchown(worktree, uid, uid)
