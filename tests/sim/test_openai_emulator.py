"""The model emulator, driven by the real `openai.AsyncOpenAI` client over real local HTTP."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import aiohttp
import openai
import pytest
from openai.types.chat import completion_create_params

from sim.model.validation import KNOWN_FIELDS
from sim.openai import ModelEmulator, Reply

MODEL = "sim-model"
KEY = "sk-sim"
SEARCH = {
    "type": "function",
    "function": {
        "name": "search_code",
        "description": "Search the repo.",
        "parameters": {
            "type": "object",
            "properties": {"pattern": {"type": "string"}},
            "required": ["pattern"],
        },
    },
}
READ = {
    "type": "function",
    "function": {"name": "read_file", "parameters": {"type": "object", "properties": {}}},
}
GIT_LOG = {"type": "function", "function": {"name": "git_log", "description": "Recent commits."}}
ASK = [{"role": "user", "content": "Where do we retry?"}]


@pytest.fixture
async def model():
    emulator = ModelEmulator(api_key=KEY, models=(MODEL,))
    await emulator.start(host="127.0.0.1", port=0)
    yield emulator
    await emulator.stop()


def client_for(
    model: ModelEmulator, *, key: str = KEY, max_retries: int = 0, timeout: float = 5
) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=model.base_url, api_key=key, max_retries=max_retries, timeout=timeout)


@pytest.fixture
async def client(model):
    async with client_for(model) as c:
        yield c


async def test_text_reply(model, client):
    model.script(Reply.text("The answer is **4**."))
    response = await client.chat.completions.create(model=MODEL, messages=ASK)
    choice = response.choices[0]
    assert (choice.message.content, choice.finish_reason) == ("The answer is **4**.", "stop")
    assert choice.message.tool_calls is None and response.id.startswith("chatcmpl-")
    assert (response.object, response.model) == ("chat.completion", MODEL)
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens > 0
    assert model.requests == [{"model": MODEL, "messages": ASK}]
    assert model.protocol_errors == [] and model.replies_left == 0


async def test_tool_call_round_trip_accepts_the_message_sent_back(model, client):
    model.script(Reply.tool_call("search_code", {"pattern": "retry"}), Reply.text("In llm.py."))
    first = await client.chat.completions.create(model=MODEL, messages=ASK, tools=[SEARCH])
    message = first.choices[0].message
    assert first.choices[0].finish_reason == "tool_calls" and message.content is None
    [call] = message.tool_calls
    assert call.id.startswith("call_") and call.function.name == "search_code"
    assert json.loads(call.function.arguments) == {"pattern": "retry"}

    # The response message object itself goes back, as in OpenAI's function-calling guide.
    history = [*ASK, message, {"role": "tool", "tool_call_id": call.id, "content": "bot/llm.py:12: retries"}]
    second = await client.chat.completions.create(model=MODEL, messages=history, tools=[SEARCH])
    assert second.choices[0].message.content == "In llm.py."
    assert model.requests[1]["messages"][1]["tool_calls"][0]["id"] == call.id
    assert model.protocol_errors == []


async def test_parallel_tool_calls_and_text_with_calls(model, client):
    model.script(
        Reply.tool_calls(("read_file", {"path": "a.py"}), ("git_log", {})),
        Reply.text("Let me look.", tool_calls=[("search_code", {"pattern": "x"})]),
        Reply.text("Done."),
    )
    tools = [SEARCH, READ, GIT_LOG]
    first = (await client.chat.completions.create(model=MODEL, messages=ASK, tools=tools)).choices[0].message
    assert [c.function.name for c in first.tool_calls] == ["read_file", "git_log"]
    assert len({c.id for c in first.tool_calls}) == 2
    history = [
        *ASK,
        first,
        *({"role": "tool", "tool_call_id": c.id, "content": "ok"} for c in first.tool_calls),
    ]
    second = (await client.chat.completions.create(model=MODEL, messages=history, tools=tools)).choices[0]
    assert second.message.content == "Let me look." and second.finish_reason == "tool_calls"
    history += [
        second.message,
        {"role": "tool", "tool_call_id": second.message.tool_calls[0].id, "content": "none"},
    ]
    third = await client.chat.completions.create(model=MODEL, messages=history, tools=tools)
    assert third.choices[0].message.content == "Done."
    assert model.protocol_errors == []


async def test_streaming_text_in_pieces_with_usage_chunk(model, client):
    text = "Retries live in bot/llm.py; the client honours Retry-After and backs off on 5xx."
    model.script(Reply.text(text), Reply.text(text))
    stream = await client.chat.completions.create(
        model=MODEL, messages=ASK, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert deltas[0].role == "assistant" and deltas[0].content == ""
    pieces = [d.content for d in deltas if d.content]
    assert len(pieces) >= 4 and "".join(pieces) == text
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == [] and usage_chunk.usage.completion_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])

    plain = await client.chat.completions.create(model=MODEL, messages=ASK, stream=True)
    assert all(c.usage is None and c.choices for c in [chunk async for chunk in plain])


async def test_streaming_tool_calls_reassemble_with_the_sdk_helper(model, client):
    model.script(
        Reply.tool_calls(("search_code", {"pattern": "a fairly long pattern to split"}), ("git_log", {})),
        Reply.text("Checking.", tool_calls=[("read_file", {"path": "bot/llm.py"})]),
    )
    async with client.chat.completions.stream(model=MODEL, messages=ASK, tools=[SEARCH, GIT_LOG]) as stream:
        final = await stream.get_final_completion()
    message = final.choices[0].message
    assert final.choices[0].finish_reason == "tool_calls" and message.content is None
    assert [(c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls] == [
        ("search_code", {"pattern": "a fairly long pattern to split"}),
        ("git_log", {}),
    ]

    raw = await client.chat.completions.create(model=MODEL, messages=ASK, tools=[READ], stream=True)
    chunks = [chunk async for chunk in raw]
    fragments = [f for c in chunks for f in c.choices[0].delta.tool_calls or ()]
    assert (
        fragments[0].id
        and fragments[0].function.name == "read_file"
        and fragments[0].function.arguments == ""
    )
    assert len(fragments) >= 3 and all(f.id is None for f in fragments[1:])
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Checking."
    assert json.loads("".join(f.function.arguments for f in fragments)) == {"path": "bot/llm.py"}
    assert model.protocol_errors == []


async def test_raw_stream_is_server_sent_events_ending_in_done(model):
    model.script(Reply.text("x" * 60, chunk_delay=0.02))
    body = {"model": MODEL, "messages": ASK, "stream": True}
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {KEY}"}) as session:
        started = time.monotonic()
        async with session.post(f"{model.base_url}/chat/completions", json=body) as response:
            assert response.headers["Content-Type"].startswith("text/event-stream")
            assert response.headers["x-request-id"].startswith("req_")
            raw = (await response.read()).decode()
        elapsed = time.monotonic() - started
    events = raw.split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""] and all(e.startswith("data: {") for e in events[:-2])
    assert elapsed >= 0.02 * (len(events) - 3)  # chunk_delay spaces the chunks out


async def test_wrong_key_and_unknown_model(model):
    model.script(Reply.text("never sent"))
    async with client_for(model, key="sk-wrong-key-123") as bad:
        with pytest.raises(openai.AuthenticationError) as denied:
            await bad.chat.completions.create(model=MODEL, messages=ASK)
        with pytest.raises(openai.AuthenticationError):
            await bad.models.list()
    assert denied.value.code == "invalid_api_key" and "Incorrect API key provided" in denied.value.message
    async with client_for(model) as good:
        assert [m.id for m in (await good.models.list()).data] == [MODEL]
        with pytest.raises(openai.NotFoundError) as missing:
            await good.chat.completions.create(model="gpt-nope", messages=ASK)
    assert missing.value.code == "model_not_found" and "`gpt-nope` does not exist" in missing.value.message
    assert model.requests == [] and model.replies_left == 1


async def test_no_auth_check_when_key_is_none():
    async with ModelEmulator(api_key=None) as open_model, client_for(open_model, key="anything") as c:
        open_model.default = lambda request: Reply.text(f"you said {request['messages'][-1]['content']}")
        response = await c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert response.choices[0].message.content == "you said hi"


async def test_rate_limit_is_retried_after_retry_after(model):
    model.script(Reply.error(429, retry_after=0.8), Reply.text("after the wait"))
    async with client_for(model, max_retries=1) as c:
        started = time.monotonic()
        response = await c.chat.completions.create(model=MODEL, messages=ASK)
        elapsed = time.monotonic() - started
    assert response.choices[0].message.content == "after the wait"
    assert 0.75 <= elapsed < 5  # the client's own backoff would be <= 0.5 s
    assert len(model.requests) == 2 and model.protocol_errors == []


async def test_rate_limit_error_shape(model, client):
    model.script(Reply.error(429, retry_after=2))
    with pytest.raises(openai.RateLimitError) as limited:
        await client.chat.completions.create(model=MODEL, messages=ASK)
    assert limited.value.code == "rate_limit_exceeded" and limited.value.type == "requests"
    assert limited.value.response.headers["retry-after"] == "2"


async def test_server_error_after_retries(model):
    model.script(Reply.error(500, retry_after=0.05), Reply.error(500, retry_after=0.05))
    async with client_for(model, max_retries=1) as c:
        with pytest.raises(openai.InternalServerError) as failed:
            await c.chat.completions.create(model=MODEL, messages=ASK)
    assert failed.value.type == "server_error" and "server had an error" in failed.value.message
    assert len(model.requests) == 2 and model.replies_left == 0 and model.protocol_errors == []


async def test_scripted_bad_request_is_not_a_protocol_error(model, client):
    too_long_message = "This model's maximum context length is 8192 tokens."
    model.script(Reply.error(400, code="context_length_exceeded", message=too_long_message))
    with pytest.raises(openai.BadRequestError) as too_long:
        await client.chat.completions.create(model=MODEL, messages=ASK)
    assert too_long.value.code == "context_length_exceeded" and model.protocol_errors == []


async def test_hang_times_out_on_the_client(model):
    model.script(Reply.hang(), Reply.text("still alive"))
    async with client_for(model, timeout=0.5) as c:
        with pytest.raises(openai.APITimeoutError):
            await c.chat.completions.create(model=MODEL, messages=ASK)
        response = await c.chat.completions.create(model=MODEL, messages=ASK)
    assert response.choices[0].message.content == "still alive"


CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "search_code", "arguments": '{"pattern": "x"}'},
}
CALL_2 = {**CALL, "id": "call_2"}
VIOLATIONS = {
    "missing tool response": (
        {
            "messages": [
                *ASK,
                {"role": "assistant", "tool_calls": [CALL, CALL_2]},
                {"role": "tool", "tool_call_id": "call_1", "content": "a"},
                {"role": "user", "content": "?"},
            ],
            "tools": [SEARCH],
        },
        "The following tool_call_ids did not have response messages: call_2",
    ),
    "tool message without a preceding tool call": (
        {"messages": [*ASK, {"role": "tool", "tool_call_id": "call_1", "content": "a"}]},
        "messages with role 'tool' must be a response to a preceeding message with 'tool_calls'",
    ),
    "tool message answering an unknown call": (
        {
            "messages": [
                *ASK,
                {"role": "assistant", "tool_calls": [CALL]},
                {"role": "tool", "tool_call_id": "call_9", "content": "a"},
            ],
            "tools": [SEARCH],
        },
        "'tool_call_id' of 'call_9' not found",
    ),
    "unknown top-level field": (
        {"messages": ASK, "temprature": 0.2},
        "Unrecognized request argument supplied: temprature",
    ),
    "unknown tool in tool_choice": (
        {
            "messages": ASK,
            "tools": [SEARCH],
            "tool_choice": {"type": "function", "function": {"name": "deploy"}},
        },
        'function "deploy" is not among the functions',
    ),
    "bad tool name": (
        {"messages": ASK, "tools": [{"type": "function", "function": {"name": "search code"}}]},
        "string does not match pattern",
    ),
    "duplicate tool names": (
        {"messages": ASK, "tools": [SEARCH, SEARCH]},
        "duplicate function name 'search_code'",
    ),
    "function role": ({"messages": [{"role": "function", "name": "f", "content": "x"}]}, "role 'function'"),
    "empty messages": ({"messages": []}, "empty array"),
    "unknown key in a message": (
        {"messages": [{"role": "user", "content": "hi", "ts": 1}]},
        "'messages[0].ts'",
    ),
    "strict schema left open": (
        {
            "messages": ASK,
            "tools": [{"type": "function", "function": {**SEARCH["function"], "strict": True}}],
        },
        "'additionalProperties' is required to be supplied and to be false",
    ),
}


@pytest.mark.parametrize("case", list(VIOLATIONS))
async def test_protocol_violations_get_a_400_and_are_recorded(model, client, case):
    request, expected = VIOLATIONS[case]
    model.script(Reply.text("unused"))
    fields = {k: v for k, v in request.items() if k in ("messages", "tools", "tool_choice")}
    extra = {k: v for k, v in request.items() if k not in fields}
    with pytest.raises(openai.BadRequestError) as rejected:
        await client.chat.completions.create(model=MODEL, **fields, extra_body=extra or None)
    assert expected in rejected.value.message
    assert rejected.value.type == "invalid_request_error"
    assert len(model.protocol_errors) == 1 and expected in model.protocol_errors[0]
    assert model.requests == [] and model.replies_left == 1  # validation comes before the script


async def test_streaming_unsupported(model, client):
    model.streaming_supported = False
    model.script(Reply.text("plain"))
    with pytest.raises(openai.BadRequestError) as rejected:
        await client.chat.completions.create(model=MODEL, messages=ASK, stream=True)
    assert rejected.value.param == "stream" and rejected.value.code == "unsupported_parameter"
    assert "stream is not supported" in rejected.value.message
    response = await client.chat.completions.create(model=MODEL, messages=ASK)
    assert response.choices[0].message.content == "plain"


async def test_usage_can_be_left_out(model, client):
    model.usage_reported = False
    model.script(Reply.text("a"), Reply.text("b"))
    assert (await client.chat.completions.create(model=MODEL, messages=ASK)).usage is None
    stream = await client.chat.completions.create(
        model=MODEL, messages=ASK, stream=True, stream_options={"include_usage": True}
    )
    assert all(c.usage is None and c.choices for c in [chunk async for chunk in stream])


async def test_empty_script_fails_loudly_without_retries(model):
    async with client_for(model, max_retries=2) as c:
        with pytest.raises(openai.InternalServerError) as failed:
            await c.chat.completions.create(model=MODEL, messages=ASK)
    assert failed.value.body["message"] == "sim: no scripted reply left"
    assert len(model.requests) == 1 and len(model.protocol_errors) == 1
    assert model.protocol_errors[0].startswith("sim: no scripted reply left")


@pytest.mark.parametrize(
    ("request_tools", "expected"),
    [
        ({}, "is not among the request's tools"),
        ({"tools": [GIT_LOG]}, "is not among the request's tools"),
        ({"tools": [SEARCH], "tool_choice": "none"}, "tool_choice is 'none'"),
        ({"tools": [SEARCH, GIT_LOG], "parallel_tool_calls": False}, "parallel_tool_calls=false"),
    ],
)
async def test_scripted_tool_call_must_fit_the_request(
    model, client, request_tools: dict[str, Any], expected
):
    model.script(Reply.tool_calls(("search_code", {"pattern": "x"}), ("git_log", {})))
    with pytest.raises(openai.InternalServerError) as failed:
        await client.chat.completions.create(model=MODEL, messages=ASK, **request_tools)
    assert expected in failed.value.message
    assert len(model.protocol_errors) == 1 and expected in model.protocol_errors[0]


async def test_a_forced_function_is_called_with_finish_reason_stop(model, client):
    model.script(Reply.tool_call("search_code", {"pattern": "x"}), Reply.text("no call"))
    forced: Any = {"type": "function", "function": {"name": "search_code"}}
    response = await client.chat.completions.create(
        model=MODEL, messages=ASK, tools=[SEARCH], tool_choice=forced
    )
    assert response.choices[0].finish_reason == "stop" and response.choices[0].message.tool_calls
    with pytest.raises(openai.InternalServerError, match="forces one call to 'search_code'"):
        await client.chat.completions.create(model=MODEL, messages=ASK, tools=[SEARCH], tool_choice=forced)


async def test_a_raising_callable_consumes_its_item(model, client):
    model.script(lambda request: 1 / 0, Reply.text("next"))
    with pytest.raises(openai.InternalServerError) as failed:
        await client.chat.completions.create(model=MODEL, messages=ASK)
    assert "ZeroDivisionError" in failed.value.message and len(model.protocol_errors) == 1
    retried = await client.chat.completions.create(model=MODEL, messages=ASK)
    assert retried.choices[0].message.content == "next"


async def test_concurrent_calls_are_counted(model, client):
    release = asyncio.Event()

    async def held_until_released(request: dict[str, Any]) -> Reply:
        await release.wait()
        return Reply.text("ok")

    model.default = held_until_released
    with pytest.raises(TimeoutError):
        await model.wait_for_requests(1, timeout=0.01)
    calls = asyncio.gather(*(client.chat.completions.create(model=MODEL, messages=ASK) for _ in range(3)))
    assert len(await model.wait_for_requests(3)) == 3
    assert model.calls_in_flight == 3
    release.set()
    assert [r.choices[0].message.content for r in await calls] == ["ok"] * 3
    assert model.max_calls_in_flight == 3 and model.calls_in_flight == 0


async def test_unknown_route_is_a_json_404(model):
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{model.base_url}/completions", json={}) as response,
    ):
        assert response.status == 404
        assert (await response.json())["error"]["message"] == "Invalid URL (POST /v1/completions)"


def test_every_sdk_request_field_is_known():
    sdk_fields = set(completion_create_params.CompletionCreateParamsStreaming.__annotations__)
    sdk_fields |= set(completion_create_params.CompletionCreateParamsBase.__annotations__)
    assert sdk_fields <= KNOWN_FIELDS, sorted(sdk_fields - KNOWN_FIELDS)


async def test_standalone_server_answers_every_request():
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sim.openai", "--port", "0", "--text", "hello from sim", "--reply-delay", "0.05",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        line = await asyncio.wait_for(process.stdout.readline(), timeout=10)
        base_url = json.loads(line)["base_url"]
        async with openai.AsyncOpenAI(base_url=base_url, api_key="unused", max_retries=0) as c:
            response = await c.chat.completions.create(model=MODEL, messages=ASK)
        assert response.choices[0].message.content == "hello from sim"
    finally:
        process.terminate()
        await process.wait()
