"""Checks on `messages`, worded and placed (`param`) like the real Chat Completions API's 400s.

The rule that matters most for an agent loop: every `tool` message answers a tool call of the
nearest preceding assistant message, each call is answered exactly once, and all calls are
answered before the next non-tool message.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sim.model.errors import InvalidRequest

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
TOOL_NAME_MAX = 64

_KEYS_BY_ROLE: dict[str, frozenset[str]] = {
    "system": frozenset({"role", "content", "name"}),
    "developer": frozenset({"role", "content", "name"}),
    "user": frozenset({"role", "content", "name"}),
    # "annotations" comes back when a client returns the response message object as it is.
    "assistant": frozenset(
        {"role", "content", "name", "refusal", "tool_calls", "audio", "function_call", "annotations"}
    ),
    "tool": frozenset({"role", "content", "tool_call_id"}),
}
_PART_TYPES_BY_ROLE: dict[str, frozenset[str]] = {
    "system": frozenset({"text"}),
    "developer": frozenset({"text"}),
    "tool": frozenset({"text"}),
    "user": frozenset({"text", "image_url", "input_audio", "file"}),
    "assistant": frozenset({"text", "refusal"}),
}


def describe(value: Any) -> str:
    """The real API's way of naming a JSON type in 'but got … instead'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def wrong_type(param: str, expected: str, value: Any) -> InvalidRequest:
    return InvalidRequest(
        f"Invalid type for '{param}': expected {expected}, but got {describe(value)} instead.",
        param=param,
        code="invalid_type",
    )


def missing(param: str) -> InvalidRequest:
    return InvalidRequest(
        f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
    )


def unknown(param: str) -> InvalidRequest:
    return InvalidRequest(f"Unknown parameter: '{param}'.", param=param, code="unknown_parameter")


def empty_array(param: str) -> InvalidRequest:
    return InvalidRequest(
        f"Invalid '{param}': empty array. Expected an array with minimum length 1, but got an empty array instead.",
        param=param,
        code="empty_array",
    )


def not_emulated(param: str, what: str) -> InvalidRequest:
    return InvalidRequest(f"sim: {what} is not emulated", param=param, code="unsupported_parameter")


def check_tool_name(name: Any, param: str) -> None:
    if not isinstance(name, str):
        raise wrong_type(param, "a string", name)
    if len(name) > TOOL_NAME_MAX:
        raise InvalidRequest(
            f"Invalid '{param}': string too long. Expected a string with maximum length {TOOL_NAME_MAX}, "
            f"but got a string with length {len(name)} instead.",
            param=param,
            code="string_above_max_length",
        )
    if not TOOL_NAME.match(name):
        raise InvalidRequest(
            f"Invalid '{param}': string does not match pattern. "
            f"Expected a string that matches the pattern '{TOOL_NAME.pattern}'.",
            param=param,
            code="invalid_value",
        )


def check_messages(messages: Any) -> None:
    if messages is None:
        raise missing("messages")
    if not isinstance(messages, list):
        raise wrong_type("messages", "an array", messages)
    if not messages:
        raise empty_array("messages")
    for index, message in enumerate(messages):
        _check_message(index, message)
    _check_tool_answers(messages)


def _check_message(index: int, message: Any) -> None:
    where = f"messages[{index}]"
    if not isinstance(message, dict):
        raise wrong_type(where, "an object", message)
    role = message.get("role")
    if role is None:
        raise missing(f"{where}.role")
    if role == "function":
        raise not_emulated(f"{where}.role", "role 'function' (legacy function calling; use tools)")
    if role not in _KEYS_BY_ROLE:
        raise InvalidRequest(
            f"Invalid value: {json.dumps(role)}. Supported values are: "
            "'system', 'assistant', 'user', 'tool', and 'developer'.",
            param=f"{where}.role",
            code="invalid_value",
        )
    for key in message:
        if key not in _KEYS_BY_ROLE[role]:
            raise unknown(f"{where}.{key}")
    if "name" in message and not isinstance(message["name"], str):
        raise wrong_type(f"{where}.name", "a string", message["name"])
    if role == "assistant":
        _check_assistant(index, message)
        return
    if "content" not in message:
        raise missing(f"{where}.content")
    _check_content(f"{where}.content", message["content"], role)
    if role == "tool":
        call_id = message.get("tool_call_id")
        if call_id is None:
            raise missing(f"{where}.tool_call_id")
        if not isinstance(call_id, str):
            raise wrong_type(f"{where}.tool_call_id", "a string", call_id)


def _check_content(param: str, content: Any, role: str) -> None:
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise wrong_type(param, "one of a string or array of objects", content)
    if not content:
        raise empty_array(param)
    allowed = _PART_TYPES_BY_ROLE[role]
    for index, part in enumerate(content):
        where = f"{param}[{index}]"
        if not isinstance(part, dict):
            raise wrong_type(where, "an object", part)
        kind = part.get("type")
        if kind is None:
            raise missing(f"{where}.type")
        if kind not in allowed:
            supported = ", ".join(f"'{t}'" for t in sorted(allowed))
            raise InvalidRequest(
                f"Invalid value: {json.dumps(kind)}. Supported values are: {supported}.",
                param=f"{where}.type",
                code="invalid_value",
            )
        for key in part:
            if key not in ("type", kind, "prompt_cache_breakpoint"):
                raise unknown(f"{where}.{key}")
        if kind not in part:
            raise missing(f"{where}.{kind}")
        payload = part[kind]
        if kind in ("text", "refusal") and not isinstance(payload, str):
            raise wrong_type(f"{where}.{kind}", "a string", payload)
        if kind not in ("text", "refusal") and not isinstance(payload, dict):
            raise wrong_type(f"{where}.{kind}", "an object", payload)


