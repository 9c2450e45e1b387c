"""The agent route: the model answers with the skills the channel can use, or proposes a change.

The skills offered are those whose needs the channel meets (a repo, data), never a mutating one
where the change policy is read-only. Text streams into the thread as the model writes it; a
proposal ends the run with its preview; otherwise the answer gets its receipts (which commits were
read, the SQL that ran, files skills made).
"""

from __future__ import annotations

import logging

from bot.agent.loop import AgentHooks, AgentResult, ToolCallRecord
from bot.attachment import Attachment
from bot.errors import UserError
from bot.repos.run_repos import RunRepos
from bot.run import prompt
from bot.run.request import Answered, Request, Services, may_change, open_repos, show_preview
from bot.slack.answer import AnswerWriter
from skills.base import RunContext

log = logging.getLogger(__name__)

EMPTY_ANSWER = "The model returned an empty answer."


class AgentRoute:
    def __init__(self, services: Services) -> None:
        self.services = services

    def accepts(self, request: Request) -> bool:
        return self.services.agent is not None

    async def answer(self, request: Request) -> Answered:
        services, run, channel = self.services, request.run, request.channel
        agent = services.agent
        assert agent is not None, "accepts() said there is a model"
        opened = await open_repos(services, request)
        repos, proposer, repo_note = opened if opened is not None else (None, None, "")
        available = {"repos"} if repos else set()
        if channel.data:
            available.add("data")
        read_only = not await may_change(services, request)  # the channel's policy, or a guest asking
        skills = [s for s in agent.skills if s.offered(available, read_only=read_only)]
        content = await prompt.turn_message(request=request.choice.request, requester=run.user, thread=request.unseen,
                                            bot_user_id=services.identity.user_id, names=services.io.user_name)
        system = prompt.system_prompt(services.identity.name, skills, channel.config, repos=repo_note,
                                      data=prompt.data_section(channel.data) if channel.data else "")
        writer = AnswerWriter(services.io, run.channel, run.thread_ts, run.id,
                              stream=services.settings.slack_streaming and services.settings.model_stream != "off",
                              recipient_user=run.user, recipient_team=run.team or services.identity.team_id)

        async def tool_started(name: str, arguments: dict) -> None:
            await request.progress.update(headline=f":mag: Running `{name}`…")

        hooks = AgentHooks(on_text=writer.on_text, on_new_step=writer.new_step, on_tool_start=tool_started,
                           on_tool_end=lambda record: self._tool_done(request, record))
        ctx = RunContext(run_id=run.id, channel=run.channel, thread_ts=run.thread_ts, user=run.user, repos=repos,
                         sandbox=services.sandbox, proposer=proposer, data=channel.data)
        result = await agent.run(system, [*request.session.messages, {"role": "user", "content": content}], ctx,
                                 hooks, skills=skills)
        proposal = proposer.proposal if proposer else None
        if proposal is not None:
            await show_preview(services, request, proposal)
        else:
            others = prompt.others_in(request.unseen, run.user, services.identity.user_id)
            await _deliver(writer, result, repos, instructions_from=run.user if others else None)
            await self._attach(request, ctx)
        request.save_turn(result.messages)
        services.store.save_thread(request.session)
        services.store.update_run(run.id, steps=result.steps, tool_calls=result.tool_calls,
                                  prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens)
        return Answered(result, proposal)

    async def _attach(self, request: Request, ctx: RunContext) -> None:
        """Files skills made for the answer (charts, CSVs), and the SQL the run ran, as receipts."""
        run = request.run
        files = list(ctx.attachments)
        if ctx.queries:
            sql = "\n\n".join(f"-- on {source}\n{query};" for source, query in ctx.queries)
            files.append(Attachment(f"queries-{run.id}.sql", sql + "\n", "The SQL behind this answer"))
        if files:
            await self.services.io.upload_files(run.channel, run.thread_ts, files)

    async def _tool_done(self, request: Request, record: ToolCallRecord) -> None:
        run = request.run
        self.services.store.record_tool_call(run.id, record.step, record.name, record.arguments, record.ms, record.ok,
                                             record.error, mutates=record.mutates)
        log.info("tool run=%s channel=%s thread=%s skill=%s mutates=%s ms=%d ok=%s", run.id, run.channel,
                 run.thread_ts, record.name, record.mutates, record.ms, record.ok)
        mark = "✓" if record.ok else "✗"
        step = f"{mark} `{record.name}` {_short(record.arguments)} · {record.ms / 1000:.1f} s"
        await request.progress.update(headline=":hourglass_flowing_sand: Working on it…", step=step)


async def _deliver(writer: AnswerWriter, result: AgentResult, repos: RunRepos | None, *,
                   instructions_from: str | None = None) -> None:
    if not result.text and not writer.received.strip():
        raise UserError(EMPTY_ANSWER, retryable=True, kind="model")
    final = result.text
    notes = []
    if result.stopped_by_steps:
        notes.append(f"_I stopped after {result.steps} tool steps (the limit for one request); ask me to continue._")
    if instructions_from:
        notes.append(f"_Took instructions only from <@{instructions_from}>; other messages in this thread were "
                     "read as quoted text._")
    if repos is not None and repos.read:
        notes.append("_Read " + ", ".join(f"`{name}` at `{repos.pinned[name].sha[:7]}` ({repos.pinned[name].branch})"
                                          for name in repos.read) + "._")
    for note in notes:
        await writer.on_text(f"\n\n{note}")
        final = f"{final}\n\n{note}"
    await writer.finish(final)


def _short(arguments: str, limit: int = 60) -> str:
    text = arguments.strip()
    if text in ("{}", ""):
        return ""
    return text if len(text) <= limit else text[: limit - 1] + "…"
