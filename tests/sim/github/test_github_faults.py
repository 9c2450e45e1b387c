"""Rate limits, scripted faults, dropped connections, and the observation helpers."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
import pytest

from sim.github import GitHubEmulator
from tests.sim.github.helpers import WRITER, Git, basic

HEADERS = {"Authorization": f"Bearer {WRITER}"}


async def test_exhausted_primary_rate_limit_answers_403_until_reset(
    gh: GitHubEmulator, http: aiohttp.ClientSession
):
    repo_url = f"{gh.api_url}/repos/acme/api"
    async with http.get(repo_url, headers=HEADERS) as response:
        assert response.headers["x-ratelimit-remaining"] == "4999"
    gh.rate_limit(remaining=0, reset_in=30)
    async with http.get(repo_url, headers=HEADERS) as response:
        assert response.status == 403
        body = await response.json()
        assert body["message"].startswith("API rate limit exceeded for user ID ")
        assert response.headers["x-ratelimit-remaining"] == "0"
        assert response.headers["x-ratelimit-used"] == "5000"
        assert abs(int(response.headers["x-ratelimit-reset"]) - (time.time() + 30)) <= 2
    async with http.get(f"{gh.api_url}/rate_limit", headers=HEADERS) as response:
        assert response.status == 200 and (await response.json())["rate"]["remaining"] == 0
    gh.add_token("ghp_later", login="later")  # budgets made before the reset start empty too
    async with http.get(repo_url, headers={"Authorization": "Bearer ghp_later"}) as response:
        assert response.status == 403

    gh.advance_clock(31)
    async with http.get(repo_url, headers=HEADERS) as response:
        assert response.status == 200 and response.headers["x-ratelimit-remaining"] == "4999"


async def test_a_budget_of_a_few_requests_for_one_token(gh: GitHubEmulator, http: aiohttp.ClientSession):
    await http.get(f"{gh.api_url}/user", headers=HEADERS)
    gh.rate_limit(remaining=2, reset_in=60, token=WRITER)
    statuses = []
    for _ in range(3):
        async with http.get(f"{gh.api_url}/user", headers=HEADERS) as response:
            statuses.append(response.status)
    assert statuses == [200, 200, 403]


async def test_secondary_limits_and_429_carry_retry_after(gh: GitHubEmulator, http: aiohttp.ClientSession):
    pulls = f"{gh.api_url}/repos/acme/api/pulls"
    gh.fail(
        "POST",
        "/repos/acme/api/pulls",
        status=403,
        retry_after=2,
        message="You have exceeded a secondary rate limit and have been temporarily blocked from content creation.",
    )
    async with http.post(pulls, headers=HEADERS, json={}) as response:
        assert (response.status, response.headers["retry-after"]) == (403, "2")
        assert (await response.json())["message"].startswith("You have exceeded a secondary rate limit")
    gh.fail("GET", "/api/v3/repos/acme/*", status=429, times=2)
    for _ in range(2):
        async with http.get(f"{gh.api_url}/repos/acme/docs", headers=HEADERS) as response:
            assert (response.status, response.headers["retry-after"]) == (429, "1")
    async with http.get(f"{gh.api_url}/repos/acme/docs", headers=HEADERS) as response:
        assert response.status == 200
    assert [c.status for c in gh.calls_to("GET", "/repos/acme/docs")] == [429, 429, 200]


async def test_faults_can_match_on_the_body(gh: GitHubEmulator, http: aiohttp.ClientSession):
    main = gh.branch_sha("acme", "api", "main")
    gh.fail("POST", "/repos/acme/api/git/refs", status=500, when=lambda body: body["ref"].endswith("/flaky"))
    refs = f"{gh.api_url}/repos/acme/api/git/refs"
    async with http.post(refs, headers=HEADERS, json={"ref": "refs/heads/fine", "sha": main}) as response:
        assert response.status == 201
    async with http.post(refs, headers=HEADERS, json={"ref": "refs/heads/flaky", "sha": main}) as response:
        assert (response.status, (await response.json())["message"]) == (500, "Server Error")
    assert gh.branch_sha("acme", "api", "flaky") is None


async def test_drop_after_accept_creates_the_pull_request_but_never_answers(
    gh: GitHubEmulator, http: aiohttp.ClientSession
):
    gh.commit("acme", "api", {"x.txt": "x\n"}, "Work", branch="chatops/x")
    gh.fail("POST", "/repos/acme/api/pulls", drop_after_accept=True)
    request = {"title": "X", "head": "chatops/x", "base": "main"}
    with pytest.raises(aiohttp.ClientConnectionError):
        async with http.post(f"{gh.api_url}/repos/acme/api/pulls", headers=HEADERS, json=request) as response:
            await response.read()
    assert [p["head"]["ref"] for p in gh.pulls("acme", "api")] == ["chatops/x"]
    assert gh.calls_to("POST", "/repos/acme/api/pulls")[0].dropped
    async with http.get(
        f"{gh.api_url}/repos/acme/api/pulls?head=acme:chatops/x", headers=HEADERS
    ) as response:
        assert [p["number"] for p in await response.json()] == [1]  # the retry-safe way to find it


async def test_git_requests_can_fail_too(gh: GitHubEmulator, git: Git, tmp_path: Path):
    gh.fail("GET", "/acme/api.git/info/refs", status=503)
    failed = await git("clone", f"{gh.url}/acme/api.git", str(tmp_path / "a"), auth=basic(WRITER))
    assert failed.code != 0 and "503" in failed.err
    await git.ok("clone", "--quiet", f"{gh.url}/acme/api.git", str(tmp_path / "b"), auth=basic(WRITER))


async def test_wait_for_listeners_and_the_timeout_report(gh: GitHubEmulator, http: aiohttp.ClientSession):
    seen: list[str] = []
    gh.listeners.append(lambda kind, data: seen.append(kind))
    gh.commit("acme", "api", {"x.txt": "x\n"}, "Work", branch="chatops/x")
    async with http.post(
        f"{gh.api_url}/repos/acme/api/pulls",
        headers=HEADERS,
        json={"title": "X", "head": "chatops/x", "base": "main"},
    ):
        pass
    assert (await gh.wait_for(lambda: gh.pulls("acme", "api"), timeout=5))[0]["number"] == 1
    assert seen == ["pull_request", "call"]
    with pytest.raises(AssertionError, match="rest POST /repos/acme/api/pulls -> 201 as chatops-bot"):
        await gh.wait_for(lambda: False, timeout=0.05)