def _check_assistant(index: int, message: dict[str, Any]) -> None:
    where = f"messages[{index}]"
    if message.get("function_call") is not None:
        raise not_emulated(f"{where}.function_call", "legacy 'function_call' (use tool_calls)")
    if "refusal" in message and message["refusal"] is not None and not isinstance(message["refusal"], str):
        raise wrong_type(f"{where}.refusal", "a string", message["refusal"])
    calls = message.get("tool_calls")
    content = message.get("content")
    if content is None:
        if calls is None and message.get("audio") is None and message.get("refusal") is None:
            raise InvalidRequest(
                "Invalid value for 'content': expected a string, got null.",
                param=f"messages.[{index}].content",
            )
    else:
        _check_content(f"{where}.content", content, "assistant")
    if calls is None:
        return
    if not isinstance(calls, list):
        raise wrong_type(f"{where}.tool_calls", "an array", calls)
    if not calls:
        raise empty_array(f"{where}.tool_calls")
    seen: set[str] = set()
    for position, call in enumerate(calls):
        call_id = _check_call(f"{where}.tool_calls[{position}]", call)
        if call_id in seen:
            raise InvalidRequest(
                f"Invalid '{where}.tool_calls': duplicate tool call id '{call_id}'.",
                param=f"{where}.tool_calls[{position}].id",
                code="invalid_value",
            )
        seen.add(call_id)


def _check_call(where: str, call: Any) -> str:
    if not isinstance(call, dict):
        raise wrong_type(where, "an object", call)
    for key in call:
        if key not in ("id", "type", "function", "custom"):
            raise unknown(f"{where}.{key}")
    for key in ("id", "type"):
        if key not in call:
            raise missing(f"{where}.{key}")
    if call["type"] == "custom":
        raise not_emulated(f"{where}.type", "custom tool calls")
    if call["type"] != "function":
        raise InvalidRequest(
            f"Invalid value: {json.dumps(call['type'])}. Supported values are: 'function' and 'custom'.",
            param=f"{where}.type",
            code="invalid_value",
        )
    if "custom" in call:
        raise unknown(f"{where}.custom")
    if not isinstance(call["id"], str):
        raise wrong_type(f"{where}.id", "a string", call["id"])
    function = call.get("function")
    if function is None:
        raise missing(f"{where}.function")
    if not isinstance(function, dict):
        raise wrong_type(f"{where}.function", "an object", function)
    for key in function:
        if key not in ("name", "arguments"):
            raise unknown(f"{where}.function.{key}")
    for key in ("name", "arguments"):
        if key not in function:
            raise missing(f"{where}.function.{key}")
    check_tool_name(function["name"], f"{where}.function.name")
    arguments = function["arguments"]
    if not isinstance(arguments, str):
        raise wrong_type(f"{where}.function.arguments", "a string", arguments)
    try:
        json.loads(arguments)
    except ValueError as exc:
        raise InvalidRequest(
            f"Invalid '{where}.function.arguments': expected a string of JSON ({exc}).",
            param=f"{where}.function.arguments",
            code="invalid_value",
        ) from None
    return call["id"]


def _check_tool_answers(messages: list[dict[str, Any]]) -> None:
    """Every tool message answers a call of the nearest assistant message before it, each exactly once."""
    opener: int | None = None  # index of the assistant message whose calls are being answered
    answered: dict[str, int | None] = {}  # call id -> index of the tool message answering it
    for index, message in enumerate(messages):
        if message["role"] == "tool":
            if opener is None:
                raise InvalidRequest(
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding "
                    "message with 'tool_calls'.",
                    param=f"messages.[{index}].role",
                )
            call_id = message["tool_call_id"]
            if call_id not in answered:
                raise InvalidRequest(
                    f"Invalid parameter: 'tool_call_id' of '{call_id}' not found in 'tool_calls' of previous message.",
                    param=f"messages.[{index}].tool_call_id",
                )
            if answered[call_id] is not None:
                raise InvalidRequest(
                    f"Invalid parameter: 'tool_call_id' of '{call_id}' is already answered by "
                    f"messages[{answered[call_id]}].",
                    param=f"messages.[{index}].tool_call_id",
                )
            answered[call_id] = index
            continue
        _check_all_answered(opener, answered)
        opener, answered = None, {}
        if message["role"] == "assistant" and message.get("tool_calls"):
            opener = index
            answered = {call["id"]: None for call in message["tool_calls"]}
    _check_all_answered(opener, answered)


def _check_all_answered(opener: int | None, answered: dict[str, int | None]) -> None:
    unanswered = [call_id for call_id, by in answered.items() if by is None]
    if opener is not None and unanswered:
        raise InvalidRequest(
            "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
            "'tool_call_id'. The following tool_call_ids did not have response messages: "
            + ", ".join(unanswered),
            param=f"messages.[{opener}].role",
        )
