"""The bot keeps answering while a copy change works through a large repo.

Finding, classifying and replacing a phrase in a 30,000-file repo takes seconds of git and
Pygments work; none of it may hold the event loop, or every slash command and button click
in the meantime misses Slack's 3-second limit.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

from bot.config import ChangePolicy, ChannelConfig, RepoEntry

FILES = 30_000
MATCHING = 150  # modules of about 20 KB naming the product: lexing them alone takes seconds
OLD, NEW = "Acme Widgets", "Acme Gizmos"
SLACK_LIMIT = 3.0


def big_repo(path: Path) -> Path:
    """A bare repo, one commit of FILES small modules, MATCHING of them long ones naming OLD twice."""
    step = FILES // MATCHING
    function = ("\n\ndef scale_{j}(value: float, factor: float = {j}.5) -> dict:\n"
                '    """Scale a value by the factor; keep the label."""\n'
                "    total = math.floor(value * factor) + {j}  # rounded down\n"
                "    return {{'value': total, 'label': 'item-{j}', 'ok': total > {j}}}\n")
    long_tail = "".join(function.format(j=j) for j in range(100))
    stream = [b"commit refs/heads/main\ncommitter Dana <dana@example.com> 1700000000 +0000\ndata 7\ninitial\n"]
    for i in range(FILES):
        if i % step == 0:
            body = f'# {OLD}: module {i}\n"""Helpers of {OLD} for part {i}."""\n\nimport math\n{long_tail}'
        else:
            body = f"VALUE_{i} = {i}\n"
        data = body.encode()
        stream.append(b"M 100644 inline pkg%d/mod%d/file%d.py\ndata %d\n%s\n" % (i // 300, i % 300 // 30, i,
                                                                                 len(data), data))
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    subprocess.run(["git", "-C", str(path), "fast-import", "--quiet"], input=b"".join(stream), check=True)
    return path


async def test_slash_commands_are_answered_while_a_copy_change_works_on_a_30000_file_repo(start_bot, settings,
                                                                                           slack, tmp_path):
    origin = big_repo(tmp_path / "widgets.git")
    channel = ChannelConfig(repos=(RepoEntry(str(origin), name="acme/widgets"),),
                            change_policy=ChangePolicy(max_files=2 * MATCHING, max_lines=8 * MATCHING))
    chat = await start_bot(settings_=settings.replace(model=None, openai_base_url=None, openai_api_key=None,
                                                      default_channel=channel))
    loop = asyncio.get_running_loop()
    answers: list[tuple[str, float, list, str]] = []

    async def types(user: str, text: str, due: float) -> None:
        delivered = await slack.slash(user, "#general", "/chatops", text)
        answers.append((text, loop.time() - due, delivered.statuses, (delivered.response or {}).get("text", "")))

    async def keep_typing(done: asyncio.Event) -> None:
        """bob types `/chatops status` and carol `/chatops help`, each every 0.2 s on the clock: a command
        due while the loop was held counts from when it was due, as Slack would have sent it then."""
        sent: list[asyncio.Task] = []
        start = loop.time()
        while not done.is_set():
            due = start + len(sent) * 0.1
            await asyncio.sleep(max(0.0, due - loop.time()))
            user, text = ("bob", "status") if len(sent) % 2 else ("carol", "help")
            sent.append(asyncio.create_task(types(user, text, due)))
        await asyncio.gather(*sent)

    done = asyncio.Event()
    typing = asyncio.create_task(keep_typing(done))
    started = time.monotonic()
    asked = await chat.say("alice", "#general", f'@chatops change "{OLD}" to "{NEW}"')
    try:
        await slack.wait_for(lambda: slack.reactions(asked.channel, asked.ts) & {"white_check_mark", "x"},
                             timeout=120)
    finally:
        done.set()
        await typing
    took = time.monotonic() - started

    assert slack.reactions(asked.channel, asked.ts) >= {"white_check_mark"}
    proposal = chat.store.latest_proposal(asked.channel, asked.ts)
    assert proposal.status == "previewed" and len(proposal.files) == MATCHING
    preview = slack.message(asked.channel, proposal.preview_ts)
    assert f"Replaces \"{OLD}\" with \"{NEW}\" in {2 * MATCHING} places" in str(preview["blocks"])
    assert [e["action_id"] for e in preview["blocks"][-1]["elements"]] == ["open_pr", "discard_change"]

    statuses = [a for a in answers if a[0] == "status"]
    assert len(answers) >= 10 and any("in progress in this channel" in a[3] for a in statuses)
    assert all(a[3].startswith("*chatops* answers questions") for a in answers if a[0] == "help")
    late = [(text, round(seconds, 2), codes) for text, seconds, codes, _ in answers
            if seconds > SLACK_LIMIT or codes != [200]]
    slowest = max(seconds for _, seconds, _, _ in answers)
    assert not late, f"{len(late)} of {len(answers)} slash commands missed Slack's 3 s during a {took:.1f} s " \
                     f"copy change (slowest {slowest:.1f} s): {late[:5]}"
