"""The REST API's front door under /api/v3: credentials, rate limits, faults, recording, headers.

Every answer carries GitHub's headers (x-ratelimit-*, x-github-request-id, ...); errors have
GitHub's shape `{"message", "documentation_url", "status", ["errors"]}`. Handlers get an
`ApiRequest` and return a `Reply`, or raise `ApiError`.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sim.github.calls import Call
from sim.github.credentials import (
    LEVELS,
    App,
    CredentialError,
    Credentials,
    Token,
    looks_like_jwt,
    read_authorization,
)
from sim.github.faults import API_PREFIX, Fault, Faults, api_relative
from sim.github.rate_limits import ANONYMOUS_LIMIT, AUTHENTICATED_LIMIT, Budget, RateLimits
from sim.github.state import Forge, Person, Repo

log = logging.getLogger(__name__)

DOCS = "https://docs.github.com/rest"
RATE_LIMIT_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
NO_SPEND_PATHS = frozenset({"/rate_limit"})
ANONYMOUS_GOOD_NEWS = (
    "(But here's the good news: Authenticated requests get a higher rate limit. "
    "Check out the documentation for more details.)"
)


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        documentation_url: str = DOCS,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.documentation_url = documentation_url
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"message": self.message}
        if self.errors is not None:
            shown["errors"] = self.errors
        shown.update(documentation_url=self.documentation_url, status=str(self.status))
        return shown


def not_found(docs: str = DOCS) -> ApiError:
    return ApiError(404, "Not Found", docs)


def validation_failed(docs: str, *errors: dict[str, Any]) -> ApiError:
    return ApiError(422, "Validation Failed", docs, list(errors))


def not_supplied(name: str, docs: str) -> ApiError:
    return ApiError(422, f'Invalid request.\n\n"{name}" wasn\'t supplied.', docs)


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ApiRequest:
    """One REST request as handlers see it."""

    http: web.Request
    body: Any
    token: Token | None
    app: App | None  # set when authenticated with the app's JWT
    budget: Budget
    forge: Forge
    credentials: Credentials
    emit: Callable[[str, Any], None]

    def arg(self, name: str) -> str:
        return self.http.match_info[name]

    def field(self, name: str, default: Any = None) -> Any:
        return self.body.get(name, default) if isinstance(self.body, dict) else default

    def require_token(self) -> Token:
        if self.token is None:
            if self.app is not None:
                raise ApiError(403, "Resource not accessible by integration")
            raise ApiError(401, "Requires authentication")
        return self.token

    def require_app(self) -> App:
        if self.app is None:
            raise ApiError(401, "A JSON web token could not be decoded")
        return self.app

    def actor(self) -> Person:
        return self.require_token().user

    def repo(
        self, permission: str | tuple[str, ...] = "metadata", level: str = "read", docs: str = DOCS
    ) -> Repo:
        """The repository in the path, if this request may use `permission` at `level` on it."""
        repo = self.forge.repo(self.arg("owner"), self.arg("repo"))
        if repo is None:
            raise not_found(docs)
        need = LEVELS[level]
        token = self.token
        if token is None:
            if repo.private:
                raise not_found(docs)
            if need > LEVELS["read"]:
                self.require_token()
            return repo
        if not token.sees(repo):
            if repo.private:
                raise not_found(docs)
            if need > LEVELS["read"]:
                raise ApiError(403, token.forbidden_message, docs)
            return repo
        names = (permission,) if isinstance(permission, str) else permission
        if not repo.private and need == LEVELS["read"]:
            return repo
        if max(token.level(name) for name in names) < need:
            accepted = "; ".join(f"{name}={level}" for name in names)
            raise ApiError(
                403, token.forbidden_message, docs, headers={"x-accepted-github-permissions": accepted}
            )
        return repo

    def page(self, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
        """GitHub's pagination: per_page (default 30, at most 100), page, and a Link header."""
        query = self.http.query
        per_page = min(100, max(1, _int(query.get("per_page"), 30)))
        page = max(1, _int(query.get("page"), 1))
        last = max(1, math.ceil(len(items) / per_page))
        links = []
        for rel, number in (("prev", page - 1), ("next", page + 1), ("last", last), ("first", 1)):
            if (rel in ("prev", "first") and page > 1) or (rel in ("next", "last") and page < last):
                url = self.http.url.update_query(page=str(number), per_page=str(per_page))
                links.append(f'<{url}>; rel="{rel}"')
        headers = {"Link": ", ".join(links)} if links else {}
        return items[(page - 1) * per_page : page * per_page], headers


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


Handler = Callable[[ApiRequest], Awaitable[Reply]]


