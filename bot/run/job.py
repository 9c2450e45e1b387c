"""One run, start to finish: queueing, progress, the thread, a route that answers, exactly one outcome.

The routes (bot/run/routes/) are the ways a request is answered, tried in order: a metric question
with no model, a copy change, the agent. A new kind of answer is one new file there and one entry
in `routes`. Whatever happens, the run ends in one outcome (bot/slack/outcome.py) shown in the thread.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import Protocol

from bot.channel import ChannelContext
from bot.errors import SkillError, UserError
from bot.run.request import Answered, AskingError, Request, Services
from bot.run.routes.agent import AgentRoute
from bot.run.routes.copy_change import CopyChangeRoute
from bot.run.routes.metric_question import MetricQuestionRoute
from bot.run.runner import Runner
from bot.slack import outcome
from bot.slack.outcome import Outcome
from bot.slack.progress import QUEUED, Progress
from bot.store.records import Run, ThreadSession

log = logging.getLogger(__name__)

NO_MODEL = (
    "I can't answer questions yet: no model is configured. Set `CHATOPS_MODEL`, plus `OPENAI_BASE_URL` "
    "and/or `OPENAI_API_KEY` for your endpoint (OpenAI, Azure OpenAI, Ollama, vLLM, llama.cpp and LM Studio "
    "all work), restart me, and run `chatops doctor` to check the setup. (Copy changes like "
    "`change \"A\" to \"B\"` work without one.)"
)


class Route(Protocol):
    def accepts(self, request: Request) -> bool: ...

    async def answer(self, request: Request) -> Answered: ...


class RunJob:
    def __init__(self, services: Services, runner: Runner) -> None:
        self.services = services
        self.runner = runner
        self.routes: list[Route] = [MetricQuestionRoute(services), CopyChangeRoute(services), AgentRoute(services)]
        self._thread_locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = weakref.WeakValueDictionary()

    async def __call__(self, run_id: str) -> None:
        store, settings = self.services.store, self.services.settings
        run = store.get_run(run_id)
        if run is None or run.status != "queued":
            return
        assistant_thread = store.is_assistant_thread(run.channel, run.thread_ts)
        progress = Progress(self.services.io, run.channel, run.thread_ts, run.id, status_line=assistant_thread,
                            interval=settings.progress_interval, message_ts=run.progress_ts)
        started = time.monotonic()
        deadline = None
        request: Request | None = None
        try:
            await self.runner.intake_quiet()
            lock = self._thread_lock(run.channel, run.thread_ts)
            if self.runner.busy() or lock.locked():
                self._remember_progress(run, await progress.start(QUEUED))
            async with lock, self.runner.slot():
                store.update_run(run.id, status="running", started_at=time.time())
                self._remember_progress(run, await progress.start())
                async with asyncio.timeout(settings.max_run_seconds) as deadline:
                    request = await self._request(run, progress, assistant_thread)
                    answered = await self._dispatch(request)
            result = outcome.answered(run.id, time.monotonic() - started, answered.result.steps,
                                      answered.result.tokens, answered.proposal)
        except asyncio.CancelledError:
            result = outcome.stopped(run.id, restarting=self.runner.stopping,
                                     cancelled_by=self.runner.cancelled_by(run.id))
        except TimeoutError as exc:
            result = outcome.timed_out(run.id, settings.max_run_seconds) if deadline and deadline.expired() \
                else outcome.bug(run.id, exc, self.services.io.redactor.text)
        except AskingError as exc:
            result = exc.outcome
        except UserError as exc:
            result = outcome.user_error(run.id, exc)
        except SkillError as exc:  # a check written for the model, hit on a route without one
            result = outcome.user_error(run.id, UserError(_for_people(exc)))
        except Exception as exc:
            result = outcome.bug(run.id, exc, self.services.io.redactor.text)
        await self._finish(run, progress, result, time.monotonic() - started)
        if request is not None and request.repos is not None:  # after the outcome: nobody waits for the removal
            await request.repos.close()

    async def _request(self, run: Run, progress: Progress, assistant_thread: bool) -> Request:
        store, io = self.services.store, self.services.io
        # loaded only now: an earlier run in this thread may have just saved its turn
        session = store.load_thread(run.channel, run.thread_ts) or ThreadSession(
            run.channel, run.thread_ts, assistant=assistant_thread)
        first_in_thread = run.thread_ts == run.message_ts and not session.messages
        thread = [] if first_in_thread else await io.replies(run.channel, run.thread_ts)
        earlier = [m for m in thread if float(m["ts"]) < float(run.message_ts)]
        unseen = [m for m in earlier if float(m["ts"]) > float(session.context_ts or 0)]
        channel = ChannelContext.of(self.services.settings, store, run.channel, await io.channel_name(run.channel))
        return Request(run=run, session=session, channel=channel, progress=progress, earlier=earlier, unseen=unseen)

    async def _dispatch(self, request: Request) -> Answered:
        for route in self.routes:
            if route.accepts(request):
                return await route.answer(request)
        raise UserError(NO_MODEL, retryable=False, kind="config")

    async def _finish(self, run: Run, progress: Progress, result: Outcome, seconds: float) -> None:
        self.services.store.update_run(run.id, status=result.status, error_kind=result.error_kind, error=result.error,
                                       finished_at=time.time())
        log.info("run run=%s channel=%s thread=%s user=%s status=%s ms=%d", run.id, run.channel, run.thread_ts,
                 run.user, result.status, int(seconds * 1000))
        try:
            await asyncio.shield(self._show(run, progress, result))
        except Exception:  # Slack is unreachable: the record above is what is left
            log.error("run %s: could not post its outcome", run.id, exc_info=True)

    async def _show(self, run: Run, progress: Progress, result: Outcome) -> None:
        io = self.services.io
        if result.status == "done" and not result.error_kind and progress.status_line:
            await io.set_status(run.channel, run.thread_ts, "")
        else:
            await progress.finish(result.text, result.blocks)
        await io.unreact(run.channel, run.message_ts, "eyes")
        await io.react(run.channel, run.message_ts, result.reaction)

    def _thread_lock(self, channel: str, thread_ts: str) -> asyncio.Lock:
        """One run at a time per thread, so follow-ups see the answer before them."""
        lock = self._thread_locks.get((channel, thread_ts))
        if lock is None:
            lock = self._thread_locks[(channel, thread_ts)] = asyncio.Lock()
        return lock

    def _remember_progress(self, run: Run, ts: str | None) -> None:
        if ts and ts != run.progress_ts:
            run.progress_ts = ts
            self.services.store.update_run(run.id, progress_ts=ts)


def _for_people(exc: SkillError) -> str:
    """A skill check's message, reworded for a person: its finding without the hint meant for the model."""
    finding = str(exc).split("; ", 1)[0].strip().rstrip(".")
    return f"I couldn't finish this: {finding}." if finding else "I couldn't finish this."
