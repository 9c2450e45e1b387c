"""Small fixes become pull requests: preview, approval, push, PR with proof; amend, discard, refuse."""

from __future__ import annotations

import asyncio

import pytest

from bot.settings import Settings
from sim.github import GitHubEmulator
from sim.openai import Reply

TOKEN = "ghp_" + "prpr" * 9
FILES = {
    "site/pricing.html": '<h1>Pricing</h1>\n<a class="cta" href="/signup">Start your free trial</a>\n',
    "locales/en.json": '{\n  "cta": "Start your free trial",\n  "title": "Pricing"\n}\n',
    "src/trial.py": 'free_trial_days = 14\nLABEL = "Start your free trial"\n',
    "README.md": "# website\n\n## Instalation\n\nRun `make`.\n",
    "AGENTS.md": "# Website\n\n## Checks\n\n```\npython3 scripts/check.py\n```\n",
    "scripts/check.py": "import pathlib, sys\nok = '<a' in pathlib.Path('site/pricing.html').read_text()\n"
                        "print('pricing page ok' if ok else 'pricing page broken')\nsys.exit(0 if ok else 1)\n",
    ".github/workflows/ci.yml": "on: push\njobs: {}\n",
}
COPY = 'change "Start your free trial" to "Try it free for 14 days"'


@pytest.fixture
async def gh():
    async with GitHubEmulator() as emulator:
        emulator.add_token(TOKEN, login="chatops-bot")
        emulator.create_repo("acme", "website", files=FILES)
        yield emulator


@pytest.fixture
def settings(settings, gh):
    return settings.replace(github_api_url=gh.api_url, github_token=TOKEN)


@pytest.fixture
async def pr_chat(start_bot, settings, gh):
    """The bot with acme/website linked to #general; no model unless a test adds one."""
    chat = await start_bot(settings_=settings.replace(model=None, openai_base_url=None, openai_api_key=None))
    link(chat)
    return chat


def link(chat) -> None:
    url = f"{chat.app.core.settings.github_web_url}/acme/website.git"
    chat.store.link_repo("C0GENERAL", "acme/website", url, None, "U0ALICE")


def proposal_of(chat, asked):
    return chat.store.latest_proposal(asked.channel, asked.ts)


async def opened(chat, gh, asked, user="alice"):
    proposal = proposal_of(chat, asked)
    await chat.slack.click(user, asked.channel, proposal.preview_ts, action_id="open_pr")
    await chat.app.core.approvals.wait()
    return chat.store.get_proposal(proposal.id)


async def test_a_copy_change_without_a_model_becomes_a_pr_with_proof(pr_chat, slack, gh):
    asked = await pr_chat.say("alice", "#general", f"@chatops {COPY}")
    assert await pr_chat.finished(asked) == {"white_check_mark"}
    proposal = proposal_of(pr_chat, asked)
    assert proposal.status == "previewed" and proposal.verdict == "within policy: 3 files, +3 −3"
    assert [c.command for c in proposal.checks] == ["python3 scripts/check.py"] and proposal.checks_passed
    preview = slack.message(asked.channel, proposal.preview_ts)
    text = str(preview["blocks"])
    assert "-<a class=\"cta\" href=\"/signup\">Start your free trial</a>" in text
    assert "`python3 scripts/check.py` passed" in text and "within policy" in text
    assert "`locales/en.json:2` (text)" in text and "`src/trial.py:2` (text)" in text
    assert [e["action_id"] for e in preview["blocks"][-1]["elements"]] == ["open_pr", "discard_change"]
    assert pr_chat.progress_message(asked)["text"].startswith(":white_check_mark: Proposed a change to `acme/website`")

    done = await opened(pr_chat, gh, asked)
    assert done.status == "opened" and done.pr_number == 1
    pr = gh.pulls("acme", "website")[0]
    assert pr["title"] == 'Change "Start your free trial" to "Try it free for 14 days"'
    assert pr["head"]["ref"] == done.branch and done.branch.startswith("chatops/change-start-your-free-trial")
    body = pr["body"]
    assert f"> {COPY}" in body and "`site/pricing.html` (+1 −1)" in body
    assert "✅ `python3 scripts/check.py` passed" in body and "within policy: 3 files" in body
    assert "Requested in Slack by alice ([Slack thread](" in body
    files = gh.branch_files("acme", "website", done.branch)
    expected = {k: v.replace("Start your free trial", "Try it free for 14 days") for k, v in FILES.items()}
    assert {k: (v.decode() if isinstance(v, bytes) else v) for k, v in files.items()} == expected
    thread = "\n".join(m.get("text", "") for m in slack.bot_replies(asked.channel, asked.ts))
    assert f":rocket: Opened <{done.pr_url}|PR #1>" in thread
    settled = slack.message(asked.channel, proposal.preview_ts)
    assert not any(b["type"] == "actions" for b in settled["blocks"]) and "approved by <@U0ALICE>" in str(settled)


