"""Slack's limits on message content, checked the way chat.postMessage and chat.update check them.

Each check returns Slack-style error strings ("must be less than 3001 characters
[json-pointer:/blocks/0/text/text]"); an empty list means the content is accepted.
"""

from __future__ import annotations

from typing import Any

MAX_TEXT = 40_000
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_MARKDOWN = 12_000
MAX_BUTTON_TEXT = 75
MAX_ACTION_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
MAX_BLOCK_ID = 255

BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "context_actions",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
    }
)
TEXT_TYPES = ("plain_text", "mrkdwn")


def _too_long(limit: int, pointer: str) -> str:
    return f"must be less than {limit + 1} characters [json-pointer:{pointer}]"


def check_text_object(obj: Any, pointer: str, limit: int, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return [f"must provide an object [json-pointer:{pointer}]"]
    allowed = ("plain_text",) if plain_only else TEXT_TYPES
    if obj.get("type") not in allowed:
        return [f"must be one of {', '.join(allowed)} [json-pointer:{pointer}/type]"]
    if not obj["text"]:
        return [f"must be more than 0 characters [json-pointer:{pointer}/text]"]
    if len(obj["text"]) > limit:
        return [_too_long(limit, f"{pointer}/text")]
    return []


def check_element(element: Any, pointer: str) -> list[str]:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return [f"must provide an object with a type [json-pointer:{pointer}]"]
    if element["type"] != "button":
        return []
    errors = check_text_object(element.get("text"), f"{pointer}/text", MAX_BUTTON_TEXT, plain_only=True)
    if not element.get("action_id"):
        errors.append(f"missing required field: action_id [json-pointer:{pointer}]")
    elif len(element["action_id"]) > 255:
        errors.append(_too_long(255, f"{pointer}/action_id"))
    if len(element.get("value") or "") > 2000:
        errors.append(_too_long(2000, f"{pointer}/value"))
    if element.get("style") not in (None, "primary", "danger"):
        errors.append(f"must be one of primary, danger [json-pointer:{pointer}/style]")
    return errors


def _check_section(block: dict[str, Any], pointer: str) -> list[str]:
    errors: list[str] = []
    if "text" not in block and "fields" not in block:
        errors.append(f"must provide either text or fields [json-pointer:{pointer}]")
    if "text" in block:
        errors += check_text_object(block["text"], f"{pointer}/text", MAX_SECTION_TEXT)
    fields = block.get("fields") or []
    if len(fields) > MAX_SECTION_FIELDS:
        errors.append(f"must provide no more than {MAX_SECTION_FIELDS} items [json-pointer:{pointer}/fields]")
    for i, item in enumerate(fields):
        errors += check_text_object(item, f"{pointer}/fields/{i}", MAX_FIELD_TEXT)
    if "accessory" in block:
        errors += check_element(block["accessory"], f"{pointer}/accessory")
    return errors


def _check_actions(block: dict[str, Any], pointer: str) -> list[str]:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        return [f"must provide at least 1 item [json-pointer:{pointer}/elements]"]
    errors = []
    if len(elements) > MAX_ACTION_ELEMENTS:
        errors.append(
            f"must provide no more than {MAX_ACTION_ELEMENTS} items [json-pointer:{pointer}/elements]"
        )
    for i, element in enumerate(elements):
        errors += check_element(element, f"{pointer}/elements/{i}")
    return errors


def _check_block(block: Any, pointer: str) -> list[str]:
    if not isinstance(block, dict):
        return [f"must provide an object [json-pointer:{pointer}]"]
    kind = block.get("type")
    if kind not in BLOCK_TYPES:
        return [f"unsupported type: {kind} [json-pointer:{pointer}/type]"]
    if len(str(block.get("block_id", ""))) > MAX_BLOCK_ID:
        return [_too_long(MAX_BLOCK_ID, f"{pointer}/block_id")]
    if kind == "section":
        return _check_section(block, pointer)
    if kind == "header":
        return check_text_object(block.get("text"), f"{pointer}/text", MAX_HEADER_TEXT, plain_only=True)
    if kind == "actions":
        return _check_actions(block, pointer)
    if kind == "context":
        elements = block.get("elements") or []
        if not elements or len(elements) > MAX_CONTEXT_ELEMENTS:
            return [f"must provide 1 to {MAX_CONTEXT_ELEMENTS} items [json-pointer:{pointer}/elements]"]
    if kind == "markdown":
        text = block.get("text")
        if not isinstance(text, str) or not text:
            return [f"must provide a non-empty string [json-pointer:{pointer}/text]"]
        if len(text) > MAX_MARKDOWN:
            return [_too_long(MAX_MARKDOWN, f"{pointer}/text")]
    if kind == "image" and not block.get("alt_text"):
        return [f"missing required field: alt_text [json-pointer:{pointer}]"]
    return []


def check_blocks(blocks: Any) -> list[str]:
    """Every reason Slack would answer `invalid_blocks` for this `blocks` value."""
    if not isinstance(blocks, list):
        return ["must provide an array [json-pointer:/blocks]"]
    errors: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        errors.append(f"must provide no more than {MAX_BLOCKS} items [json-pointer:/blocks]")
    seen_ids: set[str] = set()
    markdown_total = 0
    for i, block in enumerate(blocks):
        pointer = f"/blocks/{i}"
        errors += _check_block(block, pointer)
        if not isinstance(block, dict):
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in seen_ids:
                errors.append(f"duplicate block_id {block_id} [json-pointer:{pointer}/block_id]")
            seen_ids.add(block_id)
        if block.get("type") == "markdown" and isinstance(block.get("text"), str):
            markdown_total += len(block["text"])
    if markdown_total > MAX_MARKDOWN:
        errors.append(
            f"markdown blocks together must be less than {MAX_MARKDOWN + 1} characters [json-pointer:/blocks]"
        )
    return errors
