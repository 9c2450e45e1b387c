"""Mirrors and worktrees: concurrent runs never see each other, fetches are shared and fresh, crashes leave
nothing behind, and credentials never touch the disk."""

from __future__ import annotations

import asyncio
import subprocess

import pytest

from bot.errors import UserError
from bot.repos.git_auth import GitAuth
from bot.repos.links import parse_repo
from bot.repos.workspace import Workspaces
from sim.github import GitHubEmulator

from .conftest import API_FILES, git


async def test_ten_concurrent_runs_each_get_a_clean_tree_and_all_are_cleaned_up(api_repo, repo_settings, workspaces):
    link = parse_repo(str(api_repo), repo_settings)
    trees = await asyncio.gather(*(workspaces.checkout(link, f"r{i}") for i in range(10)))
    assert len({t.path for t in trees}) == 10 and len({t.sha for t in trees}) == 1
    for i, tree in enumerate(trees):
        (tree.path / f"mine-{i}.txt").write_text(str(i))
        (tree.path / "src/webhooks/retry.py").write_text(f"changed by {i}\n")
    for i, tree in enumerate(trees):
        status = git(tree.path, "status", "--porcelain")
        assert status.split("\n")[0].strip() == "M src/webhooks/retry.py"
        assert f"?? mine-{i}.txt" in status and status.count("mine-") == 1
        assert (tree.path / "src/webhooks/retry.py").read_text() == f"changed by {i}\n"
    await asyncio.gather(*(workspaces.release(t) for t in trees))
    assert not any(t.path.exists() for t in trees)
    await workspaces.close()  # drops the spare prepared for the next run
    mirror = workspaces.mirror_path(link)
    assert git(mirror, "worktree", "list").count("\n") == 1  # only the mirror itself


async def test_one_fetch_at_a_time_and_fetches_only_when_stale(api_repo, repo_settings, workspaces):
    link = parse_repo(str(api_repo), repo_settings)
    await workspaces.mirror(link)
    workspaces.freshness = 0
    first_sha = (await workspaces.resolve(link))[2]
    git(api_repo, "commit", "--allow-empty", "-qm", "newer")
    shas = {r[2] for r in await asyncio.gather(*(workspaces.resolve(link) for _ in range(5)))}
    assert shas == {git(api_repo, "rev-parse", "HEAD").strip()} != {first_sha}
    workspaces.freshness = 3600
    git(api_repo, "commit", "--allow-empty", "-qm", "newest")
    assert (await workspaces.resolve(link))[2] in shas  # fresh enough: not fetched again


async def test_concurrent_first_use_clones_once(api_repo, repo_settings, workspaces):
    link = parse_repo(str(api_repo), repo_settings)
    calls = []
    original = workspaces.auth.env_for

    async def counting(url):
        calls.append(url)
        return await original(url)

    workspaces.auth.env_for = counting
    await asyncio.gather(*(workspaces.mirror(link) for _ in range(8)))
    assert len(calls) == 1


async def test_the_next_run_takes_a_prepared_spare_at_the_new_tip(api_repo, repo_settings, workspaces):
    link = parse_repo(str(api_repo), repo_settings)
    first = await workspaces.checkout(link, "r1")
    await asyncio.gather(*workspaces._spare_tasks.values())
    spare = next(iter(workspaces._spares.values()))
    git(api_repo, "commit", "--allow-empty", "-qm", "moved on")
    workspaces.freshness = 0
    second = await workspaces.checkout(link, "r2")
    assert not spare.path.exists() and second.path.exists()
    assert second.sha == git(api_repo, "rev-parse", "HEAD").strip() != first.sha
    assert git(second.path, "rev-parse", "HEAD").strip() == second.sha
    assert git(second.path, "status", "--porcelain") == ""
    await workspaces.release(first)
    await workspaces.release(second)


async def test_a_crashed_runs_worktree_is_removed_on_start(api_repo, repo_settings, workspaces):
    link = parse_repo(str(api_repo), repo_settings)
    tree = await workspaces.checkout(link, "r-crashed")
    assert tree.path.exists()
    Workspaces(repo_settings, GitAuth(repo_settings)).clean_up_after_crash()  # what a restart does
    assert not tree.path.exists()
    assert "r-crashed" not in git(workspaces.mirror_path(link), "worktree", "list")


async def test_branch_choice_and_clear_errors(api_repo, repo_settings, workspaces, tmp_path):
    git(api_repo, "checkout", "-qb", "release")
    git(api_repo, "commit", "--allow-empty", "-qm", "release only")
    git(api_repo, "checkout", "-q", "main")
    link = parse_repo(str(api_repo), repo_settings)
    tree = await workspaces.checkout(link, "r1", "release")
    assert tree.branch == "release" and "release only" in git(tree.path, "log", "-1", "--format=%s")
    with pytest.raises(UserError, match="has no branch `nope`"):
        await workspaces.resolve(link, "nope")
    assert await workspaces.check_access(link) == "main"
    with pytest.raises(UserError, match="can't find"):
        await workspaces.check_access(parse_repo(str(tmp_path / "missing"), repo_settings))


async def test_github_token_is_used_but_never_written_to_disk(tmp_path):
    async with GitHubEmulator() as gh:
        token = "ghp_" + "t0ken" * 8
        gh.add_token(token, login="chatops-bot")
        gh.create_repo("acme", "api", files=API_FILES, private=True)
        from bot.settings import Settings

        settings = Settings(home=tmp_path / "home", github_api_url=gh.api_url, github_token=token)
        spaces = Workspaces(settings, GitAuth(settings))
        link = parse_repo("acme/api", settings)
        assert link.url == f"{gh.url}/acme/api.git" and link.web_url == f"{gh.url}/acme/api"
        assert await spaces.check_access(link) == "main"
        tree = await spaces.checkout(link, "r1")
        assert (tree.path / "src/webhooks/retry.py").exists()
        found = subprocess.run(["grep", "-rl", "t0ken", str(tmp_path), str(spaces.root)], capture_output=True,
                               text=True).stdout
        assert found == ""
        await spaces.release(tree)
        await spaces.close()  # and the spare it prepared, which lives outside tmp_path (on /dev/shm)
        anonymous = Settings(home=tmp_path / "other", github_api_url=gh.api_url)
        with pytest.raises(UserError, match="wants credentials"):
            await Workspaces(anonymous, GitAuth(anonymous)).check_access(parse_repo("acme/api", anonymous))
        with pytest.raises(UserError, match="credentials in a repo URL"):
            parse_repo(f"https://x:{token}@github.com/acme/api.git", settings)


def test_a_very_long_owner_name_is_still_read_as_github(repo_settings):
    name = "acme/" + "x" * 300  # too long for a path: os.path.exists says False, Path.exists raised OSError
    assert parse_repo(name, repo_settings).web_url == f"{repo_settings.github_web_url}/{name}"
