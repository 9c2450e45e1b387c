"""Editing skills: exact unique edits, new files only where nothing was, and proposing what changed."""

from __future__ import annotations

import pytest

from bot.changes.proposal import Proposer
from bot.config import ChangePolicy
from bot.errors import SkillError
from bot.repos.sandbox import Sandbox
from bot.store.sqlite import Store
from skills.edit import edit_file, propose_change, write_file


async def test_edit_file_replaces_one_exact_unique_match(run_ctx):
    out = await edit_file(run_ctx, "acme/api", "src/webhooks/retry.py", "MAX_RETRIES = 5", "MAX_RETRIES = 6")
    assert out == "Edited `src/webhooks/retry.py` at line 4: replaced 15 characters with 15."
    worktree = await run_ctx.repos.worktree("acme/api")
    assert "MAX_RETRIES = 6" in (worktree.path / "src/webhooks/retry.py").read_text()


@pytest.mark.parametrize(("old", "message"), [
    ("MAX_RETRIES = 50", "not found"),
    ("MAX_RETRIES", "found 2 times; include more surrounding text"),
    ("", "`old` is empty"),
])
async def test_edit_file_says_why_an_edit_did_not_apply(run_ctx, old, message):
    with pytest.raises(SkillError, match=message):
        await edit_file(run_ctx, "acme/api", "src/webhooks/retry.py", old, "x")


async def test_write_file_creates_new_files_but_not_over_tracked_ones(run_ctx):
    assert await write_file(run_ctx, "acme/api", "docs/retries.md", "# Retries\n\nFive times.\n") == \
        "Wrote `docs/retries.md` (23 bytes, 3 lines)."
    await write_file(run_ctx, "acme/api", "docs/retries.md", "# Retries\n")  # one this run created: fine
    with pytest.raises(SkillError, match="already exists in the repo; change it with edit_file"):
        await write_file(run_ctx, "acme/api", "README.md", "overwritten")
    with pytest.raises(SkillError, match=r"`\.\.`"):
        await write_file(run_ctx, "acme/api", "../outside.md", "x")


async def test_propose_change_records_the_diff_and_ends_the_run(run_ctx):
    store = Store.memory()
    run_ctx.proposer = Proposer(store, Sandbox(timeout=30), ChangePolicy(), run_ctx.repos, "r-test", "C1", "1.0",
                                "U1", "raise the retry limit")
    with pytest.raises(SkillError, match="no changes to propose"):
        await propose_change(run_ctx, "acme/api", "Nothing", "Nothing yet.")
    await edit_file(run_ctx, "acme/api", "src/webhooks/retry.py", "MAX_RETRIES = 5", "MAX_RETRIES = 6")
    out = await propose_change(run_ctx, "acme/api", "Raise the webhook retry limit", "From 5 to 6.")
    assert out.startswith("Proposed (within policy: 1 file, +1 −1; checks: passed: python3 -m pytest -q)") \
        or out.startswith("Proposed (within policy: 1 file, +1 −1; checks: FAILED: python3 -m pytest -q)")
    assert run_ctx.end_requested
    proposal = store.latest_proposal("C1", "1.0")
    assert proposal.base_sha == run_ctx.repos.pinned["acme/api"].sha
    assert "-MAX_RETRIES = 5\n+MAX_RETRIES = 6" in proposal.patch
    assert proposal.files == [{"path": "src/webhooks/retry.py", "status": "M", "added": 1, "deleted": 1}]
    with pytest.raises(SkillError, match="already proposed"):
        await propose_change(run_ctx, "acme/api", "Again", "Again.")
