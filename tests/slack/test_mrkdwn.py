"""Markdown -> Slack mrkdwn, and splitting long Markdown within Slack's limits."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.slack.mrkdwn import split_markdown, to_mrkdwn


def test_inline_formatting():
    assert to_mrkdwn("**bold** and *it* and _it2_ and ~~gone~~ and `x`") == \
        "*bold* and _it_ and _it2_ and ~gone~ and `x`"


def test_links_autolinks_and_images():
    assert to_mrkdwn("[the docs](https://example.com/a?b=1)") == "<https://example.com/a?b=1|the docs>"
    assert to_mrkdwn("<https://example.com>") == "<https://example.com>"
    assert to_mrkdwn("![chart](https://example.com/c.png)") == "<https://example.com/c.png|chart>"


def test_slack_entities_pass_through_and_html_is_escaped():
    assert to_mrkdwn("ping <@U123> in <#C42|ops> <!here> & a<b>c") == \
        "ping <@U123> in <#C42|ops> <!here> &amp; a&lt;b&gt;c"


def test_headings_lists_quotes_code_and_tables():
    markdown = (
        "# Retry limits\n\nSee below.\n\n- one\n- two\n  - nested\n\n1. first\n2. second\n\n"
        "> quoted\n\n```python\nif a < b:\n    pass\n```\n\n| key | value |\n|---|---|\n| retries | 5 |\n"
    )
    assert to_mrkdwn(markdown) == (
        "*Retry limits*\n\nSee below.\n\n• one\n• two\n    ◦ nested\n\n1. first\n2. second\n\n> quoted\n\n"
        "```\nif a &lt; b:\n    pass\n```\n\n```\nkey      value\n-------  -----\nretries  5\n```"
    )


def test_short_text_is_one_piece():
    assert split_markdown("hello", 100) == ["hello"]


def test_splits_between_paragraphs():
    text = "\n\n".join(f"paragraph {i} " + "word " * 30 for i in range(10))
    pieces = split_markdown(text, 500)
    assert all(len(p) <= 500 for p in pieces)
    assert all(p.startswith("paragraph") for p in pieces)
    assert "\n\n".join(pieces) == text


def test_a_long_code_block_is_closed_and_reopened_with_its_language():
    text = "Intro.\n\n```python\n" + "".join(f"line_{i} = {i}\n" for i in range(200)) + "```\n\nOutro."
    pieces = split_markdown(text, 400)
    assert all(len(p) <= 400 for p in pieces)
    for piece in pieces:
        assert piece.count("```") % 2 == 0, piece
    code_pieces = [p for p in pieces if "line_" in p]
    assert all(p.startswith("```python") or p.startswith("Intro") for p in code_pieces)
    joined = "".join(pieces)
    assert all(f"line_{i} = {i}" in joined for i in range(200))


@settings(max_examples=200, deadline=None)
@given(
    blocks=st.lists(
        st.one_of(
            st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="`"), min_size=1,
                    max_size=400),
            st.builds(lambda body, lang: f"```{lang}\n{body}\n```",
                      st.text(alphabet="abc def\n=<>", min_size=0, max_size=600), st.sampled_from(["", "py"])),
        ),
        min_size=1, max_size=12,
    ),
    limit=st.integers(min_value=60, max_value=800),
)
def test_split_pieces_fit_keep_fences_balanced_and_lose_no_words(blocks, limit):
    text = "\n\n".join(blocks)
    pieces = split_markdown(text, limit)
    assert all(len(piece) <= limit for piece in pieces)
    assert all(piece.count("```") % 2 == 0 for piece in pieces)
    original = [w for w in text.replace("```py", " ").replace("```", " ").split() if w]
    kept = [w for w in " ".join(pieces).replace("```py", " ").replace("```", " ").split() if w]
    assert "".join(kept) == "".join(original)
