"""The tool loop: model <-> skills, within step, token and context budgets.

Each step the model either answers (done) or calls skills; their results go back to it. Calls
to skills that only read run together; a call to a skill that `mutates` runs alone, after the
calls before it and before the calls after it. A `SkillError` becomes the tool result so the
model can fix its call; any other exception ends the run. When the step budget is spent the
model is asked once more, without tools, to answer with what it has. The token budget is a hard
stop. Wall time is bounded by the caller.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.agent.compaction import Compactor
from bot.agent.llm import ChatModel, ContextTooLongError, TextCallback
from bot.errors import BudgetExceededError, ModelError, SkillError
from bot.redact import Redactor
from skills.base import RunContext, Skill

log = logging.getLogger(__name__)

WRAP_UP_NOTE = (
    "You have used all {steps} tool steps allowed for this request. Do not call tools. Answer now with "
    "what you found, and say plainly what you could not check."
)


@dataclass(frozen=True)
class Budgets:
    max_steps: int = 20
    max_tokens: int = 200_000
    context_tokens: int = 32_000


@dataclass
class ToolCallRecord:
    step: int
    name: str
    arguments: str
    ms: int
    ok: bool
    error: str | None = None
    mutates: bool = True  # as the skill declares; an unknown skill counts as mutating


ToolStartCallback = Callable[[str, dict[str, Any]], Awaitable[None]]
ToolEndCallback = Callable[[ToolCallRecord], Awaitable[None]]


@dataclass
class AgentHooks:
    on_text: TextCallback | None = None
    on_tool_start: ToolStartCallback | None = None
    on_tool_end: ToolEndCallback | None = None
    on_new_step: Callable[[], Awaitable[None]] | None = None


@dataclass
class AgentResult:
    text: str
    messages: list[dict[str, Any]]  # the conversation after this run, without the system prompt
    steps: int = 0
    tool_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    stopped_by_steps: bool = False
    compacted: bool = False

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class Agent:
    model: ChatModel
    skills: list[Skill]
    budgets: Budgets = field(default_factory=Budgets)
    redactor: Redactor = field(default_factory=Redactor)

    def __post_init__(self) -> None:
        self._compactor = Compactor(self.model, self.budgets.context_tokens)

    async def run(self, system: str, history: list[dict[str, Any]], ctx: RunContext,
                  hooks: AgentHooks | None = None, skills: list[Skill] | None = None) -> AgentResult:
        """Run the tool loop; `skills` narrows the agent's skills for this run (default: all of them)."""
        return await _Run(self, self.skills if skills is None else skills, ctx, hooks or AgentHooks()).go(
            system, history)


