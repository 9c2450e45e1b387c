"""The agent loop against the protocol-checking model emulator: tools, errors, budgets, compaction."""

from __future__ import annotations

import asyncio
import re

import pytest

from bot.agent.compaction import SUMMARY_PREFIX, SUMMARY_PROMPT
from bot.agent.llm import ChatModel
from bot.agent.loop import Agent, AgentHooks, Budgets
from bot.errors import BudgetExceededError, ModelError, SkillError
from sim.openai import Reply, ScriptedCall
from skills.base import RunContext, Skill

CTX = RunContext(run_id="r1", channel="C1", thread_ts="1.0", user="U1")
SYSTEM = "You are a test bot."


async def echo(ctx: RunContext, text: str) -> str:
    """Echo the text back."""
    return f"echo: {text}"


async def lookup(ctx: RunContext, key: str) -> str:
    """Look a key up; only 'known' exists."""
    if key != "known":
        raise SkillError(f"no key {key!r}; try 'known'")
    return "value-for-known"


async def big_output(ctx: RunContext) -> str:
    """Return a lot of text."""
    return "lorem ipsum dolor sit amet " * 400


SKILLS = [Skill.of(echo), Skill.of(lookup), Skill.of(big_output)]


@pytest.fixture
async def agent_for():
    made: list[Agent] = []

    def make(settings, **budgets) -> Agent:
        made.append(Agent(model=ChatModel(settings), skills=SKILLS, budgets=Budgets(**budgets)))
        return made[-1]

    yield make
    for agent in made:
        await agent.model.close()


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


async def test_a_plain_answer(model, model_settings, agent_for):
    model.script(Reply.text("Four."))
    result = await agent_for(model_settings).run(SYSTEM, user("2+2?"), CTX)
    assert result.text == "Four." and result.steps == 0
    assert result.messages[-1] == {"role": "assistant", "content": "Four."}
    assert result.prompt_tokens > 0 and result.completion_tokens > 0
    assert model.protocol_errors == []


async def test_tool_round_trip_with_hooks(model, model_settings, agent_for):
    model.script(Reply.tool_call("echo", {"text": "hi"}), Reply.text("The tool said hi."))
    seen = []

    async def on_start(name, args):
        seen.append(("start", name, args))

    async def on_end(record):
        seen.append(("end", record.name, record.ok))

    result = await agent_for(model_settings).run(SYSTEM, user("say hi"), CTX,
                                                 AgentHooks(on_tool_start=on_start, on_tool_end=on_end))
    assert result.text == "The tool said hi." and result.steps == 1 and result.tool_calls == 1
    assert seen == [("start", "echo", {"text": "hi"}), ("end", "echo", True)]
    second = model.requests[1]["messages"]
    assert second[-1]["role"] == "tool" and second[-1]["content"] == "echo: hi"
    assert {t["function"]["name"] for t in model.requests[0]["tools"]} == {"echo", "lookup", "big_output"}
    assert model.protocol_errors == []


async def test_skill_errors_go_back_to_the_model_which_fixes_its_call(model, model_settings, agent_for):
    model.script(Reply.tool_call("lookup", {"key": "wrong"}), Reply.tool_call("lookup", {"key": "known"}),
                 Reply.text("Found it."))
    records = []

    async def on_end(record):
        records.append(record)

    result = await agent_for(model_settings).run(SYSTEM, user("find it"), CTX, AgentHooks(on_tool_end=on_end))
    assert result.text == "Found it."
    assert model.requests[1]["messages"][-1]["content"] == "Error: no key 'wrong'; try 'known'"
    assert [(r.ok, r.error) for r in records] == [(False, "no key 'wrong'; try 'known'"), (True, None)]


async def test_malformed_arguments_are_an_error_result_and_the_history_stays_valid(model, model_settings, agent_for):
    model.script(Reply.tool_calls(ScriptedCall.of("echo", '{"text": "unterminated')), Reply.text("Sorry."))
    result = await agent_for(model_settings).run(SYSTEM, user("go"), CTX)
    assert result.text == "Sorry."
    assert model.requests[1]["messages"][-1]["content"].startswith("Error: arguments are not valid JSON")
    assert model.protocol_errors == []