async def test_only_the_requester_or_an_approver_may_open_and_double_clicks_open_one_pr(pr_chat, slack, gh):
    asked = await pr_chat.say("alice", "#general", f"@chatops {COPY}")
    await pr_chat.finished(asked)
    proposal = proposal_of(pr_chat, asked)
    await slack.click("bob", asked.channel, proposal.preview_ts, action_id="open_pr")
    await slack.wait_for(lambda: slack.ephemerals)
    assert slack.ephemerals[-1]["text"] == "Only <@U0ALICE> can open this pull request."
    await asyncio.gather(*(slack.click("alice", asked.channel, proposal.preview_ts, action_id="open_pr")
                           for _ in range(3)))
    await pr_chat.app.core.approvals.wait()
    assert len(gh.pulls("acme", "website")) == 1
    branch = proposal_of(pr_chat, asked).branch
    assert len(gh.calls_to("POST", "/repos/acme/website/pulls")) == 1
    assert sum(1 for c in gh.calls if c.kind == "git" and c.service == "git-receive-pack" and c.method == "POST") == 1
    assert gh.branch_sha("acme", "website", branch)


async def test_discard_says_so_and_nothing_is_pushed(pr_chat, slack, gh):
    asked = await pr_chat.say("alice", "#general", f"@chatops {COPY}")
    await pr_chat.finished(asked)
    proposal = proposal_of(pr_chat, asked)
    await slack.click("alice", asked.channel, proposal.preview_ts, action_id="discard_change")
    await slack.wait_for(lambda: "Discarded" in slack.message(asked.channel, proposal.preview_ts)["text"])
    assert slack.message(asked.channel, proposal.preview_ts)["text"].startswith(
        ":wastebasket: Discarded by <@U0ALICE>; nothing was pushed.")
    assert pr_chat.store.get_proposal(proposal.id).status == "discarded" and gh.pulls("acme", "website") == []


async def test_mixed_matches_ask_then_change_only_the_chosen_ones(pr_chat, slack, gh):
    asked = await pr_chat.say("alice", "#general", '@chatops change "trial" to "tryout"')
    assert await pr_chat.finished(asked) == {"grey_question"}
    question = pr_chat.progress_message(asked)
    assert question["text"].startswith(':grey_question: "trial" appears 4 times: 3 in user-facing text and 1 in code')
    assert "`src/trial.py:1` (code)" in str(question["blocks"])
    await slack.click("alice", asked.channel, question["ts"], action_id="copy_choice_text")
    await pr_chat.finished(asked, count=2)
    proposal = proposal_of(pr_chat, asked)
    assert proposal.status == "previewed"
    assert '+LABEL = "Start your free tryout"' in proposal.patch and "free_tryout" not in proposal.patch
    assert [f["path"] for f in proposal.files] == ["locales/en.json", "site/pricing.html", "src/trial.py"]


async def test_a_check_that_fails_is_shown_and_blocks_opening_by_default(pr_chat, slack, gh):
    asked = await pr_chat.say("alice", "#general", '@chatops change "<a class" to "<b class" in site/pricing.html')
    await pr_chat.finished(asked)
    proposal = proposal_of(pr_chat, asked)
    assert not proposal.checks_passed and proposal.checks[0].exit_code == 1
    preview = str(slack.message(asked.channel, proposal.preview_ts)["blocks"])
    assert ":x: `python3 scripts/check.py` failed (exit 1)" in preview and "pricing page broken" in preview
    assert "its checks failed" in preview and "open_pr" not in preview
    await slack.click("alice", asked.channel, proposal.preview_ts, action_id="discard_change")


