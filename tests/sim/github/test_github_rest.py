"""The REST API with aiohttp: who am I, repositories, branches, refs, commits, compare, web pages."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from sim.github import GitHubEmulator
from tests.sim.github.helpers import READER, WRITER, Git, basic

GITHUB_HEADERS = (
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-ratelimit-used",
    "x-ratelimit-resource",
    "x-github-request-id",
)


def auth(token: str = WRITER) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"}


async def test_user_rate_limit_and_repository(gh: GitHubEmulator, http: aiohttp.ClientSession):
    async with http.get(f"{gh.api_url}/user", headers={"Authorization": f"token {WRITER}"}) as response:
        assert response.status == 200
        assert (await response.json())["login"] == "chatops-bot"
        assert all(name in response.headers for name in GITHUB_HEADERS)
        assert response.headers["x-ratelimit-remaining"] == "4999"

    async with http.get(f"{gh.api_url}/repos/acme/api", headers=auth()) as response:
        repo = await response.json()
    assert repo["full_name"] == "acme/api" and repo["private"] is True and repo["default_branch"] == "main"
    assert repo["clone_url"] == f"{gh.url}/acme/api.git" and repo["html_url"] == f"{gh.url}/acme/api"
    assert repo["permissions"] == {
        "admin": False,
        "maintain": False,
        "push": True,
        "triage": True,
        "pull": True,
    }
    async with http.get(f"{gh.api_url}/repos/acme/api", headers=auth(READER)) as response:
        assert (await response.json())["permissions"]["push"] is False

    async with http.get(f"{gh.api_url}/rate_limit", headers=auth()) as response:
        limits = await response.json()
    assert limits["resources"]["core"]["remaining"] == 4998  # per user; /rate_limit itself is free
    assert limits["rate"]["limit"] == 5000


async def test_authentication_errors_look_like_github(gh: GitHubEmulator, http: aiohttp.ClientSession):
    async with http.get(f"{gh.api_url}/user") as response:
        assert response.status == 401
        assert await response.json() == {
            "message": "Requires authentication",
            "documentation_url": "https://docs.github.com/rest",
            "status": "401",
        }
    async with http.get(f"{gh.api_url}/repos/acme/api", headers=auth("ghp_nope")) as response:
        assert (response.status, (await response.json())["message"]) == (401, "Bad credentials")
    gh.add_token("ghp_docsonly", login="docs-bot", repos=["acme/docs"])
    async with http.get(f"{gh.api_url}/repos/acme/api", headers=auth("ghp_docsonly")) as response:
        assert (response.status, (await response.json())["message"]) == (404, "Not Found")
    async with http.get(f"{gh.api_url}/repos/acme/api") as response:  # private, anonymous: absent
        assert response.status == 404
    async with http.get(f"{gh.api_url}/repos/acme/docs") as response:  # public, anonymous: fine
        assert response.status == 200
        assert response.headers["x-ratelimit-limit"] == "60"
    async with http.post(
        f"{gh.api_url}/repos/acme/api/git/refs",
        headers=auth(READER),
        json={"ref": "refs/heads/x", "sha": "0" * 40},
    ) as response:
        assert response.status == 403
        assert (await response.json())["message"] == "Resource not accessible by personal access token"
        assert response.headers["x-accepted-github-permissions"] == "contents=write"
    async with http.get(f"{gh.api_url}/no/such/route", headers=auth()) as response:
        assert (response.status, (await response.json())["message"]) == (404, "Not Found")
        assert "x-github-request-id" in response.headers


async def test_branches_and_refs(gh: GitHubEmulator, http: aiohttp.ClientSession):
    api = f"{gh.api_url}/repos/acme/api"
    main = gh.branch_sha("acme", "api", "main")
    async with http.get(f"{api}/branches/main", headers=auth()) as response:
        assert (await response.json())["commit"]["sha"] == main
    async with http.get(f"{api}/branches/nope", headers=auth()) as response:
        assert (response.status, (await response.json())["message"]) == (404, "Branch not found")
    async with http.get(f"{api}/git/ref/heads/chatops/x", headers=auth()) as response:
        assert response.status == 404

    new_ref = {"ref": "refs/heads/chatops/x", "sha": main}
    async with http.post(f"{api}/git/refs", headers=auth(), json=new_ref) as response:
        assert response.status == 201
        created = await response.json()
    assert created["ref"] == "refs/heads/chatops/x" and created["object"]["sha"] == main
    async with http.post(f"{api}/git/refs", headers=auth(), json=new_ref) as response:
        assert response.status == 422
        assert (await response.json())["message"] == "Reference already exists"
    async with http.get(f"{api}/git/ref/heads/chatops/x", headers=auth()) as response:
        assert (await response.json())["object"]["sha"] == main

    ahead = gh.commit("acme", "api", {"a.txt": "a\n"}, "ahead", branch="other")  # a branch off main
    async with http.patch(f"{api}/git/refs/heads/chatops/x", headers=auth(), json={"sha": ahead}) as response:
        assert (response.status, (await response.json())["object"]["sha"]) == (200, ahead)
    async with http.patch(f"{api}/git/refs/heads/chatops/x", headers=auth(), json={"sha": main}) as response:
        assert (response.status, (await response.json())["message"]) == (422, "Update is not a fast forward")
    async with http.patch(
        f"{api}/git/refs/heads/chatops/x", headers=auth(), json={"sha": main, "force": True}
    ) as response:
        assert response.status == 200
    async with http.delete(f"{api}/git/refs/heads/chatops/x", headers=auth()) as response:
        assert response.status == 204
    async with http.delete(f"{api}/git/refs/heads/chatops/x", headers=auth()) as response:
        assert (response.status, (await response.json())["message"]) == (422, "Reference does not exist")
    assert gh.branch_sha("acme", "api", "chatops/x") is None


async def test_commit_and_compare_after_a_push(
    gh: GitHubEmulator, http: aiohttp.ClientSession, git: Git, tmp_path: Path
):
    work = tmp_path / "api"
    await git.ok("clone", "--quiet", f"{gh.url}/acme/api.git", str(work), auth=basic(WRITER))
    await git.ok("switch", "--quiet", "-c", "chatops/retry", cwd=work)
    sha = await git.commit_files(
        work, {"src/retry.py": "RETRY_LIMIT = 7\n", "NOTES.md": "retry\n"}, "Raise limit"
    )
    await git.ok("push", "--quiet", "origin", "chatops/retry", cwd=work, auth=basic(WRITER))
    api = f"{gh.api_url}/repos/acme/api"

    async with http.get(f"{api}/commits/chatops/retry", headers=auth()) as response:
        commit = await response.json()
    assert commit["sha"] == sha and commit["commit"]["message"] == "Raise limit"
    assert commit["commit"]["author"]["name"] == "Chatops Bot"
    files = {f["filename"]: f for f in commit["files"]}
    assert files["NOTES.md"]["status"] == "added"
    assert files["src/retry.py"] == {
        **files["src/retry.py"],
        "status": "modified",
        "additions": 1,
        "deletions": 1,
        "patch": "@@ -1 +1 @@\n-RETRY_LIMIT = 5\n+RETRY_LIMIT = 7",
    }
    assert commit["stats"] == {"total": 3, "additions": 2, "deletions": 1}

    async with http.get(f"{api}/compare/main...chatops/retry", headers=auth()) as response:
        compared = await response.json()
    assert (compared["status"], compared["ahead_by"], compared["behind_by"]) == ("ahead", 1, 0)
    assert [c["sha"] for c in compared["commits"]] == [sha]
    assert sorted(f["filename"] for f in compared["files"]) == ["NOTES.md", "src/retry.py"]
    gh.commit("acme", "api", {"README.md": "# API\n"}, "Upstream change")
    async with http.get(f"{api}/compare/main...acme:chatops/retry", headers=auth()) as response:
        compared = await response.json()
    assert (compared["status"], compared["ahead_by"], compared["behind_by"]) == ("diverged", 1, 1)
    async with http.get(f"{api}/commits/nope", headers=auth()) as response:
        assert (response.status, (await response.json())["message"]) == (422, "No commit found for SHA: nope")


async def test_web_pages_exist_for_the_links_the_bot_posts(gh: GitHubEmulator, http: aiohttp.ClientSession):
    sha = gh.branch_sha("acme", "api", "main")
    async with http.get(f"{gh.url}/acme/api") as response:
        assert response.status == 200 and "src/retry.py" in await response.text()
    async with http.get(f"{gh.url}/acme/api/blob/{sha}/src/retry.py") as response:
        assert response.status == 200 and "RETRY_LIMIT = 5" in await response.text()
    async with http.get(f"{gh.url}/acme/api/blob/{sha}/missing.py") as response:
        assert response.status == 404
    async with http.get(f"{gh.url}/acme/api/commit/{sha}") as response:
        assert response.status == 200 and "Initial commit" in await response.text()
    async with http.get(f"{gh.url}/acme/api/pull/1") as response:
        assert response.status == 404
    assert [c.kind for c in gh.calls] == ["web"] * 5


async def test_async_with_serves_and_cleans_up(http: aiohttp.ClientSession):
    async with GitHubEmulator() as gh:
        repo = gh.create_repo("acme", "tmp", files={"a.txt": "a\n"}, private=False)
        assert repo.path.is_dir() and repo.default_branch == "main"
        async with http.get(f"{gh.api_url}/repos/acme/tmp") as response:
            assert (await response.json())["clone_url"] == repo.clone_url == f"{gh.url}/acme/tmp.git"
    assert not gh.root.exists()
