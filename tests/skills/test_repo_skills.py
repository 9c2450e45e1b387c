"""The repo skills on a real repo: what they show, their receipts, their caps, and what they refuse."""

from __future__ import annotations

import os

import pytest

from bot.errors import SkillError
from skills.repo_files import list_files, read_file, search_code
from skills.repo_history import git_blame, git_log, git_show


async def test_list_files_shows_a_tree_with_counts(run_ctx):
    out = await list_files(run_ctx, "acme/api", ".", depth=1)
    sha = run_ctx.repos.pinned["acme/api"].sha
    assert out.splitlines()[0] == f"acme/api @ {sha[:12]} (main): ./ (6 files, depth 1)"
    assert "src/  (3 files)" in out and "README.md" in out and "tests/  (1 files)" in out
    deeper = await list_files(run_ctx, "api", "src", depth=3)
    assert "src/webhooks/retry.py" in deeper


async def test_read_file_numbers_lines_gives_the_receipt_and_pages(run_ctx):
    out = await read_file(run_ctx, "acme/api", "src/webhooks/retry.py", 4, 5)
    sha = run_ctx.repos.pinned["acme/api"].sha
    assert f"lines 4-5 of 9 — cite as `src/webhooks/retry.py:4-5 @ {sha[:7]}`" in out
    assert "4 | MAX_RETRIES = 5" in out and "5 | BACKOFF_SECONDS = 60" in out
    assert "[lines 6-9 not shown; call read_file with start_line=6]" in out


async def test_subdirectory_agents_md_is_given_once_with_the_first_read_there(run_ctx):
    first = await read_file(run_ctx, "acme/api", "src/webhooks/retry.py")
    assert first.startswith("Instructions from src/webhooks/AGENTS.md") and "never lower MAX_RETRIES" in first
    again = await read_file(run_ctx, "acme/api", "src/webhooks/retry.py")
    assert "Instructions from" not in again


async def test_search_code_uses_ripgrep_and_caps_with_an_exact_note(run_ctx):
    out = await search_code(run_ctx, "acme/api", r"MAX_RETRIES")
    assert "3 matches in 2 files" in out.splitlines()[-4] or "matches in" in out
    assert "src/webhooks/retry.py:4:MAX_RETRIES = 5" in out
    worktree = await run_ctx.repos.worktree("acme/api")
    (worktree.path / "many.txt").write_text("needle\n" * 120)
    capped = await search_code(run_ctx, "acme/api", "needle", "*.txt")
    assert "120 matches in 1 files" in capped
    assert capped.endswith("[120 matches; showing 50; narrow the pattern or path_glob]")
    assert (await search_code(run_ctx, "acme/api", "nothing-like-this")).endswith("no matches for /nothing-like-this/")
    with pytest.raises(SkillError, match="ripgrep refused"):
        await search_code(run_ctx, "acme/api", "(unclosed")


async def test_search_respects_gitignore(run_ctx):
    worktree = await run_ctx.repos.worktree("acme/api")
    (worktree.path / ".gitignore").write_text("build/\n")
    (worktree.path / "build").mkdir()
    (worktree.path / "build" / "out.py").write_text("MAX_RETRIES = 999\n")
    assert "build/out.py" not in await search_code(run_ctx, "acme/api", "MAX_RETRIES")


@pytest.mark.parametrize("path", ["../../etc/passwd", "/../outside", "src/../../x", ".git/config", ".git"])
async def test_paths_that_leave_the_worktree_are_refused(run_ctx, path):
    with pytest.raises(SkillError):
        await read_file(run_ctx, "acme/api", path)


async def test_a_symlink_pointing_outside_the_worktree_is_refused(run_ctx, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret\n")
    worktree = await run_ctx.repos.worktree("acme/api")
    os.symlink(secret, worktree.path / "innocent.txt")
    os.symlink(tmp_path, worktree.path / "outside")
    with pytest.raises(SkillError, match="outside the repository"):
        await read_file(run_ctx, "acme/api", "innocent.txt")
    with pytest.raises(SkillError, match="outside the repository"):
        await list_files(run_ctx, "acme/api", "outside")
    assert (await search_code(run_ctx, "acme/api", "top secret")).endswith("no matches for /top secret/")


async def test_unknown_repo_and_missing_file_are_errors_for_the_model(run_ctx):
    with pytest.raises(SkillError, match="no linked repo named 'acme/web'; linked here: `acme/api`"):
        await read_file(run_ctx, "acme/web", "README.md")
    with pytest.raises(SkillError, match="not a file"):
        await read_file(run_ctx, "acme/api", "src/nope.py")


async def test_git_log_show_and_blame(run_ctx):
    log = await git_log(run_ctx, "acme/api", path="src/webhooks/retry.py")
    assert "Lee: Slow down webhook backoff" in log and "Dana: Initial import" in log
    assert "2026-11-10" in log
    assert "Slow down" not in await git_log(run_ctx, "acme/api", until="2026-11-05")
    assert "(no commits match)" in await git_log(run_ctx, "acme/api", grep="nothing like it")
    sha = log.splitlines()[1].split()[0]
    shown = await git_show(run_ctx, "acme/api", sha)
    assert "-BACKOFF_SECONDS = 30" in shown and "+BACKOFF_SECONDS = 60" in shown
    blame = await git_blame(run_ctx, "acme/api", "src/webhooks/retry.py", 4, 5)
    assert "(Dana 2026-11-01)     4 | MAX_RETRIES = 5" in blame
    assert "(Lee 2026-11-10)     5 | BACKOFF_SECONDS = 60" in blame


@pytest.mark.parametrize(("call", "message"), [
    (lambda ctx: git_show(ctx, "acme/api", "--output=/tmp/x"), "not a revision"),
    (lambda ctx: git_log(ctx, "acme/api", since="--all"), "not a revision"),
    (lambda ctx: git_show(ctx, "acme/api", "deadbeef"), "git show failed"),
    (lambda ctx: git_blame(ctx, "acme/api", "../x", 1, 2), "without `..`"),
])
async def test_history_skills_refuse_option_injection_and_report_git_errors(run_ctx, call, message):
    with pytest.raises(SkillError, match=message):
        await call(run_ctx)
