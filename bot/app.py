"""The composition root: settings + the outside world in, a running bot out.

`build_app(settings, deps)` wires every part once. `Deps` holds what talks to the outside
world (the Slack client, the model, the store, the skills) so tests can point them at the
local emulators; everything else is our real code. Listeners get the core (bot/core.py) with
`Core.of(context)`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

import handlers
from bot.agent.llm import ChatModel
from bot.agent.loop import Agent, Budgets
from bot.agent.tokens import count_text
from bot.changes.forge import GitHub
from bot.changes.publish import Publisher
from bot.core import CONTEXT_KEY, Core
from bot.redact import Redactor
from bot.repos.git_auth import GitAuth
from bot.repos.github_auth import GitHubAuth
from bot.repos.linking import Linker
from bot.repos.sandbox import Sandbox
from bot.repos.workspace import Workspaces
from bot.run.approvals import Approvals
from bot.run.intake import Intake
from bot.run.job import RunJob
from bot.run.request import Services
from bot.run.runner import Runner
from bot.settings import Settings
from bot.slack.client import make_web_client
from bot.slack.http_front import HttpFront
from bot.slack.io import Identity, SlackIO
from bot.slack.signature import RequestVerifier
from bot.store.sqlite import Store
from skills import SKILLS
from skills.base import Skill

log = logging.getLogger(__name__)


@dataclass
class Deps:
    """The parts that face the outside world; None means "build from settings"."""

    web_client: AsyncWebClient | None = None
    model: ChatModel | None = None
    store: Store | None = None
    skills: list[Skill] | None = None
    verifier: RequestVerifier | None = None
    github: GitHub | None = None
    github_auth: GitHubAuth | None = None


class ChatopsApp:
    """The Bolt app plus its lifecycle: start (identity, recovery), serve (Socket Mode or HTTP), stop."""

    def __init__(self, bolt: AsyncApp, core: Core, verifier: RequestVerifier | None) -> None:
        self.bolt = bolt
        self.core = core
        self.verifier = verifier
        self._socket: AsyncSocketModeHandler | None = None
        self._http: HttpFront | None = None
        self.port: int | None = None
        self._stopped = False
        self._sweeper: asyncio.Task | None = None

    async def start(self) -> None:
        count_text("warm up")  # load the tokenizer now, not during the first run
        await asyncio.to_thread(self.core.workspaces.clean_up_after_crash)
        auth = await self.core.io.client.auth_test()
        identity = Identity(user_id=auth["user_id"], name=auth.get("user") or "chatops", team_id=auth["team_id"])
        self.core.services.identity = identity
        self.core.approvals.home_team = identity.team_id
        await self.core.intake.recover()
        await self.core.approvals.recover()
        self._sweeper = asyncio.create_task(self._expire_previews())
        log.info("ready as @%s (%s) in team %s", identity.name, identity.user_id, identity.team_id)

    async def serve_socket_mode(self) -> None:
        self._socket = AsyncSocketModeHandler(self.bolt, self.core.settings.slack_app_token,
                                              web_client=self.core.io.client)
        await self._socket.connect_async()
        log.info("connected to Slack over Socket Mode")

    async def serve_http(self, host: str = "0.0.0.0", port: int = 3000) -> int:
        if self.verifier is None:
            raise RuntimeError("HTTP mode needs SLACK_SIGNING_SECRET")
        self._http = HttpFront(self.bolt, self.verifier, asyncio.get_running_loop())
        self.port = await self._http.start(host, port)
        log.info("listening for Slack events on http://%s:%d/slack/events", host, self.port)
        return self.port

    async def _expire_previews(self) -> None:
        """Previews nobody acted on expire (CHATOPS_PREVIEW_TTL) and say so in their thread."""
        interval = min(300.0, self.core.settings.preview_ttl / 4)
        while True:
            try:
                await self.core.approvals.expire_stale()
            except Exception:
                log.warning("expiring previews failed", exc_info=True)
            await asyncio.sleep(interval)

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._socket is not None:
            try:
                await self._socket.close_async()
            except Exception:  # shutting down anyway
                log.warning("closing the Socket Mode connection failed", exc_info=True)
        if self._http is not None:
            await self._http.stop()
        await self.core.runner.shutdown()
        await self.core.approvals.wait()
        if self.core.io.client.session is not None:
            try:
                await self.core.io.client.session.close()
            except Exception:  # shutting down anyway
                log.warning("closing the Slack client session failed", exc_info=True)
        if self.core.model is not None:
            await self.core.model.close()
        await self.core.workspaces.close()
        self.core.store.close()

    async def wait_idle(self) -> None:
        await self.core.runner.wait_idle()
        await asyncio.sleep(0)


def build_app(settings: Settings, deps: Deps | None = None) -> ChatopsApp:
    deps = deps or Deps()
    redactor = Redactor(settings.secrets)
    store = deps.store or Store.open(settings.db_path, redactor)  # first: an unusable home stops us here
    store.redactor = redactor  # a store handed in (tests) keeps secrets out too
    client = deps.web_client or make_web_client(settings.slack_bot_token, settings.slack_api_url)
    io = SlackIO(client, redactor)
    skills = SKILLS if deps.skills is None else deps.skills
    model = deps.model or (ChatModel(settings) if settings.model_configured else None)
    agent = None
    if model is not None:
        budgets = Budgets(max_steps=settings.max_steps, max_tokens=settings.max_run_tokens,
                          context_tokens=settings.context_tokens)
        agent = Agent(model=model, skills=skills, budgets=budgets, redactor=redactor)
    runner = Runner(settings.concurrency)
    github_auth = deps.github_auth or GitHubAuth(settings)
    git_auth = GitAuth(settings, github_auth)
    workspaces = Workspaces(settings, git_auth)
    sandbox = Sandbox(timeout=settings.sandbox_timeout, max_processes=settings.sandbox_max_processes,
                      unprivileged_uid=settings.sandbox_user)
    services = Services(settings=settings, store=store, io=io, workspaces=workspaces, sandbox=sandbox, agent=agent)
    job = RunJob(services, runner)
    runner.bind(job)
    publisher = Publisher(settings, store, workspaces, deps.github or GitHub(settings.github_api_url, github_auth),
                          git_auth)
    core = Core(settings=settings, store=store, io=io, runner=runner, intake=Intake(store, io, runner), job=job,
                services=services, skills=skills, model=model, workspaces=workspaces,
                linker=Linker(settings, store, workspaces), approvals=Approvals(settings, store, io, publisher))

    bolt_logger = logging.getLogger("slack_bolt")
    level = bolt_logger.level
    bolt_logger.setLevel(logging.ERROR)  # Bolt itself reads SLACK_BOT_TOKEN and warns it is unused next to `client`
    try:
        bolt = AsyncApp(
            client=client,
            signing_secret=settings.slack_signing_secret or "",
            request_verification_enabled=False,  # bot/slack/http_front.py verifies before Bolt sees the request
            process_before_response=True,  # the HTTP front acks events itself; listeners are short (intake only)
            logger=bolt_logger,
        )
    finally:
        bolt_logger.setLevel(level)

    async def provide_core(context, next):
        context[CONTEXT_KEY] = core
        await next()

    bolt.use(provide_core)
    handlers.register(bolt)
    verifier = deps.verifier or (RequestVerifier(settings.slack_signing_secret)
                                 if settings.slack_signing_secret else None)
    return ChatopsApp(bolt, core, verifier)
