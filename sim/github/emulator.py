"""GitHubEmulator: one local server that is GitHub to the bot: git smart HTTP, the REST API
under /api/v3 (GitHub Enterprise style), and the web pages its links point at.

```python
gh = GitHubEmulator()
await gh.start()                                   # 127.0.0.1, an ephemeral port
token = gh.add_token("ghp_x", login="chatops-bot")
repo = gh.create_repo("acme", "api", files={"README.md": "# api\\n"})
# git clone -c http.extraHeader="Authorization: Bearer ghp_x" {repo.clone_url}
# GITHUB_API_URL={gh.api_url}
await gh.wait_for(lambda: gh.pulls("acme", "api"))
await gh.stop()
```
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from sim.call_log import CallLog
from sim.github import app_routes, pull_routes, repo_routes, rs256
from sim.github.calls import Call
from sim.github.credentials import DEFAULT_APP_PERMISSIONS, App, Credentials, Installation, Token
from sim.github.faults import Fault, Faults
from sim.github.rate_limits import RateLimits
from sim.github.rest import RestApi, budget_key
from sim.github.smart_http import GitHttp
from sim.github.state import Clock, Forge, Repo, Site
from sim.github.web_pages import web_routes
from sim.github.workflow_guard import install_hook

log = logging.getLogger(__name__)

DEFAULT_TOKEN_PERMISSIONS = {"contents": "write", "pull_requests": "write"}
DEFAULT_AUTHOR = ("Sim Maintainer", "maintainer@example.com")


class GitHubEmulator(CallLog[Call]):
    """A local GitHub; see the module docstring."""

    label, nothing_yet, copy_events = "GitHub emulator", "(no requests)", True

    def __init__(self, root: Path | str | None = None) -> None:
        """`root` keeps the bare repositories there (kept after stop); by default a temp dir, removed on stop."""
        super().__init__()
        self._owns_root = root is None
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="sim-github-"))
        self.clock = Clock()
        self.site = Site()
        self.forge = Forge(self.root / "repos", self.site, self.clock)
        self.credentials = Credentials()
        self.faults = Faults()
        self.limits = RateLimits(self.clock)
        self._runner: web.AppRunner | None = None
        scratch = self.root / "scratch"
        scratch.mkdir(parents=True, exist_ok=True)
        self.rest = RestApi(self.forge, self.credentials, self.faults, self.limits, self._record, self._emit)
        self.git_http = GitHttp(self.forge, self.credentials, self.faults, self._record, self._emit, scratch)

    # ----- lifecycle

    @property
    def url(self) -> str:
        """The web root, what https://github.com is for github.com."""
        return self.site.url

    @property
    def api_url(self) -> str:
        """GITHUB_API_URL for a GitHub Enterprise-style setup: {url}/api/v3."""
        return self.site.api_url

    def web_app(self) -> web.Application:
        app = web.Application(client_max_size=1024**3)
        app.router.add_routes(self.rest.routes(repo_routes.ROUTES + pull_routes.ROUTES + app_routes.ROUTES))
        app.router.add_routes(self.git_http.routes())
        app.router.add_routes(web_routes(self.forge, self._record))
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> GitHubEmulator:
        if self._runner is not None:
            raise RuntimeError("the GitHub emulator is already running")
        # handler_cancellation: a client that hangs up ends its handler (and its git process).
        runner = web.AppRunner(
            self.web_app(), access_log=None, handler_cancellation=True, shutdown_timeout=2.0
        )
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        self._runner = runner
        self.site.url = f"http://{host}:{runner.addresses[0][1]}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
        if self._owns_root:
            shutil.rmtree(self.root, ignore_errors=True)

    async def __aenter__(self) -> GitHubEmulator:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ----- accounts

    def add_token(
        self,
        token: str,
        login: str = "chatops-bot",
        repos: list[str] | None = None,
        permissions: dict[str, str] | None = None,
    ) -> str:
        """A personal access token (fine-grained semantics): `repos` None sees every repository."""
        allowed = frozenset(r.lower() for r in repos) if repos is not None else None
        granted = dict(DEFAULT_TOKEN_PERMISSIONS if permissions is None else permissions)
        kind = "oauth" if token.startswith("gho_") else "pat"
        self.credentials.add(Token(token, self.forge.person(login), kind, granted, allowed))
        return token

    def add_app(
        self,
        app_id: int,
        private_key_pem: str | bytes,
        installations: dict[str, int],
        permissions: dict[str, str] | None = None,
        slug: str = "chatops",
        client_id: str | None = None,
    ) -> App:
        """A GitHub App installed on each account in `installations` ({"acme": installation_id})."""
        granted = dict(DEFAULT_APP_PERMISSIONS if permissions is None else permissions)
        app = App(
            app_id, slug, rs256.public_key_from_pem(private_key_pem), granted, client_id or f"Iv1.sim{app_id}"
        )
        for account, installation_id in installations.items():
            app.installations[installation_id] = Installation(installation_id, account, app, dict(granted))
        self.credentials.apps[app_id] = app
        return app

    def advance_clock(self, seconds: float) -> None:
        """Move the emulator's time forward: installation tokens expire, rate limits reset."""
        self.clock.advance(seconds)
        self._notify()

    # ----- repositories

    def create_repo(
        self,
        owner: str,
        name: str,
        files: dict[str, str | bytes] | None = None,
        branch: str = "main",
        private: bool = True,
        description: str | None = None,
        author: tuple[str, str] = DEFAULT_AUTHOR,
        when: datetime | None = None,
        message: str = "Initial commit",
    ) -> Repo:
        """A repository whose default branch holds `files` in one commit (no commit if `files` is empty)."""
        repo = self.forge.add_repo(owner, name, private, branch)
        repo.description = description
        install_hook(repo.path)
        if files:
            self.commit(owner, name, files, message, branch=branch, author=author, when=when)
        return repo

    def repo(self, owner: str, name: str) -> Repo:
        found = self.forge.repo(owner, name)
        if found is None:
            raise LookupError(f"no repository {owner}/{name}")
        return found

    def commit(
        self,
        owner: str,
        name: str,
        files: dict[str, str | bytes | None],
        message: str,
        branch: str | None = None,
        author: tuple[str, str] = DEFAULT_AUTHOR,
        when: datetime | None = None,
    ) -> str:
        """A commit made on the server (as a web edit or a teammate's push would); returns its sha.
        A file whose content is None is deleted; a new branch starts from the default branch.
        `when` defaults to the emulator's clock."""
        repo = self.repo(owner, name)
        timestamp = int(when.timestamp()) if when is not None else int(self.clock.now())
        sha = repo.git.commit(
            branch or repo.default_branch, files, message, author, timestamp, start=repo.default_branch
        )
        self._notify()
        return sha

    def branch_files(self, owner: str, name: str, branch: str) -> dict[str, str | bytes]:
        """{path: content} at the tip of `branch` (text as str)."""
        return self.repo(owner, name).git.files_at(f"refs/heads/{branch}")

    def branch_sha(self, owner: str, name: str, branch: str) -> str | None:
        return self.repo(owner, name).git.tip(branch)

    def pulls(self, owner: str, name: str) -> list[dict[str, Any]]:
        """The repository's pull requests as stored, oldest first (head.sha as last seen by the API)."""
        return [pr.stored() for pr in self.repo(owner, name).pulls.values()]

    def comments(self, owner: str, name: str, number: int | None = None) -> list[dict[str, Any]]:
        return [c.stored() for c in self.repo(owner, name).comments if number in (None, c.number)]

    # ----- faults and limits

    def fail(
        self,
        method: str,
        path: str,
        status: int = 500,
        message: str | None = None,
        retry_after: int | None = None,
        times: int | None = 1,
        drop_after_accept: bool = False,
        when: Callable[[Any], bool] | None = None,
    ) -> Fault:
        """Make matching requests fail. `path` is exact or a glob (REST paths with or without /api/v3,
        git paths like /acme/api.git/git-receive-pack); `when` sees the JSON body. With
        `drop_after_accept` the request is carried out and the connection is then cut without an answer."""
        return self.faults.add(
            Fault(method, path, status, message, retry_after, drop_after_accept, times, when)
        )

    def clear_faults(self) -> None:
        self.faults.clear()

    def rate_limit(self, remaining: int = 0, reset_in: float = 60, token: str | None = None) -> None:
        """Leave `remaining` core requests until `reset_in` seconds from now, for one token's
        identity or (by default) for everyone; an exhausted budget answers 403 like GitHub."""
        key = budget_key(self.credentials.tokens[token])[0] if token is not None else None
        self.limits.set_remaining(remaining, reset_in, key)

    # ----- observing

    def calls_to(self, method: str, path: str) -> list[Call]:
        probe = Fault(method, path, times=None)
        return [c for c in self.calls if probe.matches(c.method, c.path, c.body)]
