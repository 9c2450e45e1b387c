"""Our hand-built Block Kit agrees with slack_sdk's models (which validate Slack's rules)."""

from __future__ import annotations

import pytest
from slack_sdk.models.blocks import Block

from bot.slack import blocks

BUILT = [
    blocks.progress("r1", ":hourglass: Working", ["✓ `search_code` · 0.1 s"] * 8),
    blocks.progress("r1", ":hourglass: Working", []),
    blocks.outcome(":x: failed", run_id="r1", retry=True, note="run `r1`"),
    blocks.outcome(":no_entry_sign: Cancelled", run_id="r1", retry=False),
    blocks.summary(":white_check_mark: Answered"),
    blocks.markdown("# Title\n\n**bold**"),
    blocks.mrkdwn_sections("*a*\n\n" + "word " * 2000),
]


@pytest.mark.parametrize("built", BUILT)
def test_blocks_round_trip_through_slack_sdk_models(built):
    for block in built:
        model = Block.parse(block)
        assert model is not None and model.to_dict() == block  # to_dict() validates lengths and required fields


def test_long_text_is_cut_to_slack_limits():
    assert len(blocks.outcome("x" * 5000, run_id="r", retry=False)[0]["text"]["text"]) == 3000
    assert len(blocks.markdown("y" * 20_000)[0]["text"]) == 12_000
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks.mrkdwn_sections("z " * 10_000))
