"""Who the bot is on GitHub: a token (GITHUB_TOKEN), or a GitHub App.

For an App, each request gets an installation token narrowed to the one repository it is for
and to the least permissions (contents and pull requests), refreshed five minutes before it
expires. Tokens live in memory only.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable

import aiohttp
import jwt

from bot.errors import UserError
from bot.settings import Settings

log = logging.getLogger(__name__)

PERMISSIONS = {"contents": "write", "pull_requests": "write"}
REFRESH_BEFORE = 300  # seconds before expiry


class GitHubAuth:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.api = settings.github_api_url
        self.token = settings.github_token
        self.app_id = settings.github_app_id
        self.private_key = settings.github_app_private_key
        self.clock = clock
        self._installation_tokens: dict[str, tuple[str, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @property
    def configured(self) -> bool:
        return bool(self.token or (self.app_id and self.private_key))

    async def token_for(self, owner: str, repo: str) -> str | None:
        """A token that may read and write `owner/repo` (None: anonymous)."""
        if not (self.app_id and self.private_key):
            return self.token
        key = f"{owner}/{repo}"
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._installation_tokens.get(key)
            if cached and cached[1] - REFRESH_BEFORE > self.clock():
                return cached[0]
            token, expires = await self._installation_token(owner, repo)
            self._installation_tokens[key] = (token, expires)
            return token

    def app_jwt(self) -> str:
        now = int(time.time())  # checked against GitHub's own clock, whatever our cache clock says
        claims = {"iat": now - 60, "exp": now + 540, "iss": str(self.app_id)}
        assert self.private_key, "app_jwt is called only when GitHub App auth is configured"
        return jwt.encode(claims, self.private_key, algorithm="RS256")

    async def _installation_token(self, owner: str, repo: str) -> tuple[str, float]:
        headers = {"Authorization": f"Bearer {self.app_jwt()}", "Accept": "application/vnd.github+json",
                   "X-GitHub-Api-Version": "2022-11-28"}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            async with session.get(f"{self.api}/repos/{owner}/{repo}/installation", headers=headers) as response:
                if response.status != 200:
                    log.warning("installation lookup for %s/%s: HTTP %d %s", owner, repo, response.status,
                                (await response.text())[:200])
                    raise UserError(f"The GitHub App is not installed on `{owner}/{repo}` (HTTP {response.status}). "
                                    "Install it there with contents and pull requests access.")
                installation = (await response.json())["id"]
            body = {"repositories": [repo], "permissions": PERMISSIONS}
            async with session.post(f"{self.api}/app/installations/{installation}/access_tokens", json=body,
                                    headers=headers) as response:
                data = await response.json()
                if response.status != 201:
                    raise UserError(f"GitHub would not issue a token for `{owner}/{repo}`: "
                                    f"{str(data.get('message', response.status))[:200]}")
        expires = dt.datetime.fromisoformat(data["expires_at"].replace("Z", "+00:00")).timestamp()
        log.info("installation token for %s/%s until %s", owner, repo, data["expires_at"])
        return data["token"], expires