async def test_a_model_that_never_stops_calling_tools_is_stopped_by_the_step_budget(model, model_settings, agent_for):
    def never_done(request):
        if request.get("tool_choice") == "none":
            return Reply.text("Here is what I have so far.")
        return Reply.tool_call("echo", {"text": "again"})

    model.default = never_done
    result = await agent_for(model_settings, max_steps=3).run(SYSTEM, user("loop"), CTX)
    assert result.stopped_by_steps and result.steps == 3 and result.text == "Here is what I have so far."
    assert len(model.requests) == 4
    assert "used all 3 tool steps" in model.requests[-1]["messages"][-1]["content"]
    assert model.protocol_errors == []


async def test_the_token_budget_is_a_hard_stop(model, model_settings, agent_for):
    model.default = lambda request: Reply.tool_call("big_output")
    with pytest.raises(BudgetExceededError, match="token budget"):
        await agent_for(model_settings, max_tokens=3_000, context_tokens=100_000).run(SYSTEM, user("go"), CTX)
    assert 1 < len(model.requests) < 10


async def test_long_runs_are_compacted_and_continue(model, model_settings, agent_for):
    summaries, steps = [], []

    def respond(request):
        if request["messages"][0]["content"] == SUMMARY_PROMPT:
            summaries.append(request)
            return Reply.text("Earlier: the user asked for output; big_output was called several times.")
        steps.append(request)
        return Reply.text("Done.") if len(steps) > 5 else Reply.tool_call("big_output")

    model.default = respond
    result = await agent_for(model_settings, context_tokens=4_000).run(SYSTEM, user("lots"), CTX)
    assert result.text == "Done." and result.compacted
    assert summaries, "the model was asked to summarise"
    limit = int(4_000 * 0.75)
    from bot.agent.tokens import count_messages, count_tools

    for request in model.requests:
        if request["messages"][0]["content"] != SUMMARY_PROMPT:
            assert count_messages(request["messages"]) + count_tools(request.get("tools", [])) <= limit + 50
    assert any(SUMMARY_PREFIX in (m.get("content") or "") for m in result.messages)
    assert model.protocol_errors == []


async def test_context_length_error_from_the_endpoint_forces_compaction(model, model_settings, agent_for):
    history = [{"role": "user", "content": f"message {i} " + "x" * 200} for i in range(10)]
    model.script(Reply.error(400, code="context_length_exceeded", message="This model's maximum context length is 10"),
                 Reply.text("summary of the old messages"), Reply.text("Answer after compaction."))
    result = await agent_for(model_settings).run(SYSTEM, history, CTX)
    assert result.text == "Answer after compaction."
    assert model.requests[1]["messages"][0]["content"] == SUMMARY_PROMPT


@pytest.mark.parametrize(("reply", "message", "retryable"), [
    (Reply.error(401), "rejected the API key (HTTP 401)", False),
    (Reply.error(500), "failed (HTTP 500)", True),
    (Reply.error(429, retry_after=0), "rate limiting", True),
])
async def test_endpoint_errors_become_clear_model_errors(model, model_settings, reply, message, retryable, agent_for):
    model.script(reply)
    with pytest.raises(ModelError, match=re.escape(message)) as caught:
        await agent_for(model_settings).run(SYSTEM, user("hi"), CTX)
    assert caught.value.retryable is retryable


async def test_an_unknown_model_is_named(model, model_settings, agent_for):
    with pytest.raises(ModelError, match="`gpt-nope` was not found") as caught:
        await agent_for(model_settings.replace(model="gpt-nope")).run(SYSTEM, user("hi"), CTX)
    assert not caught.value.retryable


async def test_a_silent_endpoint_times_out_with_the_exact_message(model, model_settings, agent_for):
    model.script(Reply.hang())
    with pytest.raises(ModelError, match=r"^The model endpoint did not answer in 0.5 s\.$"):
        await agent_for(model_settings.replace(model_timeout=0.5)).run(SYSTEM, user("hi"), CTX)


