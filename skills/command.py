"""Running a shell command in the run's worktree, inside the sandbox (never outside it)."""

from __future__ import annotations

from bot.errors import SkillError
from bot.repos.sandbox import SandboxUnavailableError
from skills.base import RunContext


async def run_command(ctx: RunContext, repo: str, command: str) -> str:
    """Run a shell command (bash) in a linked repo's checkout, sandboxed: no network, no secrets, a time
    limit, output capped. Use it to run tests, linters or scripts, or to inspect the tree.

    Args:
        repo: the linked repo's name.
        command: the command line, run with bash -c in the repo root.
    """
    if ctx.sandbox is None:
        raise SkillError("commands are not available here")
    try:
        await ctx.sandbox.check()
    except SandboxUnavailableError as exc:
        raise SkillError(f"run_command is unavailable: {exc}. Commands never run outside the sandbox; "
                         "answer with the file and history tools instead.") from None
    worktree = await ctx.need_repos().worktree(repo)
    result = await ctx.sandbox.run(command, worktree.path, worktree.mirror)
    return f"$ {command}\n{result.summary()}"