class RestApi:
    def __init__(
        self,
        forge: Forge,
        credentials: Credentials,
        faults: Faults,
        limits: RateLimits,
        record: Callable[[Call], None],
        emit: Callable[[str, Any], None],
    ) -> None:
        self.forge = forge
        self.credentials = credentials
        self.faults = faults
        self.limits = limits
        self.record = record
        self.emit = emit

    def routes(self, table: list[tuple[str, str, Handler]]) -> list[web.RouteDef]:
        """aiohttp routes for (method, path under /api/v3, handler), then a 404 for everything else."""

        def bind(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
            async def serve(request: web.Request) -> web.StreamResponse:
                return await self.dispatch(request, handler)

            return serve

        async def unknown(_: ApiRequest) -> Reply:
            raise not_found()

        routes = [web.route(method, API_PREFIX + path, bind(handler)) for method, path, handler in table]
        routes.append(web.route("*", API_PREFIX + "{tail:.*}", bind(unknown)))
        return routes

    def _identify(self, value: str | None) -> tuple[Token | None, App | None, str | None]:
        """(token, app, error message) for the credentials presented."""
        if value is None:
            return None, None, None
        if looks_like_jwt(value):
            try:
                return None, self.credentials.app_for_jwt(value), None
            except CredentialError as e:
                return None, None, str(e)
        token = self.credentials.lookup(value, self.forge.clock.now())
        return token, None, None if token else "Bad credentials"

    async def dispatch(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        at = time.monotonic()
        path = api_relative(request.path)
        remote = request.remote or "127.0.0.1"
        value = read_authorization(request.headers.get("Authorization"))
        headers = {
            "x-github-request-id": request_id(),
            "x-github-api-version-selected": "2022-11-28",
            "x-github-media-type": "github.v3; format=json",
        }
        body: Any = None
        fault: Fault | None = None
        token, app, auth_error = self._identify(value)
        key, limit, identity = budget_key(token, app, remote)
        budget = self.limits.budget(key, limit)
        try:
            body, body_error = await _read_json(request)
            fault = self.faults.take(request.method, path, body)
            if fault is not None and not fault.drop_after_accept:
                raise _fault_error(fault)
            if auth_error is not None:
                raise ApiError(401, auth_error)
            if body_error is not None:
                raise body_error
            if path not in NO_SPEND_PATHS:
                budget, allowed = self.limits.spend(key, limit)
                if not allowed:
                    raise ApiError(403, f"API rate limit exceeded for {identity}", RATE_LIMIT_DOCS)
            reply = await handler(
                ApiRequest(request, body, token, app, budget, self.forge, self.credentials, self.emit)
            )
            status, payload = reply.status, reply.body
            headers.update(reply.headers)
        except ApiError as e:
            status, payload = e.status, e.body()
            headers.update(e.headers)
        except Exception:
            log.exception("GitHub emulator failed on %s %s", request.method, request.path)
            status, payload = 500, {"message": "Server Error", "documentation_url": DOCS, "status": "500"}
        headers.update(budget.headers())
        if fault is not None and fault.retry_after is not None:
            headers["retry-after"] = str(fault.retry_after)
        dropped = fault is not None and fault.drop_after_accept
        login = token.login if token else (app.slug if app else None)
        call = Call(request.method, path, status, body, at, value, login, kind="rest", query=dict(request.query),
                    response=payload, dropped=dropped)  # fmt: skip
        self.record(call)
        if dropped and request.transport is not None:
            request.transport.abort()
            return web.Response(status=status)
        if status == 204:
            return web.Response(status=204, headers=headers)
        text = json.dumps(payload, indent=None)
        return web.Response(
            status=status, text=text, headers=headers, content_type="application/json", charset="utf-8"
        )


def budget_key(token: Token | None, app: App | None = None, remote: str = "") -> tuple[str, int, str]:
    """(rate-limit budget key, its limit, how GitHub names the identity when it is used up)."""
    if token is not None and token.installation_id is not None:
        number = token.installation_id
        return f"installation:{number}", AUTHENTICATED_LIMIT, f"installation ID {number}."
    if token is not None:
        return f"user:{token.user.id}", AUTHENTICATED_LIMIT, f"user ID {token.user.id}."
    if app is not None:
        return f"app:{app.app_id}", AUTHENTICATED_LIMIT, f"app ID {app.app_id}."
    return f"anonymous:{remote}", ANONYMOUS_LIMIT, f"{remote}. {ANONYMOUS_GOOD_NEWS}"


def request_id() -> str:
    parts = (
        secrets.token_hex(2),
        secrets.token_hex(2),
        secrets.token_hex(3),
        secrets.token_hex(3),
        secrets.token_hex(4),
    )
    return ":".join(parts).upper()


def _fault_error(fault: Fault) -> ApiError:
    docs = RATE_LIMIT_DOCS + "#about-secondary-rate-limits" if fault.status in (403, 429) else DOCS
    return ApiError(fault.status, fault.text, docs)


async def _read_json(request: web.Request) -> tuple[Any, ApiError | None]:
    if not request.body_exists:
        return None, None
    raw = await request.read()
    if not raw.strip():
        return None, None
    try:
        return json.loads(raw), None
    except ValueError:
        return None, ApiError(400, "Problems parsing JSON", DOCS)
