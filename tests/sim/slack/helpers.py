"""Small shared pieces for the Slack emulator tests."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

RETRY_BUTTON = {
    "type": "actions",
    "elements": [
        {
            "type": "button",
            "action_id": "retry_run",
            "value": "run-7",
            "text": {"type": "plain_text", "text": "Retry"},
        }
    ],
}


async def api_error(call: Awaitable[Any]) -> SlackApiError:
    """The SlackApiError a Web API call raises (fails the test if it succeeds)."""
    with pytest.raises(SlackApiError) as caught:
        await call
    return caught.value
