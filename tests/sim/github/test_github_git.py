"""git clone / fetch / push against the emulator with the real git CLI, and GitHub's refusals."""

from __future__ import annotations

import gzip
from pathlib import Path

import aiohttp

from sim.github import GitHubEmulator
from tests.sim.github.helpers import READER, WRITER, Git, basic

WORKFLOW = "name: ci\non: push\njobs: {}\n"


async def clone(git: Git, gh: GitHubEmulator, tmp_path: Path, token: str = WRITER, name: str = "api") -> Path:
    work = tmp_path / f"work-{name}"
    await git.ok("clone", "--quiet", f"{gh.url}/acme/{name}.git", str(work), auth=basic(token))
    return work


async def test_clone_commit_and_push_with_a_token_header(gh: GitHubEmulator, git: Git, tmp_path: Path):
    work = await clone(git, gh, tmp_path)
    assert (work / "src/retry.py").read_text() == "RETRY_LIMIT = 5\n"
    await git.ok("switch", "--quiet", "-c", "chatops/retry", cwd=work)
    sha = await git.commit_files(work, {"src/retry.py": "RETRY_LIMIT = 7\n"}, "Raise the retry limit")

    await git.ok("push", "--quiet", "origin", "chatops/retry", cwd=work, auth=basic(WRITER))

    assert gh.branch_files("acme", "api", "chatops/retry")["src/retry.py"] == "RETRY_LIMIT = 7\n"
    assert gh.branch_sha("acme", "api", "chatops/retry") == sha
    assert gh.branch_files("acme", "api", "main")["src/retry.py"] == "RETRY_LIMIT = 5\n"
    services = [(c.method, c.service, c.status, c.login) for c in gh.calls if c.kind == "git"]
    assert ("POST", "git-upload-pack", 200, "chatops-bot") in services
    assert ("GET", "git-receive-pack", 200, "chatops-bot") in services
    push = next(c for c in gh.calls if c.method == "POST" and c.service == "git-receive-pack")
    assert push.status == 200 and push.token == WRITER
    assert push.body == {
        "updates": [{"old": "0" * 40, "new": sha, "ref": "refs/heads/chatops/retry"}],
        "rejected": None,
    }


async def test_bearer_and_token_schemes_and_fetch_after_a_server_side_commit(
    gh: GitHubEmulator, git: Git, tmp_path: Path
):
    work = tmp_path / "bearer"
    await git.ok("clone", "--quiet", f"{gh.url}/acme/api.git", str(work), auth=f"Bearer {WRITER}")
    sha = gh.commit(
        "acme",
        "api",
        {"src/retry.py": "RETRY_LIMIT = 9\n"},
        "Teammate change",
        author=("Dana", "dana@example.com"),
    )
    await git.ok("fetch", "--quiet", "origin", cwd=work, auth=f"token {WRITER}")
    assert (await git.ok("rev-parse", "origin/main", cwd=work)).strip() == sha
    log = await git.ok("log", "-1", "--format=%an <%ae> %s", "origin/main", cwd=work)
    assert log.strip() == "Dana <dana@example.com> Teammate change"


async def test_private_repo_without_a_token_fails_without_prompting(
    gh: GitHubEmulator, git: Git, tmp_path: Path
):
    result = await git("clone", f"{gh.url}/acme/api.git", str(tmp_path / "anon"))
    assert result.code != 0
    assert "terminal prompts disabled" in result.err
    refused = [c for c in gh.calls if c.kind == "git"]
    assert [(c.status, c.login) for c in refused] == [(401, None)]


async def test_public_repo_clones_anonymously_but_needs_a_token_to_push(
    gh: GitHubEmulator, git: Git, tmp_path: Path
):
    work = tmp_path / "docs"
    await git.ok("clone", "--quiet", f"{gh.url}/acme/docs.git", str(work))
    assert (work / "index.md").read_text() == "# docs\n"
    await git.commit_files(work, {"index.md": "# Docs\n"}, "Capitalise")
    anonymous = await git("push", "origin", "HEAD:refs/heads/x", cwd=work)
    assert anonymous.code != 0 and "terminal prompts disabled" in anonymous.err
    await git.ok("push", "--quiet", "origin", "HEAD:refs/heads/x", cwd=work, auth=basic(WRITER))
    assert gh.branch_files("acme", "docs", "x") == {"index.md": "# Docs\n"}