def policy_of(settings, tmp_path, policy: str):
    """The channels of a chatops.yml that gives #general this change policy (YAML, one `key: value`)."""
    (tmp_path / "chatops.yml").write_text(f"channels:\n  '#general':\n    change_policy:\n      {policy}\n")
    return Settings.from_env({"CHATOPS_HOME": str(settings.home),
                              "CHATOPS_CONFIG": str(tmp_path / "chatops.yml")}).channels


async def test_with_require_passing_checks_off_a_failed_check_can_still_be_opened(start_bot, settings, slack, gh,
                                                                                 tmp_path):
    channels = policy_of(settings, tmp_path, "require_passing_checks: false")
    chat = await start_bot(settings_=settings.replace(model=None, openai_base_url=None, openai_api_key=None,
                                                      channels=channels))
    link(chat)
    asked = await chat.say("alice", "#general", '@chatops change "<a class" to "<b class" in site/pricing.html')
    await chat.finished(asked)
    assert "open_pr" in str(slack.message(asked.channel, proposal_of(chat, asked).preview_ts)["blocks"])
    assert (await opened(chat, gh, asked)).status == "opened"


async def test_policy_refuses_workflow_edits_and_code_changes_under_copy(start_bot, settings, slack, model, gh,
                                                                          tmp_path):
    chat = await start_bot(settings_=settings.replace(channels=policy_of(settings, tmp_path, "kind: copy")))
    link(chat)
    model.script(Reply.tool_call("edit_file", {"repo": "acme/website", "path": ".github/workflows/ci.yml",
                                               "old": "jobs: {}", "new": "jobs: {deploy: {}}"}),
                 Reply.tool_call("edit_file", {"repo": "acme/website", "path": "src/trial.py",
                                               "old": "free_trial_days = 14", "new": "free_trial_days = 30"}),
                 Reply.tool_call("propose_change", {"repo": "acme/website", "title": "Longer trial",
                                                    "summary": "Thirty days."}))
    asked = await chat.say("alice", "#general", "@chatops make the trial 30 days and deploy on push")
    assert await chat.finished(asked) == {"x"}
    proposal = proposal_of(chat, asked)
    assert proposal.status == "refused" and not proposal.verdict_ok
    assert "`.github/workflows/ci.yml` is on the deny list" in proposal.verdict
    assert "a code token changed in `src/trial.py`: `14` → `30`" in proposal.verdict
    preview = str(slack.message(asked.channel, proposal.preview_ts)["blocks"])
    assert ":no_entry: Refused:" in preview and "open_pr" not in preview and proposal.checks == []
    await slack.click("alice", asked.channel, proposal.preview_ts, action_id="discard_change")
    assert gh.pulls("acme", "website") == []


async def test_the_model_edits_proposes_and_a_follow_up_amends_the_open_pr(start_bot, settings, slack, model, gh):
    chat = await start_bot()
    link(chat)
    model.script(Reply.tool_call("search_code", {"repo": "acme/website", "pattern": "Instalation"}),
                 Reply.tool_call("edit_file", {"repo": "acme/website", "path": "README.md",
                                               "old": "## Instalation", "new": "## Installation"}),
                 Reply.tool_call("propose_change", {"repo": "acme/website", "title": "Fix a typo in the README",
                                                    "summary": "Installation was misspelled."}))
    asked = await chat.say("alice", "#general", "@chatops fix the typo in the install section of the README")
    assert await chat.finished(asked) == {"white_check_mark"}
    first = await opened(chat, gh, asked)
    assert first.status == "opened" and "+## Installation" in first.patch

    model.script(Reply.tool_call("edit_file", {"repo": "acme/website", "path": "README.md",
                                               "old": "Run `make`.", "new": "Run `make install`."}),
                 Reply.tool_call("propose_change", {"repo": "acme/website", "title": "Fix the README install section",
                                                    "summary": "Typo and the right command."}))
    follow_up = await chat.say("alice", "#general", "also say make install", thread_ts=asked.ts)
    assert await chat.finished(follow_up) == {"white_check_mark"}
    second = chat.store.latest_proposal(asked.channel, asked.ts)
    assert second.id != first.id and second.supersedes == first.id and second.pr_number == 1
    assert "+## Installation" in second.patch and "+Run `make install`." in second.patch  # cumulative
    assert "Update PR #1" in str(slack.message(asked.channel, second.preview_ts)["blocks"])
    await slack.click("alice", asked.channel, second.preview_ts, action_id="open_pr")
    await chat.app.core.approvals.wait()
    assert chat.store.get_proposal(second.id).status == "opened" and len(gh.pulls("acme", "website")) == 1
    readme = gh.branch_files("acme", "website", first.branch)["README.md"]
    readme = readme.decode() if isinstance(readme, bytes) else readme
    assert readme == "# website\n\n## Installation\n\nRun `make install`.\n"
    pr = gh.pulls("acme", "website")[0]
    assert pr["title"] == "Fix the README install section"
    assert [c["body"] for c in gh.comments("acme", "website", 1)][-1].startswith("Updated from Slack")
    assert model.protocol_errors == []