async def test_an_unreachable_endpoint(model_settings, agent_for):
    settings = model_settings.replace(openai_base_url="http://127.0.0.1:9/v1")
    with pytest.raises(ModelError, match=re.escape("Could not reach the model endpoint at `127.0.0.1:9`")):
        await agent_for(settings).run(SYSTEM, user("hi"), CTX)


async def test_text_streams_in_pieces_and_falls_back_when_the_endpoint_cannot_stream(model, model_settings, agent_for):
    pieces: list[str] = []

    async def on_text(delta):
        pieces.append(delta)

    long_answer = "This answer arrives in several streamed pieces, not all at once."
    model.script(Reply.text(long_answer))
    await agent_for(model_settings).run(SYSTEM, user("hi"), CTX, AgentHooks(on_text=on_text))
    assert len(pieces) > 1 and "".join(pieces) == long_answer

    model.streaming_supported = False
    model.script(Reply.text("plain"), Reply.text("still plain"))
    pieces.clear()
    agent = agent_for(model_settings)
    await agent.run(SYSTEM, user("hi"), CTX, AgentHooks(on_text=on_text))
    assert pieces == ["plain"] and agent.model.streaming is False
    await agent.run(SYSTEM, user("again"), CTX)  # no second stream attempt
    assert model.requests[-1].get("stream") in (None, False)


async def test_reads_run_together_and_a_mutating_call_runs_alone_in_order(model, model_settings):
    running: set[str] = set()
    seen: list[tuple[str, frozenset[str]]] = []  # (call starting, calls already running then)

    async def peek(ctx: RunContext, key: str) -> str:
        """Read something slowly."""
        seen.append((f"peek {key}", frozenset(running)))
        running.add(f"peek {key}")
        await asyncio.sleep(0.05)
        running.discard(f"peek {key}")
        return f"peeked {key}"

    async def poke(ctx: RunContext, key: str) -> str:
        """Change something slowly."""
        seen.append((f"poke {key}", frozenset(running)))
        running.add(f"poke {key}")
        await asyncio.sleep(0.05)
        running.discard(f"poke {key}")
        return f"poked {key}"

    agent = Agent(model=ChatModel(model_settings), skills=[Skill.of(peek), Skill.of(poke, mutates=True)])
    model.script(Reply.tool_calls(("peek", {"key": "a"}), ("peek", {"key": "b"}), ("poke", {"key": "c"}),
                                  ("poke", {"key": "d"}), ("peek", {"key": "e"})),
                 Reply.text("Done."))
    records = []

    async def ended(record):
        records.append(record)

    try:
        result = await agent.run(SYSTEM, user("go"), CTX, AgentHooks(on_tool_end=ended))
    finally:
        await agent.model.close()
    assert result.text == "Done."
    assert seen == [("peek a", frozenset()), ("peek b", frozenset({"peek a"})), ("poke c", frozenset()),
                    ("poke d", frozenset()), ("peek e", frozenset())]
    tool_results = [m["content"] for m in model.requests[-1]["messages"] if m["role"] == "tool"]
    assert tool_results == ["peeked a", "peeked b", "poked c", "poked d", "peeked e"]  # answers in call order
    assert {r.name: r.mutates for r in records} == {"peek": False, "poke": True}


def test_a_skill_declares_its_needs_and_is_offered_only_where_they_are_met():
    async def rows(ctx: RunContext) -> str:
        """Read rows."""
        return ""

    skill = Skill.of(rows, needs={"data"})
    assert skill.offered({"data", "repos"}, read_only=False) and not skill.offered({"repos"}, read_only=False)
    mutating = Skill.of(rows, needs={"data"}, mutates=True)
    assert mutating.offered({"data"}, read_only=False) and not mutating.offered({"data"}, read_only=True)
    with pytest.raises(TypeError, match="unknown needs"):
        Skill.of(rows, needs={"database"})
