"""Pull requests and their comments over REST, on branches pushed with real git."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from sim.github import GitHubEmulator
from tests.sim.github.helpers import WRITER, Git, basic

HEADERS = {"Authorization": f"Bearer {WRITER}", "Accept": "application/vnd.github+json"}


@pytest.fixture
async def pushed(gh: GitHubEmulator, git: Git, tmp_path: Path) -> Path:
    """A clone with branch chatops/retry (one commit ahead of main) pushed."""
    work = tmp_path / "api"
    await git.ok("clone", "--quiet", f"{gh.url}/acme/api.git", str(work), auth=basic(WRITER))
    await git.ok("switch", "--quiet", "-c", "chatops/retry", cwd=work)
    await git.commit_files(work, {"src/retry.py": "RETRY_LIMIT = 7\n"}, "Raise the retry limit")
    await git.ok("push", "--quiet", "origin", "chatops/retry", cwd=work, auth=basic(WRITER))
    return work


async def post(http: aiohttp.ClientSession, url: str, body: dict) -> tuple[int, dict]:
    async with http.post(url, headers=HEADERS, json=body) as response:
        return response.status, await response.json()


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, object]:
    async with http.get(url, headers=HEADERS) as response:
        return response.status, await response.json()


async def test_create_a_pull_request_and_refuse_a_duplicate(
    gh: GitHubEmulator, http: aiohttp.ClientSession, pushed: Path
):
    pulls = f"{gh.api_url}/repos/acme/api/pulls"
    request = {
        "title": "Raise the retry limit",
        "head": "chatops/retry",
        "base": "main",
        "body": "From Slack.",
    }
    status, pr = await post(http, pulls, {**request, "draft": True})
    assert status == 201
    assert (pr["number"], pr["state"], pr["draft"], pr["html_url"]) == (
        1,
        "open",
        True,
        f"{gh.url}/acme/api/pull/1",
    )
    assert pr["head"]["ref"] == "chatops/retry" and pr["head"]["label"] == "acme:chatops/retry"
    assert pr["head"]["sha"] == gh.branch_sha("acme", "api", "chatops/retry")
    assert (pr["base"]["ref"], pr["base"]["sha"]) == ("main", gh.branch_sha("acme", "api", "main"))
    assert pr["user"]["login"] == "chatops-bot" and pr["mergeable"] is None
    assert gh.pulls("acme", "api")[0]["title"] == "Raise the retry limit"

    status, error = await post(http, pulls, {**request, "head": "acme:chatops/retry"})
    assert status == 422
    assert error["message"] == "Validation Failed" and error["status"] == "422"
    assert error["errors"] == [
        {
            "resource": "PullRequest",
            "code": "custom",
            "message": "A pull request already exists for acme:chatops/retry.",
        }
    ]
    assert len(gh.pulls("acme", "api")) == 1


async def test_pull_requests_need_new_commits_and_existing_branches(
    gh: GitHubEmulator, http: aiohttp.ClientSession
):
    pulls = f"{gh.api_url}/repos/acme/api/pulls"
    main = gh.branch_sha("acme", "api", "main")
    await post(
        http, f"{gh.api_url}/repos/acme/api/git/refs", {"ref": "refs/heads/chatops/empty", "sha": main}
    )
    status, error = await post(http, pulls, {"title": "t", "head": "chatops/empty", "base": "main"})
    assert (status, error["errors"][0]["message"]) == (422, "No commits between main and chatops/empty")
    status, error = await post(http, pulls, {"title": "t", "head": "chatops/missing", "base": "main"})
    assert (status, error["errors"]) == (
        422,
        [{"resource": "PullRequest", "field": "head", "code": "invalid"}],
    )
    status, error = await post(http, pulls, {"title": "t", "head": "chatops/empty", "base": "nope"})
    assert (status, error["errors"][0]["field"]) == (422, "base")
    assert gh.pulls("acme", "api") == []


async def test_list_get_update_and_files_follow_the_branch(
    gh: GitHubEmulator, http: aiohttp.ClientSession, pushed: Path, git: Git
):
    api = f"{gh.api_url}/repos/acme/api"
    _, created = await post(http, f"{api}/pulls", {"title": "Raise", "head": "chatops/retry", "base": "main"})
    gh.commit("acme", "api", {"other.txt": "x\n"}, "Unrelated", branch="feature")
    await post(http, f"{api}/pulls", {"title": "Feature", "head": "feature", "base": "main"})

    _, found = await get(http, f"{api}/pulls?head=acme:chatops/retry&state=open")
    assert [p["number"] for p in found] == [1]
    _, found = await get(http, f"{api}/pulls?head=acme:nothing")
    assert found == []
    _, found = await get(http, f"{api}/pulls?head=chatops/retry")  # no owner: GitHub ignores the filter
    assert [p["number"] for p in found] == [2, 1]

    sha = await git.commit_files(
        pushed, {"src/retry.py": "RETRY_LIMIT = 8\n", "CHANGES.md": "- retry\n"}, "More"
    )
    await git.ok("push", "--quiet", "origin", "chatops/retry", cwd=pushed, auth=basic(WRITER))
    _, pr = await get(http, f"{api}/pulls/1")
    assert pr["head"]["sha"] == sha != created["head"]["sha"]
    assert (pr["mergeable"], pr["mergeable_state"], pr["commits"], pr["changed_files"]) == (
        True,
        "clean",
        2,
        2,
    )
    _, files = await get(http, f"{api}/pulls/1/files")
    assert {f["filename"]: f["status"] for f in files} == {"CHANGES.md": "added", "src/retry.py": "modified"}

    gh.commit("acme", "api", {"src/retry.py": "RETRY_LIMIT = 3\n"}, "Lower it on main")
    _, pr = await get(http, f"{api}/pulls/1")
    assert (pr["mergeable"], pr["mergeable_state"]) == (False, "dirty")

    async with http.patch(
        f"{api}/pulls/1", headers=HEADERS, json={"title": "Raise to 8", "state": "closed"}
    ) as r:
        updated = await r.json()
    assert (updated["title"], updated["state"]) == ("Raise to 8", "closed") and updated["closed_at"]
    _, found = await get(http, f"{api}/pulls")
    assert [p["number"] for p in found] == [2]
    async with http.patch(f"{api}/pulls/1", headers=HEADERS, json={"state": "open", "body": "Reopened"}) as r:
        assert (await r.json())["state"] == "open"

    async with http.delete(f"{api}/git/refs/heads/feature", headers=HEADERS) as r:
        assert r.status == 204
    _, pr = await get(http, f"{api}/pulls/2")
    assert pr["state"] == "closed"  # deleting the head branch closes the pull request
    async with http.get(f"{gh.url}/acme/api/pull/1") as page:
        assert page.status == 200 and "Raise to 8" in await page.text()


async def test_conversation_comments(gh: GitHubEmulator, http: aiohttp.ClientSession, pushed: Path):
    api = f"{gh.api_url}/repos/acme/api"
    await post(http, f"{api}/pulls", {"title": "Raise", "head": "chatops/retry", "base": "main"})
    status, comment = await post(http, f"{api}/issues/1/comments", {"body": "Requested in #eng by Dana."})
    assert status == 201
    assert comment["body"] == "Requested in #eng by Dana." and comment["user"]["login"] == "chatops-bot"
    assert comment["html_url"] == f"{gh.url}/acme/api/pull/1#issuecomment-{comment['id']}"
    _, listed = await get(http, f"{api}/issues/1/comments")
    assert [c["id"] for c in listed] == [comment["id"]]
    assert gh.comments("acme", "api", 1)[0]["body"] == "Requested in #eng by Dana."
    status, _ = await post(http, f"{api}/issues/99/comments", {"body": "x"})
    assert status == 404
    status, error = await post(http, f"{api}/issues/1/comments", {})
    assert (status, error["errors"][0]["field"]) == (422, "body")