async def test_a_token_for_other_repositories_gets_repository_not_found(
    gh: GitHubEmulator, git: Git, tmp_path: Path
):
    gh.add_token("ghp_docsonly", login="docs-bot", repos=["acme/docs"])
    result = await git("clone", f"{gh.url}/acme/api.git", str(tmp_path / "x"), auth=basic("ghp_docsonly"))
    assert result.code != 0
    assert "remote: Repository not found." in result.err
    bad = await git("clone", f"{gh.url}/acme/api.git", str(tmp_path / "y"), auth=basic("ghp_unknown"))
    assert bad.code != 0 and "terminal prompts disabled" in bad.err  # a 401 makes git ask; it cannot
    in_url = gh.url.replace("://", "://x-access-token:ghp_unknown@")
    bad = await git("clone", f"{in_url}/acme/api.git", str(tmp_path / "z"))
    assert bad.code != 0
    assert (
        "remote: Invalid username or token. Password authentication is not supported for Git operations."
        in bad.err
    )
    assert "Authentication failed" in bad.err


async def test_push_without_contents_write_is_refused(gh: GitHubEmulator, git: Git, tmp_path: Path):
    work = await clone(git, gh, tmp_path, token=READER)
    await git.ok("switch", "--quiet", "-c", "chatops/x", cwd=work)
    await git.commit_files(work, {"README.md": "# API\n"}, "Title case")
    result = await git("push", "origin", "chatops/x", cwd=work, auth=basic(READER))
    assert result.code != 0
    assert "remote: Permission to acme/api.git denied to reader." in result.err
    assert "403" in result.err
    assert gh.branch_sha("acme", "api", "chatops/x") is None


async def test_workflow_change_is_refused_for_a_personal_token_and_the_whole_push_with_it(
    gh: GitHubEmulator, git: Git, tmp_path: Path
):
    work = await clone(git, gh, tmp_path)
    await git.ok("switch", "--quiet", "-c", "harmless", cwd=work)
    await git.commit_files(work, {"README.md": "# API\n"}, "Title case")
    await git.ok("switch", "--quiet", "-c", "chatops/ci", cwd=work)
    await git.commit_files(work, {".github/workflows/ci.yml": WORKFLOW}, "Add CI")

    result = await git(
        "push", "--porcelain", "origin", "harmless", "chatops/ci", cwd=work, auth=basic(WRITER)
    )

    assert result.code != 0
    reason = (
        "refusing to allow a Personal Access Token to create or update workflow "
        "`.github/workflows/ci.yml` without `workflow` scope"
    )
    lines = result.out.splitlines()
    assert f"!\trefs/heads/chatops/ci:refs/heads/chatops/ci\t[remote rejected] ({reason})" in lines
    assert f"!\trefs/heads/harmless:refs/heads/harmless\t[remote rejected] ({reason})" in lines
    assert gh.branch_sha("acme", "api", "harmless") is None  # atomic: nothing of the push landed
    assert gh.branch_sha("acme", "api", "chatops/ci") is None
    push = [c for c in gh.calls if c.method == "POST" and c.service == "git-receive-pack"][-1]
    assert push.body["rejected"] == reason
    assert {u["ref"] for u in push.body["updates"]} == {"refs/heads/harmless", "refs/heads/chatops/ci"}


async def test_workflow_change_is_accepted_with_workflows_write(gh: GitHubEmulator, git: Git, tmp_path: Path):
    token = gh.add_token("ghp_ci", login="ci-admin", permissions={"contents": "write", "workflows": "write"})
    work = await clone(git, gh, tmp_path, token=token)
    await git.commit_files(work, {".github/workflows/ci.yml": WORKFLOW}, "Add CI")
    await git.ok("push", "--quiet", "origin", "HEAD:refs/heads/ci", cwd=work, auth=basic(token))
    assert gh.branch_files("acme", "api", "ci")[".github/workflows/ci.yml"] == WORKFLOW
    # Later pushes that leave workflows alone need no workflows permission, even on top of that commit.
    await git.commit_files(work, {"README.md": "# API\n"}, "Title case")
    await git.ok("push", "--quiet", "origin", "HEAD:refs/heads/ci", cwd=work, auth=basic(WRITER))


async def test_protocol_v2_and_gzip_bodies_reach_http_backend(
    gh: GitHubEmulator, http: aiohttp.ClientSession
):
    auth = {"Authorization": f"Bearer {WRITER}"}
    refs_url = f"{gh.url}/acme/api.git/info/refs?service=git-upload-pack"
    async with http.get(refs_url, headers={**auth, "Git-Protocol": "version=2"}) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/x-git-upload-pack-advertisement"
        assert b"version 2" in await response.read()

    sha = gh.branch_sha("acme", "api", "main")
    want = f"want {sha}\n".encode()
    body = f"{len(want) + 4:04x}".encode() + want + b"0000" + b"0009done\n"
    async with http.post(f"{gh.url}/acme/api.git/git-upload-pack", data=gzip.compress(body), headers={
        **auth, "Content-Type": "application/x-git-upload-pack-request", "Content-Encoding": "gzip",
    }) as response:  # fmt: skip
        assert response.status == 200
        answer = await response.read()
    assert answer.startswith(b"0008NAK\n") and b"PACK" in answer
