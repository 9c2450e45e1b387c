"""The typed object every listener receives: the bot's parts, wired once by bot/app.py.

Listeners get it with `Core.of(context)`; nothing else is put in Bolt's context.
"""

from __future__ import annotations

from dataclasses import dataclass

from slack_bolt.context.async_context import AsyncBoltContext

from bot.agent.llm import ChatModel
from bot.repos.linking import Linker
from bot.repos.workspace import Workspaces
from bot.run.approvals import Approvals
from bot.run.intake import Intake
from bot.run.job import RunJob
from bot.run.request import Services
from bot.run.runner import Runner
from bot.settings import Settings
from bot.slack.io import Identity, SlackIO
from bot.store.sqlite import Store
from skills.base import Skill

CONTEXT_KEY = "chatops"


@dataclass
class Core:
    settings: Settings
    store: Store
    io: SlackIO
    runner: Runner
    intake: Intake
    job: RunJob
    services: Services
    skills: list[Skill]
    workspaces: Workspaces
    linker: Linker
    approvals: Approvals
    model: ChatModel | None = None

    @property
    def identity(self) -> Identity:
        return self.services.identity

    @classmethod
    def of(cls, context: AsyncBoltContext) -> Core:
        core = context.get(CONTEXT_KEY)
        if not isinstance(core, cls):
            raise RuntimeError("the chatops core is missing from Bolt's context (build the app with build_app)")
        return core
