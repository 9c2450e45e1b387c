"""One run, start to finish: progress, thread context, repo, the agent (or the copy fast path),
the answer or the change preview, and exactly one outcome (bot/outcome.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import weakref
from dataclasses import dataclass

from bot.agent.loop import Agent, AgentHooks, AgentResult, ToolCallRecord
from bot.attachment import Attachment
from bot.changes import copy as copy_change
from bot.changes.proposal import Proposer
from bot.data.analysis.question import MetricQuestion, parse_question
from bot.data.catalog import ChannelData
from bot.errors import UserError
from bot.repos.links import linked_repos
from bot.repos.run_repos import RunRepos
from bot.repos.sandbox import Sandbox
from bot.repos.workspace import Workspaces
from bot.run import prompt
from bot.run.repo_choice import RepoChoice, choose_repo
from bot.run.routes import metric_question as data_run
from bot.run.routes.copy_change import copy_change_run
from bot.run.runner import Runner
from bot.settings import Settings
from bot.slack import outcome, preview
from bot.slack.answer import AnswerWriter
from bot.slack.io import SlackIO
from bot.slack.outcome import Outcome
from bot.slack.progress import QUEUED, Progress
from bot.store.records import Proposal
from bot.store.sqlite import Run, Store, ThreadSession
from skills import DATA_SKILLS, REPO_SKILLS
from skills.base import RunContext

log = logging.getLogger(__name__)

NO_MODEL = (
    "I can't answer questions yet: no model is configured. Set `CHATOPS_MODEL`, plus `OPENAI_BASE_URL` "
    "and/or `OPENAI_API_KEY` for your endpoint (OpenAI, Azure OpenAI, Ollama, vLLM, llama.cpp and LM Studio "
    "all work), restart me, and run `chatops doctor` to check the setup. (Copy changes like "
    "`change \"A\" to \"B\"` work without one.)"
)
EMPTY_ANSWER = "The model returned an empty answer."
REPO_SKILL_NAMES = frozenset(skill.name for skill in REPO_SKILLS)
DATA_SKILL_NAMES = frozenset(skill.name for skill in DATA_SKILLS)
AMENDABLE = ("previewed", "opened", "failed")


class Asking(Exception):
    """The run needs the person to choose something before it can go on."""

    def __init__(self, result: Outcome) -> None:
        super().__init__("asking")
        self.outcome = result


@dataclass(frozen=True)
class Identity:
    """Who the bot is in this workspace (from auth.test)."""

    user_id: str
    name: str
    team_id: str


@dataclass
class Answered:
    result: AgentResult
    proposal: Proposal | None = None


class RunJob:
    def __init__(self, *, settings: Settings, store: Store, io: SlackIO, agent: Agent | None, runner: Runner,
                 identity: Identity, workspaces: Workspaces, sandbox: Sandbox) -> None:
        self.settings = settings
        self.store = store
        self.io = io
        self.agent = agent
        self.runner = runner
        self.identity = identity
        self.workspaces = workspaces
        self.sandbox = sandbox
        self._open_repos: dict[str, RunRepos] = {}
        self._thread_locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = weakref.WeakValueDictionary()

    async def __call__(self, run_id: str) -> None:
        run = self.store.get_run(run_id)
        if run is None or run.status != "queued":
            return
        assistant_thread = self.store.is_assistant_thread(run.channel, run.thread_ts)
        progress = Progress(self.io, run.channel, run.thread_ts, run.id, status_line=assistant_thread,
                            interval=self.settings.progress_interval, message_ts=run.progress_ts)
        started = time.monotonic()
        deadline = None
        try:
            await self.runner.intake_quiet()
            lock = self._thread_lock(run.channel, run.thread_ts)
            if self.runner.busy() or lock.locked():
                self._remember_progress(run, await progress.start(QUEUED))
            async with lock, self.runner.slot():
                self.store.update_run(run.id, status="running", started_at=time.time())
                self._remember_progress(run, await progress.start())
                # loaded only now: an earlier run in this thread may have just saved its turn
                session = self.store.load_thread(run.channel, run.thread_ts) or ThreadSession(
                    run.channel, run.thread_ts, assistant=assistant_thread)
                async with asyncio.timeout(self.settings.max_run_seconds) as deadline:
                    answered = await self._answer(run, session, progress)
            result = outcome.answered(run.id, time.monotonic() - started, answered.result.steps,
                                      answered.result.tokens, answered.proposal)
        except asyncio.CancelledError:
            result = outcome.stopped(run.id, restarting=self.runner.stopping,
                                     cancelled_by=self.runner.cancelled_by(run.id))
        except TimeoutError as exc:
            result = outcome.timed_out(run.id, self.settings.max_run_seconds) if deadline and deadline.expired() \
                else outcome.bug(run.id, exc, self.io.redactor.text)
        except Asking as exc:
            result = exc.outcome
        except UserError as exc:
            result = outcome.user_error(run.id, exc)
        except Exception as exc:
            result = outcome.bug(run.id, exc, self.io.redactor.text)
        await self._finish(run, progress, result, time.monotonic() - started)
        repos = self._open_repos.pop(run.id, None)
        if repos is not None:  # after the outcome is shown: nobody waits for the worktree's removal
            await repos.close()

    async def _answer(self, run: Run, session: ThreadSession, progress: Progress) -> Answered:
        first_in_thread = run.thread_ts == run.message_ts and not session.messages
        thread = [] if first_in_thread else await self.io.replies(run.channel, run.thread_ts)
        earlier = [m for m in thread if float(m["ts"]) < float(run.message_ts)]
        unseen = [m for m in earlier if float(m["ts"]) > float(session.context_ts or 0)]
        channel_name = await self.io.channel_name(run.channel) if run.channel[:1] in "CG" else None
        channel = self.settings.channel(run.channel, channel_name)
        links = linked_repos(self.settings, self.store, run.channel, channel_name)
        data = ChannelData.for_channel(self.settings, self.store, run.channel, channel_name)
        question = parse_question(run.text) if self.agent is None and data.metrics else None
        if question is not None:
            return await self._explain(run, session, question, data, links, progress)
        choice = choose_repo(run.text, links, thread=[m.get("text") or "" for m in earlier],
                             thread_repo=session.repo, picked=run.repo, picked_branch=run.branch)
        if choice.ambiguous:
            raise Asking(outcome.ask_repo(run.id, choice.candidates, links))
        copy_request = copy_change.parse(choice.request)
        if self.agent is None and copy_request is None:
            raise UserError(NO_MODEL, retryable=False, kind="config")
        repos, proposer, repo_note = await self._open(run, session, choice, links, channel.policy, progress)
        if copy_request is not None and proposer is not None:
            return await self._copy(run, session, copy_request, repos, proposer, channel.policy)
        if copy_request is not None:
            raise UserError("Copy changes need a linked repo; link one with `/chatops link repo owner/name`.")
        content = await prompt.turn_message(request=choice.request, requester=run.user, thread=unseen,
                                            bot_user_id=self.identity.user_id, names=self.io.user_name)
        left_out = (set() if repos else REPO_SKILL_NAMES) | (set() if data else DATA_SKILL_NAMES)
        skills = [s for s in self.agent.skills if s.name not in left_out]
        system = prompt.system_prompt(self.identity.name, skills, channel, repos=repo_note,
                                      data=prompt.data_section(data) if data else "")
        writer = AnswerWriter(self.io, run.channel, run.thread_ts, run.id,
                              stream=self.settings.slack_streaming and self.settings.model_stream != "off",
                              recipient_user=run.user, recipient_team=run.team or self.identity.team_id)
        hooks = AgentHooks(on_text=writer.on_text, on_new_step=writer.new_step,
                           on_tool_start=lambda name, args: progress.update(headline=f":mag: Running `{name}`…"),
                           on_tool_end=lambda record: self._tool_done(run, progress, record))
        ctx = RunContext(run_id=run.id, channel=run.channel, thread_ts=run.thread_ts, user=run.user, repos=repos,
                         sandbox=self.sandbox, proposer=proposer, data=data)
        result = await self.agent.run(system, [*session.messages, {"role": "user", "content": content}], ctx, hooks,
                                      skills=skills)
        proposal = proposer.proposal if proposer else None
        if proposal is not None:
            await self._post_preview(proposal, channel.policy)
        else:
            await self._deliver(writer, result, repos)
            await self._attach(run, ctx)
        session.messages = result.messages
        session.context_ts = run.message_ts
        self.store.save_thread(session)
        self.store.update_run(run.id, steps=result.steps, tool_calls=result.tool_calls,
                              prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens)
        return Answered(result, proposal)

    async def _explain(self, run: Run, session: ThreadSession, question: MetricQuestion, data: ChannelData,
                       links, progress: Progress) -> Answered:
        """A metric question with no model: the deterministic analysis, posted with its charts and SQL."""
        repos = None
        if links:  # candidate commits come from every linked repo's history
            repos = self._open_repos[run.id] = RunRepos(self.workspaces, links, links[0], run.id)
        await progress.update(headline=f":bar_chart: Explaining `{question.metric}`…")
        explanation = await data_run.explain_question(question, data, repos, today=dt.datetime.now(dt.UTC).date())
        writer = AnswerWriter(self.io, run.channel, run.thread_ts, run.id, stream=False)
        text = await data_run.post_explanation(self.io, run.channel, run.thread_ts, explanation, writer.post)
        session.messages = [*session.messages, {"role": "user", "content": run.text},
                            {"role": "assistant", "content": text}]
        session.context_ts = run.message_ts
        self.store.save_thread(session)
        return Answered(AgentResult(text=text, messages=session.messages))

    async def _attach(self, run: Run, ctx: RunContext) -> None:
        """Files skills made for the answer (charts, CSVs), and the SQL the run ran, as receipts."""
        files = list(ctx.attachments)
        if ctx.queries:
            sql = "\n\n".join(f"-- on {source}\n{query};" for source, query in ctx.queries)
            files.append(Attachment(f"queries-{run.id}.sql", sql + "\n", "The SQL behind this answer"))
        if files:
            await self.io.upload_files(run.channel, run.thread_ts, files)

    async def _open(self, run: Run, session: ThreadSession, choice: RepoChoice, links, policy, progress):
        """The run's repos (pinned; continuing the thread's proposal if there is one) and its proposer."""
        if choice.link is None:
            return None, None, ""
        progress.headline = f":hourglass_flowing_sand: Reading `{choice.link.name}`…"
        repos = self._open_repos[run.id] = RunRepos(self.workspaces, links, choice.link, run.id, choice.branch)
        previous = self.store.latest_proposal(run.channel, run.thread_ts)
        if previous is None or previous.status not in AMENDABLE or previous.repo != choice.link.name:
            previous = None
        else:
            repos.start_from[previous.repo] = (previous.base_sha, previous.patch)
        pinned = await repos.prepare()
        session.repo, session.branch = choice.link.name, choice.branch
        self.store.update_run(run.id, repo=choice.link.name, branch=pinned.branch)
        proposer = Proposer(self.store, self.sandbox, policy, repos, run.id, run.channel, run.thread_ts, run.user,
                            choice.request, previous)
        note = prompt.repos_section(links, pinned, repos.root_agents_md(pinned))
        if previous is not None:
            pr = f" (open as PR #{previous.pr_number})" if previous.pr_number else ""
            note += (f"This thread already proposed a change to `{previous.repo}`{pr}: {previous.title}. Your "
                     "worktree starts with that change applied; edits add to it, and propose_change updates it.\n")
        return repos, proposer, note

    async def _copy(self, run: Run, session: ThreadSession, request, repos, proposer, policy) -> Answered:
        result = await copy_change_run(request, repos, proposer, run.choice)
        if result.question is not None:
            raise Asking(outcome.ask_copy(run.id, request.old, *result.question))
        empty = AgentResult(text=result.answer or "", messages=[])
        if result.proposal is not None:
            await self._post_preview(result.proposal, policy)
        else:
            await self.io.post(run.channel, run.thread_ts, text=result.answer, key=f"{run.id}:answer:0")
        session.context_ts = run.message_ts
        self.store.save_thread(session)
        return Answered(empty, result.proposal)

    async def _post_preview(self, proposal: Proposal, policy) -> None:
        proposal.preview_ts = await preview.post(self.io, proposal, require_passing_checks=policy.require_passing_checks,
                                                 approvers=policy.approvers)
        self.store.save_proposal(proposal)

    async def _deliver(self, writer: AnswerWriter, result: AgentResult, repos: RunRepos | None) -> None:
        if not result.text and not writer.received.strip():
            raise UserError(EMPTY_ANSWER, retryable=True, kind="model")
        final = result.text
        notes = []
        if result.stopped_by_steps:
            notes.append(f"_I stopped after {result.steps} tool steps (the limit for one request); ask me to continue._")
        if repos is not None and repos.read:
            notes.append("_Read " + ", ".join(f"`{name}` at `{repos.pinned[name].sha[:7]}` ({repos.pinned[name].branch})"
                                              for name in repos.read) + "._")
        for note in notes:
            await writer.on_text(f"\n\n{note}")
            final = f"{final}\n\n{note}"
        await writer.finish(final)

    async def _tool_done(self, run: Run, progress: Progress, record: ToolCallRecord) -> None:
        self.store.record_tool_call(run.id, record.step, record.name, record.arguments, record.ms, record.ok,
                                    record.error)
        log.info("tool run=%s channel=%s thread=%s skill=%s ms=%d ok=%s", run.id, run.channel, run.thread_ts,
                 record.name, record.ms, record.ok)
        mark = "✓" if record.ok else "✗"
        await progress.update(headline=":hourglass_flowing_sand: Working on it…",
                              step=f"{mark} `{record.name}` {_short(record.arguments)} · {record.ms / 1000:.1f} s")

    async def _finish(self, run: Run, progress: Progress, result: Outcome, seconds: float) -> None:
        self.store.update_run(run.id, status=result.status, error_kind=result.error_kind, error=result.error,
                              finished_at=time.time())
        log.info("run run=%s channel=%s thread=%s user=%s status=%s ms=%d", run.id, run.channel, run.thread_ts,
                 run.user, result.status, int(seconds * 1000))
        try:
            await asyncio.shield(self._show(run, progress, result))
        except Exception as exc:  # Slack is unreachable: the record above is what is left
            log.error("run %s: could not post its outcome (%s)", run.id, type(exc).__name__)

    async def _show(self, run: Run, progress: Progress, result: Outcome) -> None:
        if result.status == "done" and not result.error_kind and progress.status_line:
            await self.io.set_status(run.channel, run.thread_ts, "")
        else:
            await progress.finish(result.text, result.blocks)
        await self.io.unreact(run.channel, run.message_ts, "eyes")
        await self.io.react(run.channel, run.message_ts, result.reaction)

    def _thread_lock(self, channel: str, thread_ts: str) -> asyncio.Lock:
        """One run at a time per thread, so follow-ups see the answer before them."""
        lock = self._thread_locks.get((channel, thread_ts))
        if lock is None:
            lock = self._thread_locks[(channel, thread_ts)] = asyncio.Lock()
        return lock

    def _remember_progress(self, run: Run, ts: str | None) -> None:
        if ts and ts != run.progress_ts:
            run.progress_ts = ts
            self.store.update_run(run.id, progress_ts=ts)


def _short(arguments: str, limit: int = 60) -> str:
    text = arguments.strip()
    if text in ("{}", ""):
        return ""
    return text if len(text) <= limit else text[: limit - 1] + "…"
