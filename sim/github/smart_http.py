"""git's smart HTTP protocol, served by the real `git http-backend` run as a CGI per request.

GitHub's rules come first: anonymous requests to a private repository get 401 with
`WWW-Authenticate: Basic realm="GitHub"` (so git asks for credentials, and fails cleanly when
it cannot prompt); a token that cannot see the repository gets 404 "Repository not found.";
pushing needs `contents: write` (403 "Permission to o/r.git denied to login."). Refusal texts
are text/plain, which git shows as `remote: ...` lines. Workflow-file pushes are checked by the
pre-receive hook (see workflow_guard.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from sim.github.calls import Call
from sim.github.credentials import LEVELS, Credentials, Token, read_authorization
from sim.github.faults import Faults
from sim.github.git_store import GIT, git_env
from sim.github.pkt_line import read_push_commands, reword_refusal
from sim.github.rest import request_id
from sim.github.state import Forge, Repo
from sim.github.workflow_guard import guard_env

log = logging.getLogger(__name__)

SERVICES = ("git-upload-pack", "git-receive-pack")
CHALLENGE = {"WWW-Authenticate": 'Basic realm="GitHub"'}
BAD_CREDENTIALS = "Invalid username or token. Password authentication is not supported for Git operations."
PASSED_HEADERS = ("Content-Type", "Cache-Control", "Expires", "Pragma")
PUSH_PREFIX_BYTES = 64 * 1024


class Refusal(Exception):
    def __init__(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(text)
        self.status, self.text, self.headers = status, text, headers or {}


class GitHttp:
    def __init__(
        self,
        forge: Forge,
        credentials: Credentials,
        faults: Faults,
        record: Callable[[Call], None],
        emit: Callable[[str, Any], None],
        scratch: Path,
    ) -> None:
        self.forge = forge
        self.credentials = credentials
        self.faults = faults
        self.record = record
        self.emit = emit
        self.scratch = scratch

    def routes(self) -> list[web.RouteDef]:
        routes = []
        for suffix in (".git", ""):
            base = "/{owner}/{repo}" + suffix
            routes += [
                web.get(base + "/info/refs", self.handle),
                web.post(base + "/{service:git-[a-z-]+}", self.handle),
            ]
        return routes

    @staticmethod
    def _service(request: web.Request) -> str | None:
        name = request.query.get("service") if request.method == "GET" else request.match_info.get("service")
        return name if name in SERVICES else None

    def _authorize(self, request: web.Request, service: str) -> tuple[Repo, Token | None]:
        value = read_authorization(request.headers.get("Authorization"))
        token = self.credentials.lookup(value, self.forge.clock.now()) if value else None
        if value and token is None:
            raise Refusal(401, BAD_CREDENTIALS, CHALLENGE)
        repo = self.forge.repo(request.match_info["owner"], request.match_info["repo"])
        pushing = service == "git-receive-pack"
        if repo is None or (repo.private and token is None) or (pushing and token is None):
            if token is None:
                raise Refusal(401, "", CHALLENGE)
            raise Refusal(404, "Repository not found.")
        if token is None:
            return repo, None
        denied = Refusal(403, f"Permission to {repo.full_name}.git denied to {token.login}.")
        if not token.sees(repo):
            if repo.private:
                raise Refusal(404, "Repository not found.")
            if pushing:
                raise denied
            return repo, token
        needed = LEVELS["write"] if pushing else LEVELS["read"]
        if token.level("contents") < needed and (pushing or repo.private):
            raise denied
        return repo, token

    async def handle(self, request: web.Request) -> web.StreamResponse:
        at = time.monotonic()
        service = self._service(request)
        value = read_authorization(request.headers.get("Authorization"))
        token: Token | None = None
        details: dict[str, Any] | None = None
        status = 200
        fault = self.faults.take(request.method, request.path, None)
        try:
            if service is None:
                raise Refusal(404, "Not Found")
            if fault is not None and not fault.drop_after_accept:
                raise Refusal(
                    fault.status,
                    fault.text,
                    {"Retry-After": str(fault.retry_after)} if fault.retry_after else None,
                )
            repo, token = self._authorize(request, service)
            response, status, details = await self._run_backend(
                request, repo, token, service, drop=fault is not None
            )
            return response
        except Refusal as refusal:
            status = refusal.status
            text = refusal.text + "\n" if refusal.text else ""
            return web.Response(status=status, text=text, headers={**refusal.headers,
                                "x-github-request-id": request_id()})  # fmt: skip
        finally:
            login = token.login if token else None
            dropped = fault is not None and fault.drop_after_accept
            call = Call(request.method, request.path, status, details, at, value, login, kind="git",
                        query=dict(request.query), service=service, dropped=dropped)  # fmt: skip
            self.record(call)

    async def _run_backend(
        self, request: web.Request, repo: Repo, token: Token | None, service: str, drop: bool
    ) -> tuple[web.StreamResponse, int, dict[str, Any] | None]:
        tail = "info/refs" if request.method == "GET" else service
        env = git_env({
            "GIT_PROJECT_ROOT": str(self.forge.root), "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": f"/{repo.owner}/{repo.name}.git/{tail}", "REQUEST_METHOD": request.method,
            "QUERY_STRING": request.query_string, "CONTENT_TYPE": request.headers.get("Content-Type", ""),
            "REMOTE_ADDR": request.remote or "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1",
        })  # fmt: skip
        if token is not None:
            env["REMOTE_USER"] = token.login
        if "Git-Protocol" in request.headers:
            env["GIT_PROTOCOL"] = request.headers["Git-Protocol"]
        pushing = request.method == "POST" and service == "git-receive-pack"
        refusal_file = self.scratch / f"refusal-{uuid.uuid4().hex}"
        if pushing and token is not None:
            env.update(guard_env(token.kind, token.level("workflows") >= LEVELS["write"], refusal_file))
        process = await asyncio.create_subprocess_exec(
            GIT, "http-backend", env=env, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        prefix = bytearray()
        feeding = asyncio.create_task(self._feed(request, process, prefix if pushing else None))
        errors = asyncio.create_task(process.stderr.read())
        try:
            status, headers = await _read_cgi_headers(process.stdout)
            if pushing or drop:
                output = await process.stdout.read()
                await process.wait()
                details, sideband = _push_details(bytes(prefix), refusal_file) if pushing else (None, False)
                if details and details["rejected"]:
                    output = reword_refusal(output, details["rejected"], sideband)
                if pushing and status == 200 and not details["rejected"]:
                    pusher = token.login if token else None
                    self.emit(
                        "push", {"repo": repo.full_name, "login": pusher, "updates": details["updates"]}
                    )
                if drop and request.transport is not None:
                    request.transport.abort()
                    return web.Response(status=status), status, details
                return web.Response(status=status, body=output, headers=headers), status, details
            response = web.StreamResponse(status=status, headers=headers)
            await response.prepare(request)
            while chunk := await process.stdout.read(64 * 1024):
                await response.write(chunk)
            await response.write_eof()
            return response, status, None
        finally:
            feeding.cancel()
            await asyncio.gather(feeding, return_exceptions=True)
            if process.returncode is None:
                process.kill()
            await process.wait()
            stderr = await errors
            if stderr.strip():
                log.debug("git http-backend %s: %s", service, stderr.decode(errors="replace").strip())
            with contextlib.suppress(FileNotFoundError):
                refusal_file.unlink()

    @staticmethod
    async def _feed(
        request: web.Request, process: asyncio.subprocess.Process, prefix: bytearray | None
    ) -> None:
        """Stream the (already un-gzipped) request body into the CGI, keeping a push's first bytes."""
        stdin = process.stdin
        try:
            if request.method == "POST":
                async for chunk in request.content.iter_any():
                    if prefix is not None and len(prefix) < PUSH_PREFIX_BYTES:
                        prefix += chunk[: PUSH_PREFIX_BYTES - len(prefix)]
                    stdin.write(chunk)
                    await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            stdin.close()


async def _read_cgi_headers(stdout: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    status, headers = 200, {"x-github-request-id": request_id()}
    while True:
        line = (await stdout.readline()).decode("latin-1").rstrip("\r\n")
        if not line:
            return status, headers
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split(" ")[0])
        elif name.strip() in PASSED_HEADERS:
            headers[name.strip()] = value.strip()


def _push_details(prefix: bytes, refusal_file: Path) -> tuple[dict[str, Any], bool]:
    """What the push asked for and why it was refused (None if it was not); and whether the
    client asked for side-band, which decides how the answer is framed."""
    commands = read_push_commands(prefix)
    updates, capabilities = commands if commands is not None else ([], set())
    rejected = refusal_file.read_text() if refusal_file.exists() else None
    details = {"updates": [{"old": u.old, "new": u.new, "ref": u.ref} for u in updates], "rejected": rejected}
    return details, bool(capabilities & {"side-band", "side-band-64k"})