async def test_github_errors_are_told_in_the_thread_and_open_pr_tries_again(pr_chat, slack, gh):
    asked = await pr_chat.say("alice", "#general", f"@chatops {COPY}")
    await pr_chat.finished(asked)
    gh.rate_limit(remaining=0, reset_in=3600)
    failed = await opened(pr_chat, gh, asked)
    assert failed.status == "failed"
    thread = "\n".join(m.get("text", "") for m in slack.bot_replies(asked.channel, asked.ts))
    assert ":x: I couldn't open the pull request: GitHub is rate limiting us; try again after" in thread
    assert "Press *Open PR* to try again; nothing will be duplicated." in thread
    gh.advance_clock(3700)
    assert (await opened(pr_chat, gh, asked)).status == "opened" and len(gh.pulls("acme", "website")) == 1


async def test_a_lost_answer_from_github_never_makes_a_second_pr(pr_chat, slack, gh):
    asked = await pr_chat.say("alice", "#general", f"@chatops {COPY}")
    await pr_chat.finished(asked)
    gh.fail("POST", "/repos/acme/website/pulls", drop_after_accept=True)
    assert (await opened(pr_chat, gh, asked)).status == "failed"
    assert len(gh.pulls("acme", "website")) == 1  # it was created; we never heard
    done = await opened(pr_chat, gh, asked)
    assert done.status == "opened" and done.pr_number == 1 and len(gh.pulls("acme", "website")) == 1


async def test_a_restart_during_publishing_is_reported_and_resumes_without_duplicates(start_bot, settings, slack, gh):
    quiet = settings.replace(model=None, openai_base_url=None, openai_api_key=None)
    chat = await start_bot(settings_=quiet)
    link(chat)
    asked = await chat.say("alice", "#general", f"@chatops {COPY}")
    await chat.finished(asked)
    proposal = proposal_of(chat, asked)
    chat.store.move_proposal(proposal.id, ("previewed",), "publishing", branch="chatops/half-done", opened_by="U0ALICE")
    await chat.app.stop()
    chat = await start_bot(settings_=quiet)
    assert chat.store.get_proposal(proposal.id).status == "failed"
    thread = "\n".join(m.get("text", "") for m in slack.bot_replies(asked.channel, asked.ts))
    assert "I was restarted while opening the pull request" in thread
    assert (await opened(chat, gh, asked)).status == "opened"
    assert gh.pulls("acme", "website")[0]["head"]["ref"] == "chatops/half-done"


async def test_a_preview_nobody_acts_on_expires(pr_chat, slack, gh):
    asked = await pr_chat.say("alice", "#general", f"@chatops {COPY}")
    await pr_chat.finished(asked)
    proposal = proposal_of(pr_chat, asked)
    pr_chat.store.db.execute("UPDATE proposals SET updated_at = 0 WHERE id = ?", [proposal.id])
    assert await pr_chat.app.core.approvals.expire_stale() == 1
    expired = slack.message(asked.channel, proposal.preview_ts)["text"]
    assert expired.startswith(":hourglass: This preview expired after 24 h")
    assert pr_chat.store.get_proposal(proposal.id).status == "expired"
    assert not any(b["type"] == "actions" for b in slack.message(asked.channel, proposal.preview_ts)["blocks"])