class _Run:
    """One agent run: the conversation, the skills it may call, its usage."""

    def __init__(self, agent: Agent, skills: list[Skill], ctx: RunContext, hooks: AgentHooks) -> None:
        self.model = agent.model
        self.budgets = agent.budgets
        self.redactor = agent.redactor
        self._compactor = agent._compactor
        self.ctx = ctx
        self.hooks = hooks
        self._by_name = {skill.name: skill for skill in skills}
        self._tools = [
            {"type": "function", "function": {"name": s.name, "description": s.description, "parameters": s.parameters}}
            for s in skills
        ]

    async def go(self, system: str, history: list[dict[str, Any]]) -> AgentResult:
        hooks, ctx = self.hooks, self.ctx
        messages = [{"role": "system", "content": system}, *history]
        result = AgentResult(text="", messages=[])
        while True:
            wrap_up = result.steps >= self.budgets.max_steps
            if wrap_up and self._tools:
                messages.append({"role": "user", "content": WRAP_UP_NOTE.format(steps=result.steps)})
            messages = await self._fit(messages, result)
            self._check_tokens(result)
            if hooks.on_new_step:
                await hooks.on_new_step()
            completion = await self._complete(messages, result, hooks, tool_choice="none" if wrap_up else None)
            if wrap_up:  # a tool call now would have no result; keep the history valid
                completion.tool_calls = []
            messages.append(_with_valid_arguments(completion.message))
            if not completion.tool_calls:
                result.text = completion.text.strip()
                result.stopped_by_steps = wrap_up and bool(self._tools)
                result.messages = messages[1:]
                return result
            result.steps += 1
            for batch in self._batches(completion.tool_calls):
                contents = await asyncio.gather(*(self._call_skill(call, ctx, result, hooks) for call in batch),
                                                return_exceptions=True)
                for outcome in contents:  # every call in the batch has finished; the first failure ends the run
                    if isinstance(outcome, BaseException):
                        raise outcome
                for call, content in zip(batch, contents, strict=True):
                    messages.append({"role": "tool", "tool_call_id": call["id"], "content": content})
            if ctx.end_requested:  # a skill finished the request (e.g. a change was proposed)
                result.messages = messages[1:]
                return result

    def _batches(self, calls: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        """The calls in order, grouped so that reads run together and each mutating call runs alone."""
        batches: list[tuple[bool, list[dict[str, Any]]]] = []
        for call in calls:
            skill = self._by_name.get(call["function"]["name"])
            alone = skill is None or skill.mutates
            if alone or not batches or batches[-1][0]:
                batches.append((alone, []))
            batches[-1][1].append(call)
        return [batch for _, batch in batches]

    async def _complete(self, messages, result: AgentResult, hooks: AgentHooks, *, tool_choice: str | None):
        tools = self._tools or None
        try:
            completion = await self.model.complete(messages, tools, tool_choice=tool_choice, on_text=hooks.on_text)
        except ContextTooLongError:
            # Our count was off for this model's tokenizer: compact regardless and try once more.
            compacted = await self._compactor.fit(messages, self._tools, force=True)
            messages[:] = compacted.messages
            self._add_usage(result, compacted.prompt_tokens, compacted.completion_tokens)
            try:
                completion = await self.model.complete(messages, tools, tool_choice=tool_choice, on_text=hooks.on_text)
            except ContextTooLongError:
                raise ModelError("This conversation no longer fits the model's context window, even summarised. "
                                 "Start a new thread, or raise `CHATOPS_CONTEXT_TOKENS` if the model allows.",
                                 retryable=False, kind="context") from None
        self._add_usage(result, completion.prompt_tokens, completion.completion_tokens)
        return completion

    async def _fit(self, messages: list[dict[str, Any]], result: AgentResult) -> list[dict[str, Any]]:
        compacted = await self._compactor.fit(messages, self._tools)
        if compacted.messages is not messages:
            result.compacted = True
        self._add_usage(result, compacted.prompt_tokens, compacted.completion_tokens)
        return compacted.messages

    def _check_tokens(self, result: AgentResult) -> None:
        if result.tokens >= self.budgets.max_tokens:
            raise BudgetExceededError(
                f"This request used its token budget ({result.tokens:,} of {self.budgets.max_tokens:,} tokens) "
                "before finishing. Ask a narrower question, or raise `CHATOPS_MAX_RUN_TOKENS`."
            )

    async def _call_skill(self, call: dict[str, Any], ctx: RunContext, result: AgentResult,
                          hooks: AgentHooks) -> str:
        name = call["function"]["name"]
        raw_arguments = call["function"].get("arguments") or "{}"
        result.tool_calls += 1
        skill = self._by_name.get(name)
        record = ToolCallRecord(step=result.steps, name=name, arguments=self.redactor.text(raw_arguments), ms=0,
                                ok=True, mutates=skill is None or skill.mutates)
        started = time.monotonic()
        try:
            if skill is None:
                raise SkillError(f"there is no skill named {name!r}; available: {', '.join(self._by_name) or 'none'}")
            if hooks.on_tool_start:
                await hooks.on_tool_start(name, _loads_or_empty(raw_arguments))
            content = await skill.invoke(ctx, raw_arguments)
        except SkillError as exc:
            record.ok, record.error = False, str(exc)
            content = f"Error: {exc}"
        except BaseException as exc:
            record.ok, record.error = False, type(exc).__name__
            raise
        finally:
            record.ms = int((time.monotonic() - started) * 1000)
            if hooks.on_tool_end:
                await hooks.on_tool_end(record)
        return self.redactor.text(content)

    @staticmethod
    def _add_usage(result: AgentResult, prompt: int, completion: int) -> None:
        result.prompt_tokens += prompt
        result.completion_tokens += completion


def _with_valid_arguments(message: dict[str, Any]) -> dict[str, Any]:
    """A copy whose tool-call arguments are valid JSON: some endpoints refuse a history holding the
    model's own malformed arguments. The tool result already tells the model what was wrong."""
    calls = message.get("tool_calls")
    if not calls:
        return message
    fixed = []
    for call in calls:
        arguments = call["function"].get("arguments") or "{}"
        try:
            json.loads(arguments)
        except json.JSONDecodeError:
            arguments = "{}"
        fixed.append({**call, "function": {**call["function"], "arguments": arguments}})
    return {**message, "tool_calls": fixed}


def _loads_or_empty(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}
