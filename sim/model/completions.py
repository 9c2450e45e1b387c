"""Turn a scripted `Reply` into the real API's response shapes: a `chat.completion` object, or the
`chat.completion.chunk` objects of a stream.

Token counts are an estimate, documented here and nowhere else: ceil(characters / 4) of the JSON
of `messages` (+ `tools`) for the prompt, and of the text plus each call's name and arguments for
the completion. Streams split text and arguments into pieces of `PIECE_CHARS` characters so that
the client's reassembly code is exercised.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

from sim.model.replies import Reply, ScriptedCall

PIECE_CHARS = 20
SYSTEM_FINGERPRINT = "fp_sim"


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def usage(request: dict[str, Any], reply: Reply) -> dict[str, Any]:
    prompt_text = json.dumps(request["messages"]) + (
        json.dumps(request["tools"]) if request.get("tools") else ""
    )
    output_text = (reply.content or "") + "".join(call.name + call.arguments for call in reply.calls)
    prompt, completion = estimate_tokens(prompt_text), estimate_tokens(output_text)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def completion(
    request: dict[str, Any], reply: Reply, *, completion_id: str, created: int, with_usage: bool
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": reply.content,
        "refusal": None,
        "annotations": [],
    }
    if reply.calls:
        message["tool_calls"] = [call.as_message_part() for call in reply.calls]
    body: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": request["model"],
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": reply.resolved_finish_reason}
        ],
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }
    if with_usage:
        body["usage"] = usage(request, reply)
    return body


def chunks(
    request: dict[str, Any], reply: Reply, *, completion_id: str, created: int, with_usage: bool
) -> Iterator[dict[str, Any]]:
    """The stream's chunks in order; the usage chunk comes last when `stream_options.include_usage`."""
    include_usage = with_usage and bool((request.get("stream_options") or {}).get("include_usage"))
    head = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": request["model"],
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }
    if include_usage:
        head["usage"] = None

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return {**head, "choices": [choice]}

    calls = list(enumerate(reply.calls))
    if reply.content is None and calls:
        # A tool-only answer starts, as the real one does, with the first call's header in the role chunk.
        index, call = calls[0]
        yield chunk(
            {"role": "assistant", "content": None, "refusal": None, "tool_calls": [_call_header(index, call)]}
        )
        yield from (chunk({"tool_calls": [part]}) for part in _argument_parts(index, call))
        calls = calls[1:]
    else:
        yield chunk({"role": "assistant", "content": "", "refusal": None})
        for piece in _pieces(reply.content or ""):
            yield chunk({"content": piece})
    for index, call in calls:
        yield chunk({"tool_calls": [_call_header(index, call)]})
        yield from (chunk({"tool_calls": [part]}) for part in _argument_parts(index, call))
    yield chunk({}, reply.resolved_finish_reason)
    if include_usage:
        yield {**head, "choices": [], "usage": usage(request, reply)}


def _call_header(index: int, call: ScriptedCall) -> dict[str, Any]:
    return {
        "index": index,
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": ""},
    }


def _argument_parts(index: int, call: ScriptedCall) -> Iterator[dict[str, Any]]:
    for piece in _pieces(call.arguments):
        yield {"index": index, "function": {"arguments": piece}}


def _pieces(text: str) -> list[str]:
    return [text[start : start + PIECE_CHARS] for start in range(0, len(text), PIECE_CHARS)]
