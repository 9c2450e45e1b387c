"""The sandbox holds: the negative tests a command runner must pass (after openai/codex's ideas)."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

from bot.errors import SkillError
from bot.repos.sandbox import Sandbox, SandboxUnavailableError
from skills.command import run_command


@pytest.fixture
async def worktree(run_ctx):
    return await run_ctx.repos.worktree("acme/api")


async def run(worktree, command: str, **kwargs):
    sandbox = Sandbox(timeout=kwargs.pop("timeout", 10), max_processes=kwargs.pop("max_processes", 256))
    return await sandbox.run(command, worktree.path, worktree.mirror)


async def test_the_worktree_is_writable_and_git_works_read_only(worktree):
    result = await run(worktree, "echo new > notes.txt && cat notes.txt && git status --short && git log --oneline -1")
    assert result.exit_code == 0, result.output
    assert "new" in result.output and "?? notes.txt" in result.output and "Slow down webhook backoff" in result.output
    assert (worktree.path / "notes.txt").read_text() == "new\n"


@pytest.mark.parametrize("command", [
    "echo x > /etc/evil", "echo x > /usr/evil", "mkdir -p /home/evil", "echo x > /git/evil",
    "echo x > .git", "echo x > /git/config", "git commit --allow-empty -m sneaky",
])
async def test_writes_outside_the_worktree_and_into_git_fail(worktree, command):
    result = await run(worktree, command)
    assert result.exit_code != 0, result.output
    assert not (worktree.mirror / "evil").exists()
    assert (worktree.path / ".git").read_text().startswith("gitdir:")


async def test_the_host_filesystem_is_not_there(worktree, repo_settings):
    result = await run(worktree, f"ls {repo_settings.home} /root /home 2>&1; cat /etc/shadow 2>&1; echo done")
    assert "No such file or directory" in result.output and "done" in result.output
    assert "chatops.db" not in result.output


async def test_no_network_not_even_the_hosts_loopback(worktree):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    try:
        result = await run(worktree, f"(exec 3<>/dev/tcp/127.0.0.1/{port}) && echo CONNECTED; "
                                     "curl -sS --max-time 3 http://example.com >/dev/null && echo FETCHED; "
                                     "getent hosts example.com && echo RESOLVED; echo finished")
    finally:
        listener.close()
    assert "finished" in result.output
    assert "CONNECTED" not in result.output and "FETCHED" not in result.output and "RESOLVED" not in result.output


async def test_no_secrets_in_the_environment_or_proc(worktree, monkeypatch):
    canary = "xoxb-canary-0123456789-sandbox"
    monkeypatch.setenv("SLACK_BOT_TOKEN", canary)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_" + "c" * 36)
    result = await run(worktree, "env; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'; echo done")
    assert "done" in result.output
    assert canary not in result.output and "ghp_ccc" not in result.output and "GITHUB_TOKEN" not in result.output


async def test_sleep_is_killed_at_the_limit_with_its_whole_process_group(worktree):
    marker = f"chatops-sandbox-marker-{os.getpid()}"
    result = await run(worktree, f"bash -c 'exec -a {marker} sleep 999' & sleep 999", timeout=1.5)
    assert result.timed_out and result.exit_code is None
    assert "wall-time limit" in result.summary()
    leftovers = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout
    assert leftovers == ""


async def test_endless_output_is_cut_and_capped_with_the_count_of_lines_left_out(worktree):
    result = await run(worktree, "yes")
    assert result.output_limited and result.exit_code is None
    assert "lines omitted" in result.output and result.omitted_lines > 100_000
    assert len(result.output) < 5_000


async def test_head_and_tail_are_kept(worktree):
    result = await run(worktree, "seq 1 5000")
    lines = result.output.splitlines()
    assert lines[0] == "1" and lines[-1] == "5000" and f"[... {result.omitted_lines} lines omitted ...]" in lines
    assert result.omitted_lines == 5000 - 150 - 100


async def test_a_fork_bomb_hits_the_process_limit(worktree):
    result = await run(worktree, "for i in $(seq 1 60); do sleep 2 & done; echo spawned-all", max_processes=32,
                       timeout=15)
    assert "fork: retry: Resource temporarily unavailable" in result.output
    assert "spawned-all" not in result.output and result.exit_code != 0


async def test_without_bubblewrap_commands_fail_closed(run_ctx, tmp_path):
    marker = tmp_path / "ran"
    run_ctx.sandbox = Sandbox(bwrap=str(tmp_path / "no-bwrap-here"))
    with pytest.raises(SkillError, match=r"unavailable.*never run outside the sandbox"):
        await run_command(run_ctx, "acme/api", f"touch {marker}")
    assert not marker.exists()
    with pytest.raises(SandboxUnavailableError):
        await run_ctx.sandbox.check()


async def test_run_command_skill_reports_the_exit_code(run_ctx):
    out = await run_command(run_ctx, "acme/api", "python3 -c 'print(6*7)'; exit 3")
    assert out.startswith("$ python3") and "[exit code 3]" in out and "42" in out