async def test_a_422_from_github_is_explained_in_the_thread(pr_chat, slack, gh):
    asked = await pr_chat.say("alice", "#general", f"@chatops {COPY}")
    await pr_chat.finished(asked)
    gh.fail("POST", "/repos/acme/website/pulls", status=422, message="Validation Failed")
    refused = await opened(pr_chat, gh, asked)
    assert refused.status == "refused" and gh.pulls("acme", "website") == []
    thread = "\n".join(m.get("text", "") for m in slack.bot_replies(asked.channel, asked.ts))
    assert ":x: I couldn't open the pull request: GitHub refused the pull request: Validation Failed" in thread
    assert "Traceback" not in thread


async def test_a_read_only_channel_offers_no_skill_that_changes_anything(start_bot, settings, slack, model, gh,
                                                                          tmp_path):
    chat = await start_bot(settings_=settings.replace(channels=policy_of(settings, tmp_path, "kind: none")))
    link(chat)
    model.script(Reply.text("This channel is read-only, so I can't change the README."))
    asked = await chat.say("alice", "#general", "@chatops fix the typo in the README")
    assert await chat.finished(asked) == {"white_check_mark"}
    offered = {t["function"]["name"] for t in model.requests[0]["tools"]}
    assert offered == {"list_files", "read_file", "search_code", "git_log", "git_show", "git_blame"}
    assert proposal_of(chat, asked) is None

    copy = await chat.say("alice", "#general", f"@chatops {COPY}")
    assert await chat.finished(copy) == {"x"}
    assert "change policy is read-only" in chat.progress_message(copy)["text"]
    assert proposal_of(chat, copy) is None and gh.pulls("acme", "website") == []


async def test_the_audit_trail_says_which_tool_calls_could_change_something(start_bot, settings, slack, model, gh):
    chat = await start_bot()
    link(chat)
    model.script(Reply.tool_call("read_file", {"repo": "acme/website", "path": "README.md"}),
                 Reply.tool_call("edit_file", {"repo": "acme/website", "path": "README.md",
                                               "old": "## Instalation", "new": "## Installation"}),
                 Reply.tool_call("propose_change", {"repo": "acme/website", "title": "Fix a typo",
                                                    "summary": "Installation was misspelled."}))
    asked = await chat.say("alice", "#general", "@chatops fix the typo in the README")
    assert await chat.finished(asked) == {"white_check_mark"}
    (run,) = chat.runs_for(asked)
    assert [(c["name"], c["mutates"]) for c in chat.store.tool_calls(run.id)] == [
        ("read_file", 0), ("edit_file", 1), ("propose_change", 1)]


async def test_guests_and_people_from_other_workspaces_may_ask_but_change_nothing(start_bot, settings, slack, model,
                                                                                 gh):
    slack.add_user("gus", guest="multi")
    slack.add_user("olga", team_id="T0OTHER")  # Slack Connect: another company's workspace
    chat = await start_bot()
    link(chat)

    copy = await chat.say("gus", "#general", f"@chatops {COPY}")
    assert await chat.finished(copy) == {"x"}
    assert "Guests and people from other workspaces can ask me questions here" in chat.progress_message(copy)["text"]
    assert proposal_of(chat, copy) is None

    model.script(Reply.text("The pricing page says “Start your free trial”."))
    asked = await chat.say("olga", "#general", "@chatops what does the pricing page say?")
    assert await chat.finished(asked) == {"white_check_mark"}
    offered = {t["function"]["name"] for t in model.requests[-1]["tools"]}
    assert "read_file" in offered and offered.isdisjoint({"edit_file", "write_file", "run_command", "propose_change"})

    mine = await chat.say("alice", "#general", f"@chatops {COPY}")  # a member: as before
    assert await chat.finished(mine) == {"white_check_mark"}
    proposal = proposal_of(chat, mine)
    for outsider in ("gus", "olga"):
        await slack.click(outsider, mine.channel, proposal.preview_ts, action_id="open_pr")
        await slack.wait_for(lambda: slack.ephemerals)
        assert slack.ephemerals[-1]["text"].startswith("Guests and people from other workspaces")
    said = (await slack.slash("olga", "#general", "/chatops", "link repo acme/other")).response["text"]
    assert said.startswith("Guests and people from other workspaces")
    await chat.app.core.approvals.wait()
    assert gh.pulls("acme", "website") == [] and chat.store.get_proposal(proposal.id).status == "previewed"
