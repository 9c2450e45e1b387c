"""GitHub's REST API for pull requests (github.com or Enterprise, at GITHUB_API_URL).

- Rate limits: `retry-after` (secondary limits, 429) and `x-ratelimit-remaining: 0` with
  `x-ratelimit-reset` are waited out when the wait is short, and reported plainly otherwise.
- Mutations go one at a time, at least a second apart, as GitHub asks of integrations.
- Creating a PR is idempotent: an existing open PR for the branch is looked up first, and
  "A pull request already exists" is treated as a lookup.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from bot.errors import UserError
from bot.repos.github_auth import GitHubAuth

log = logging.getLogger(__name__)

MAX_WAIT = 60.0  # seconds of rate-limit wait we accept before giving up
MUTATION_GAP = 1.0
Sleep = Callable[[float], Awaitable[None]]


class ForgeError(UserError):
    def __init__(self, message: str, *, status: int | None = None, retryable: bool = True) -> None:
        super().__init__(message, retryable=retryable, kind="github")
        self.status = status


class GitHub:
    def __init__(self, api_url: str, auth: GitHubAuth, *, sleep: Sleep = asyncio.sleep,
                 clock: Callable[[], float] = time.time) -> None:
        self.api = api_url.rstrip("/")
        self.auth = auth
        self.sleep = sleep
        self.clock = clock
        self._mutations = asyncio.Lock()
        self._last_mutation = 0.0

    async def find_pr(self, owner: str, repo: str, branch: str) -> dict[str, Any] | None:
        status, body = await self._call("GET", f"/repos/{owner}/{repo}/pulls", owner, repo,
                                        params={"head": f"{owner}:{branch}", "state": "open"})
        return body[0] if status == 200 and body else None

    async def create_pr(self, owner: str, repo: str, *, title: str, head: str, base: str, body: str) -> dict[str, Any]:
        existing = await self.find_pr(owner, repo, head)
        if existing:
            return existing
        status, data = await self._call("POST", f"/repos/{owner}/{repo}/pulls", owner, repo,
                                        json={"title": title, "head": head, "base": base, "body": body},
                                        ok=(201, 422))
        if status == 201:
            return data
        if "already exists" in _errors(data):
            found = await self.find_pr(owner, repo, head)
            if found:
                return found
        raise ForgeError(f"GitHub refused the pull request: {_errors(data)[:300]}", status=422, retryable=False)

    async def update_pr(self, owner: str, repo: str, number: int, **fields: Any) -> dict[str, Any]:
        _, data = await self._call("PATCH", f"/repos/{owner}/{repo}/pulls/{number}", owner, repo, json=fields)
        return data

    async def comment(self, owner: str, repo: str, number: int, body: str) -> None:
        await self._call("POST", f"/repos/{owner}/{repo}/issues/{number}/comments", owner, repo, json={"body": body},
                         ok=(201,))

    async def _call(self, method: str, path: str, owner: str, repo: str, *, json: Any = None,
                    params: dict[str, str] | None = None, ok: tuple[int, ...] = (200,)) -> tuple[int, Any]:
        mutation = method != "GET"
        if mutation:
            async with self._mutations:
                gap = self._last_mutation + MUTATION_GAP - self.clock()
                if gap > 0:
                    await self.sleep(gap)
                try:
                    return await self._send(method, path, owner, repo, json, params, ok)
                finally:
                    self._last_mutation = self.clock()
        return await self._send(method, path, owner, repo, json, params, ok)

    async def _send(self, method, path, owner, repo, json, params, ok) -> tuple[int, Any]:
        for _attempt in range(4):
            token = await self.auth.token_for(owner, repo)
            headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
                       "User-Agent": "chatops-agent"}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            try:
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session, \
                        session.request(method, self.api + path, json=json, params=params, headers=headers) as response:
                    status = response.status
                    data = await response.json(content_type=None) if response.content_length != 0 else None
                    wait = self._rate_limit_wait(status, response.headers, data)
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.warning("GitHub %s %s failed: %s", method, path, type(exc).__name__, exc_info=True)
                raise ForgeError(f"I couldn't reach GitHub at `{self.api}`.") from None
            if wait is None:
                if status in ok:
                    return status, data
                raise _refusal(status, data, f"{owner}/{repo}")
            if wait > MAX_WAIT:
                reset = time.strftime("%H:%M UTC", time.gmtime(self.clock() + wait))
                raise ForgeError(f"GitHub is rate limiting us; try again after {reset}.", status=status)
            log.info("GitHub rate limit on %s %s; waiting %.0f s", method, path, wait)
            await self.sleep(wait)
        raise ForgeError("GitHub kept rate limiting us; try again in a few minutes.", status=429)

    def _rate_limit_wait(self, status: int, headers, data: Any) -> float | None:
        if status not in (403, 429):
            return None
        if headers.get("retry-after"):
            return float(headers["retry-after"])
        if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset"):
            return max(0.0, float(headers["x-ratelimit-reset"]) - self.clock()) + 1
        if status == 429 or "rate limit" in str((data or {}).get("message", "")).lower():
            return 60.0
        return None


def _errors(data: Any) -> str:
    if not isinstance(data, dict):
        return str(data)[:300]
    parts = [str(data.get("message", ""))]
    for error in data.get("errors") or ():
        parts.append(str(error.get("message") or error.get("code") or error) if isinstance(error, dict) else str(error))
    return "; ".join(p for p in parts if p)


def _refusal(status: int, data: Any, repo: str) -> ForgeError:
    if status == 401:
        return ForgeError("GitHub rejected the bot's credentials (HTTP 401). Check `GITHUB_TOKEN` or the App key.",
                          status=status, retryable=False)
    if status in (403, 404):
        return ForgeError(f"GitHub won't let the bot do this on `{repo}` (HTTP {status}): it needs contents and "
                          "pull requests write access there.", status=status, retryable=False)
    return ForgeError(f"GitHub answered HTTP {status}: {_errors(data)[:300]}", status=status, retryable=status >= 500)
