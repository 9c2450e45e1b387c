"""One run, start to finish: progress, thread context, the agent, the answer, exactly one outcome.

Every run ends in one of: done (answer), failed (a clear message, Retry where it can help),
cancelled, or interrupted (the bot stopped mid-run; told on restart). Exception text never
reaches Slack: a bug is logged with the run id and the user gets an apology with that id.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from dataclasses import dataclass

from bot import blocks, prompt
from bot.agent import Agent, AgentHooks, AgentResult, ToolCallRecord
from bot.answer import AnswerWriter
from bot.errors import UserError
from bot.progress import QUEUED, Progress
from bot.repo_choice import RepoChoice, choose_repo
from bot.repos import linked_repos
from bot.run_repos import RunRepos
from bot.runner import Runner
from bot.sandbox import Sandbox
from bot.settings import Settings
from bot.slack_io import SlackIO
from bot.store import Run, Store, ThreadSession
from bot.workspace import Workspaces
from skills import REPO_SKILLS
from skills.base import RunContext

log = logging.getLogger(__name__)

NO_MODEL = (
    "I can't answer questions yet: no model is configured. Set `CHATOPS_MODEL`, plus `OPENAI_BASE_URL` "
    "and/or `OPENAI_API_KEY` for your endpoint (OpenAI, Azure OpenAI, Ollama, vLLM, llama.cpp and LM Studio "
    "all work), restart me, and run `chatops doctor` to check the setup."
)
EMPTY_ANSWER = "The model returned an empty answer."
REPO_SKILL_NAMES = frozenset(skill.name for skill in REPO_SKILLS)


class RepoChoiceNeeded(Exception):
    """The request could be about several linked repos: ask which one."""

    def __init__(self, choice: RepoChoice, links: list) -> None:
        super().__init__("ambiguous repo")
        self.choice = choice
        self.links = links


@dataclass(frozen=True)
class Identity:
    """Who the bot is in this workspace (from auth.test)."""

    user_id: str
    name: str
    team_id: str


@dataclass
class Outcome:
    status: str  # done | failed | cancelled | interrupted
    text: str
    blocks: list[dict]
    reaction: str
    error_kind: str | None = None
    error: str | None = None  # for operators (the DB and logs), never for Slack


class RunJob:
    def __init__(self, *, settings: Settings, store: Store, io: SlackIO, agent: Agent | None, runner: Runner,
                 identity: Identity, workspaces: Workspaces, sandbox: Sandbox) -> None:
        self.settings = settings
        self.workspaces = workspaces
        self.sandbox = sandbox
        self._open_repos: dict[str, RunRepos] = {}
        self.store = store
        self.io = io
        self.agent = agent
        self.runner = runner
        self.identity = identity
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
                    result = await self._answer(run, session, progress)
            outcome = self._done(run, result, time.monotonic() - started)
        except asyncio.CancelledError:
            outcome = self._stopped(run)
        except TimeoutError as exc:
            outcome = self._timed_out(run) if deadline and deadline.expired() else self._bug(run, exc)
        except RepoChoiceNeeded as exc:
            outcome = self._ask_repo(run, exc.choice, exc.links)
        except UserError as exc:
            outcome = Outcome("failed", f":x: {exc.message}", blocks.outcome(f":x: {exc.message}", run_id=run.id,
                              retry=exc.retryable, note=f"run `{run.id}`"), "x", exc.kind, exc.message)
        except Exception as exc:
            outcome = self._bug(run, exc)
        await self._finish(run, progress, outcome, time.monotonic() - started)
        repos = self._open_repos.pop(run.id, None)
        if repos is not None:  # after the outcome is shown: nobody waits for the worktree's removal
            await repos.close()

    async def _answer(self, run: Run, session: ThreadSession, progress: Progress) -> AgentResult:
        if self.agent is None:
            raise UserError(NO_MODEL, retryable=False, kind="config")
        first_in_thread = run.thread_ts == run.message_ts and not session.messages
        thread = [] if first_in_thread else await self.io.replies(run.channel, run.thread_ts)
        earlier = [m for m in thread if float(m["ts"]) < float(run.message_ts)]
        unseen = [m for m in earlier if float(m["ts"]) > float(session.context_ts or 0)]
        channel_name = await self.io.channel_name(run.channel) if run.channel[:1] in "CG" else None
        links = linked_repos(self.settings, self.store, run.channel, channel_name)
        choice = choose_repo(run.text, links, thread=[m.get("text") or "" for m in earlier],
                             thread_repo=session.repo, picked=run.repo, picked_branch=run.branch)
        if choice.ambiguous:
            raise RepoChoiceNeeded(choice, links)
        repos, repo_note = None, ""
        skills = [s for s in self.agent.skills if s.name not in REPO_SKILL_NAMES]
        if choice.link is not None:
            progress.headline = f":hourglass_flowing_sand: Reading `{choice.link.name}`…"
            repos = self._open_repos[run.id] = RunRepos(self.workspaces, links, choice.link, run.id, choice.branch)
            pinned = await repos.prepare()
            repo_note = prompt.repos_section(links, pinned, repos.root_agents_md(pinned))
            skills = self.agent.skills
            session.repo, session.branch = choice.link.name, choice.branch
            self.store.update_run(run.id, repo=choice.link.name, branch=pinned.branch)
        content = await prompt.turn_message(request=choice.request, requester=run.user, thread=unseen,
                                            bot_user_id=self.identity.user_id, names=self.io.user_name)
        system = prompt.system_prompt(self.identity.name, skills, self.settings.channel(run.channel, channel_name),
                                      repos=repo_note)
        writer = AnswerWriter(self.io, run.channel, run.thread_ts, run.id,
                              stream=self.settings.slack_streaming and self.settings.model_stream != "off",
                              recipient_user=run.user, recipient_team=run.team or self.identity.team_id)
        hooks = AgentHooks(on_text=writer.on_text, on_new_step=writer.new_step,
                           on_tool_start=lambda name, args: progress.update(headline=f":mag: Running `{name}`…"),
                           on_tool_end=lambda record: self._tool_done(run, progress, record))
        ctx = RunContext(run_id=run.id, channel=run.channel, thread_ts=run.thread_ts, user=run.user, repos=repos,
                         sandbox=self.sandbox)
        result = await self.agent.run(system, [*session.messages, {"role": "user", "content": content}], ctx, hooks,
                                      skills=skills)
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
        session.messages = result.messages
        session.context_ts = run.message_ts
        self.store.save_thread(session)
        self.store.update_run(run.id, steps=result.steps, tool_calls=result.tool_calls,
                              prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens)
        return result

    async def _tool_done(self, run: Run, progress: Progress, record: ToolCallRecord) -> None:
        self.store.record_tool_call(run.id, record.step, record.name, record.arguments, record.ms, record.ok,
                                    record.error)
        log.info("tool run=%s channel=%s thread=%s skill=%s ms=%d ok=%s", run.id, run.channel, run.thread_ts,
                 record.name, record.ms, record.ok)
        mark = "✓" if record.ok else "✗"
        await progress.update(headline=":hourglass_flowing_sand: Working on it…",
                              step=f"{mark} `{record.name}` {_short(record.arguments)} · {record.ms / 1000:.1f} s")

    def _done(self, run: Run, result: AgentResult, seconds: float) -> Outcome:
        parts = [f"Answered in {seconds:.0f} s"]
        if result.steps:
            parts.append(f"{result.steps} tool step{'s' if result.steps != 1 else ''}")
        parts.append(f"{result.tokens / 1000:.1f}k tokens")
        parts.append(f"run `{run.id}`")
        text = ":white_check_mark: " + " · ".join(parts)
        return Outcome("done", text, blocks.summary(text), "white_check_mark")

    def _ask_repo(self, run: Run, choice: RepoChoice, links: list) -> Outcome:
        names = ", ".join(f"`{link.name}`" for link in choice.candidates)
        text = f":grey_question: Which repo do you mean? This could be about {names}."
        options = [x.name for x in choice.candidates] + [x.name for x in links if x not in choice.candidates]
        return Outcome("waiting", text, blocks.choose_repo(text, run_id=run.id, names=options), "grey_question",
                       "choice")

    def _stopped(self, run: Run) -> Outcome:
        if self.runner.stopping:
            text = ":warning: I was restarted while working on this, so it stopped."
            return Outcome("interrupted", text, blocks.outcome(text, run_id=run.id, retry=True, note=f"run `{run.id}`"),
                           "x", "interrupted")
        by = self.runner.cancelled_by(run.id)
        text = f":no_entry_sign: Cancelled by <@{by}>." if by else ":no_entry_sign: Cancelled."
        return Outcome("cancelled", text, blocks.outcome(text, run_id=run.id, retry=True, note=f"run `{run.id}`"),
                       "no_entry_sign", "cancelled")

    def _timed_out(self, run: Run) -> Outcome:
        limit = _duration(self.settings.max_run_seconds)
        text = f":hourglass: This took longer than {limit}, so I stopped. Try a narrower question, or Retry."
        return Outcome("failed", text, blocks.outcome(text, run_id=run.id, retry=True, note=f"run `{run.id}`"),
                       "x", "timeout", f"wall time over {self.settings.max_run_seconds} s")

    def _bug(self, run: Run, exc: BaseException) -> Outcome:
        log.error("run %s failed: %s", run.id, type(exc).__name__, exc_info=exc)
        text = f":x: Sorry, something went wrong on my side. It is logged under run `{run.id}`."
        return Outcome("failed", text, blocks.outcome(text, run_id=run.id, retry=True), "x", "bug",
                       self.io.redactor.text(f"{type(exc).__name__}: {exc}")[:2000])

    async def _finish(self, run: Run, progress: Progress, outcome: Outcome, seconds: float) -> None:
        self.store.update_run(run.id, status=outcome.status, error_kind=outcome.error_kind, error=outcome.error,
                              finished_at=time.time())
        log.info("run run=%s channel=%s thread=%s user=%s status=%s ms=%d", run.id, run.channel, run.thread_ts,
                 run.user, outcome.status, int(seconds * 1000))
        try:
            await asyncio.shield(self._show(run, progress, outcome))
        except Exception as exc:  # Slack is unreachable: the record above is what is left
            log.error("run %s: could not post its outcome (%s)", run.id, type(exc).__name__)

    async def _show(self, run: Run, progress: Progress, outcome: Outcome) -> None:
        if outcome.status == "done" and progress.status_line:
            await self.io.set_status(run.channel, run.thread_ts, "")
        else:
            await progress.finish(outcome.text, outcome.blocks)
        await self.io.unreact(run.channel, run.message_ts, "eyes")
        await self.io.react(run.channel, run.message_ts, outcome.reaction)

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


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"
