"""Fixtures for repo work: real git repos in temp dirs, and the bot's workspaces over them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.repos.git_auth import GitAuth
from bot.repos.links import parse_repo
from bot.repos.run_repos import RunRepos
from bot.repos.sandbox import Sandbox
from bot.repos.workspace import Workspaces
from bot.settings import Settings
from skills.base import RunContext

API_FILES = {
    "README.md": "# api\n\nThe webhook service.\n",
    "AGENTS.md": "This is the API service. Run tests with `python3 -m pytest -q`.\n",
    "src/webhooks/retry.py": "import os\n\n# How often a webhook delivery is retried.\nMAX_RETRIES = 5\n"
                             "BACKOFF_SECONDS = 30\n\n\ndef should_retry(attempt):\n    return attempt < MAX_RETRIES\n",
    "src/webhooks/AGENTS.md": "Webhook code: delivery settings live in retry.py; never lower MAX_RETRIES below 3.\n",
    "src/app.py": "from webhooks.retry import should_retry\n\nprint('app')\n",
    "tests/test_retry.py": "def test_retry():\n    assert True\n",
}


def git(cwd: Path, *args: str, env: dict | None = None) -> str:
    base = {"GIT_AUTHOR_NAME": "Dana", "GIT_AUTHOR_EMAIL": "dana@example.com", "GIT_COMMITTER_NAME": "Dana",
            "GIT_COMMITTER_EMAIL": "dana@example.com", "PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run(["git", *args], cwd=cwd, env={**base, **(env or {})}, check=True,
                          capture_output=True, text=True).stdout


def make_repo(path: Path, files: dict[str, str], *, branch: str = "main") -> Path:
    """A repo with the files in a first commit, then a second commit by another author."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", branch)
    for name, content in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(content)
    git(path, "add", "-A")
    git(path, "commit", "-qm", "Initial import", env={"GIT_AUTHOR_DATE": "2026-11-01T10:00:00Z",
                                                      "GIT_COMMITTER_DATE": "2026-11-01T10:00:00Z"})
    (path / "src/webhooks/retry.py").write_text(files["src/webhooks/retry.py"].replace("= 30", "= 60"))
    git(path, "commit", "-qam", "Slow down webhook backoff", env={
        "GIT_AUTHOR_NAME": "Lee", "GIT_AUTHOR_EMAIL": "lee@example.com",
        "GIT_AUTHOR_DATE": "2026-11-10T10:00:00Z", "GIT_COMMITTER_DATE": "2026-11-10T10:00:00Z"})
    return path


@pytest.fixture
def api_repo(tmp_path) -> Path:
    return make_repo(tmp_path / "origin" / "api", API_FILES)


@pytest.fixture
def repo_settings(tmp_path) -> Settings:
    return Settings(home=tmp_path / "home", sandbox_timeout=10)


@pytest.fixture
async def workspaces(repo_settings) -> Workspaces:
    spaces = Workspaces(repo_settings, GitAuth(repo_settings))
    yield spaces
    await spaces.close()
    spaces.clean_up_after_crash()
    spaces.remove_root_if_empty()


@pytest.fixture
async def run_ctx(api_repo, repo_settings, workspaces):
    """A RunContext whose repos are the api repo (linked by path), as a run would have it."""
    link = parse_repo(str(api_repo), repo_settings, name="acme/api")
    repos = RunRepos(workspaces, [link], link, "r-test")
    await repos.prepare()
    ctx = RunContext(run_id="r-test", channel="C1", thread_ts="1.0", user="U1", repos=repos,
                     sandbox=Sandbox(timeout=10))
    yield ctx
    await repos.close()
