"""Parsing copy requests, classifying matches, and finding the checks an AGENTS.md names."""

from __future__ import annotations

import pytest

from bot.changes import copy as copy_change
from bot.changes.checks import commands_from_agents_md


@pytest.mark.parametrize(("text", "old", "new", "scope"), [
    ('change "Start your free trial" to "Try it free for 14 days"', "Start your free trial",
     "Try it free for 14 days", None),
    ("change “Start your free trial” to “Try it free” on the pricing page", "Start your free trial",
     "Try it free", None),
    ("Please change 'Sign up' to 'Join' in site/**", "Sign up", "Join", "site/**"),
    ('replace "colour" with "color" in docs/guide.md.', "colour", "color", "docs/guide.md"),
])
def test_copy_requests_are_parsed_with_any_quotes(text, old, new, scope):
    request = copy_change.parse(text)
    assert (request.old, request.new, request.scope) == (old, new, scope)


@pytest.mark.parametrize("text", ["change the button text", 'change "A" to "A"', "why did it change?",
                                  'change "" to "x"'])
def test_other_messages_are_not_copy_requests(text):
    assert copy_change.parse(text) is None


async def test_matches_are_classified_as_text_or_code_and_replaced_exactly(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "pricing.html").write_text("<a class='cta'>Start your free trial</a>\n")
    (tmp_path / "en.json").write_text('{"Start your free trial": "Start your free trial"}\n')
    (tmp_path / "app.py").write_text("Start_your_free_trial = 1\nlabel = 'Start your free trial'\n")
    request = copy_change.parse('change "Start your free trial" to "Try it free"')
    matches = await copy_change.find(tmp_path, request)
    kinds = sorted((m.path, m.line, m.user_facing) for m in matches)
    assert kinds == [("app.py", 2, True), ("en.json", 1, False), ("en.json", 1, True), ("site/pricing.html", 1, True)]
    chosen = [m for m in matches if m.user_facing]
    assert copy_change.replace(tmp_path, request, chosen) == 3
    assert (tmp_path / "en.json").read_text() == '{"Start your free trial": "Try it free"}\n'
    assert "Try it free" in (tmp_path / "site" / "pricing.html").read_text()
    table = copy_change.table(matches)
    assert "• `en.json:1` (code)" in table and "• `site/pricing.html:1` (text)" in table


def test_checks_from_an_agents_md_section_or_sentences():
    section = ("# Repo\n\n## Checks\n\nRun these before a PR:\n\n"
               "```sh\n$ python3 scripts/check_site.py\nnpm run lint\n```\n")
    assert commands_from_agents_md(section) == ["python3 scripts/check_site.py", "npm run lint"]
    prose = "This is the API. Run tests with `python3 -m pytest -q`; lint with `ruff check .`. See `docs/`.\n"
    assert commands_from_agents_md(prose) == ["python3 -m pytest -q", "ruff check ."]
    assert commands_from_agents_md("Just some notes about `config.yaml`.\n") == []
