"""GitHub App auth: an openssl-signed RS256 JWT buys an installation token for chosen repos and
permissions; the token is limited accordingly and expires an hour later."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from sim.github import GitHubEmulator
from tests.sim.github.helpers import Git, basic, sign_jwt

APP_ID = 12345
INSTALLATION = 777


def app_jwt(key: Path, **claims: int) -> str:
    now = int(time.time())
    return sign_jwt(key, {"iat": now - 60, "exp": now + 600, "iss": APP_ID, **claims})  # GitHub's recipe


@pytest.fixture
def app(gh: GitHubEmulator, keys: dict[str, Path]) -> Path:
    gh.add_app(
        APP_ID,
        keys["pkcs1"].read_text(),
        installations={"acme": INSTALLATION},
        permissions={"contents": "write", "pull_requests": "write", "metadata": "read"},
    )
    gh.create_repo("acme", "secret", files={"x": "x\n"})
    return keys["pkcs1"]


async def mint(gh: GitHubEmulator, http: aiohttp.ClientSession, key: Path, body: dict) -> tuple[int, dict]:
    url = f"{gh.api_url}/app/installations/{INSTALLATION}/access_tokens"
    async with http.post(url, headers={"Authorization": f"Bearer {app_jwt(key)}"}, json=body) as response:
        return response.status, await response.json()


async def test_installation_token_for_one_repo_with_least_permissions(
    gh: GitHubEmulator, http: aiohttp.ClientSession, app: Path, git: Git, tmp_path: Path
):
    jwt = {"Authorization": f"Bearer {app_jwt(app)}"}
    async with http.get(f"{gh.api_url}/repos/acme/api/installation", headers=jwt) as response:
        assert (response.status, (await response.json())["id"]) == (200, INSTALLATION)

    wanted = {"repositories": ["api"], "permissions": {"contents": "write", "pull_requests": "write"}}
    status, minted = await mint(gh, http, app, wanted)
    assert status == 201
    assert minted["token"].startswith("ghs_") and minted["repository_selection"] == "selected"
    assert minted["permissions"] == {"metadata": "read", "contents": "write", "pull_requests": "write"}
    assert [r["full_name"] for r in minted["repositories"]] == ["acme/api"]
    expires = datetime.strptime(minted["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    assert abs(expires - (time.time() + 3600)) <= 2
    assert gh.calls_to("POST", "/app/installations/*/access_tokens")[0].body == wanted

    token = {"Authorization": f"token {minted['token']}"}
    async with http.get(f"{gh.api_url}/repos/acme/api", headers=token) as response:
        assert response.status == 200
    async with http.get(f"{gh.api_url}/repos/acme/secret", headers=token) as response:
        assert response.status == 404
    async with http.get(f"{gh.api_url}/user", headers=token) as response:
        assert (response.status, (await response.json())["message"]) == (
            403,
            "Resource not accessible by integration",
        )
    refused = await git(
        "clone", f"{gh.url}/acme/secret.git", str(tmp_path / "s"), auth=basic(minted["token"])
    )
    assert "remote: Repository not found." in refused.err
    await git.ok(
        "clone", "--quiet", f"{gh.url}/acme/api.git", str(tmp_path / "a"), auth=basic(minted["token"])
    )

    gh.commit("acme", "api", {"x.txt": "x\n"}, "Work", branch="chatops/x")
    async with http.post(
        f"{gh.api_url}/repos/acme/api/pulls",
        headers=token,
        json={"title": "X", "head": "chatops/x", "base": "main"},
    ) as response:
        pr = await response.json()
    assert (pr["user"]["login"], pr["user"]["type"]) == ("chatops[bot]", "Bot")

    gh.advance_clock(3601)
    async with http.get(f"{gh.api_url}/repos/acme/api", headers=token) as response:
        assert (response.status, (await response.json())["message"]) == (401, "Bad credentials")
    status, fresh = await mint(gh, http, app, wanted)  # the JWT is checked against the real clock
    assert status == 201 and fresh["token"] != minted["token"]


async def test_installation_token_cannot_exceed_the_installation(
    gh: GitHubEmulator, http: aiohttp.ClientSession, app: Path
):
    status, error = await mint(gh, http, app, {"permissions": {"workflows": "write"}})
    assert (status, error["message"]) == (
        422,
        "The permissions requested are not granted to this installation.",
    )
    status, error = await mint(gh, http, app, {"repositories": ["nope"]})
    assert status == 422 and error["message"].startswith(
        "There is at least one repository that does not exist"
    )
    status, everything = await mint(gh, http, app, {})
    assert status == 201 and everything["repository_selection"] == "all" and "repositories" not in everything
    assert everything["permissions"]["contents"] == "write"


async def test_bad_jwts_are_refused_like_github(
    gh: GitHubEmulator, http: aiohttp.ClientSession, app: Path, keys: dict[str, Path]
):
    url = f"{gh.api_url}/app/installations/{INSTALLATION}/access_tokens"
    now = int(time.time())
    cases = [
        (app_jwt(keys["other"]), "A JSON web token could not be decoded"),
        (
            app_jwt(app, exp=now - 5),
            "'Expiration time' claim ('exp') must be a numeric value representing the "
            "future time at which the assertion expires",
        ),
        (app_jwt(app, exp=now + 3600), "'Expiration time' claim ('exp') is too far in the future"),
        ("ghp_not_a_jwt", "Bad credentials"),
    ]
    for jwt, message in cases:
        async with http.post(url, headers={"Authorization": f"Bearer {jwt}"}, json={}) as response:
            assert (response.status, (await response.json())["message"]) == (401, message)
    gh.add_token("ghp_pat", login="someone")
    async with http.post(url, headers={"Authorization": "Bearer ghp_pat"}, json={}) as response:
        assert (response.status, (await response.json())["message"]) == (
            401,
            "A JSON web token could not be decoded",
        )


async def test_a_pkcs8_key_works_too(gh: GitHubEmulator, http: aiohttp.ClientSession, keys: dict[str, Path]):
    gh.add_app(99, keys["pkcs8"].read_text(), installations={"acme": 5}, slug="other-app")
    jwt = sign_jwt(keys["pkcs8"], {"iat": int(time.time()), "exp": int(time.time()) + 60, "iss": "99"})
    async with http.get(f"{gh.api_url}/app", headers={"Authorization": f"Bearer {jwt}"}) as response:
        assert (await response.json())["slug"] == "other-app"


async def test_workflow_pushes_with_installation_tokens(
    gh: GitHubEmulator, http: aiohttp.ClientSession, keys: dict[str, Path], git: Git, tmp_path: Path
):
    gh.add_app(
        APP_ID,
        keys["pkcs1"].read_text(),
        installations={"acme": INSTALLATION},
        permissions={"contents": "write", "workflows": "write"},
    )
    _, plain = await mint(gh, http, keys["pkcs1"], {"permissions": {"contents": "write"}})
    _, trusted = await mint(
        gh, http, keys["pkcs1"], {"permissions": {"contents": "write", "workflows": "write"}}
    )
    work = tmp_path / "api"
    await git.ok("clone", "--quiet", f"{gh.url}/acme/api.git", str(work), auth=basic(plain["token"]))
    await git.commit_files(work, {".github/workflows/ci.yml": "on: push\n"}, "Add CI")

    refused = await git("push", "origin", "HEAD:refs/heads/ci", cwd=work, auth=basic(plain["token"]))
    assert refused.code != 0
    assert (
        "! [remote rejected] HEAD -> ci (refusing to allow a GitHub App to create or update workflow "
        "`.github/workflows/ci.yml` without `workflows` permission)"
    ) in refused.err
    await git.ok("push", "--quiet", "origin", "HEAD:refs/heads/ci", cwd=work, auth=basic(trusted["token"]))
    assert ".github/workflows/ci.yml" in gh.branch_files("acme", "api", "ci")
