"""The GitHub client against the GitHub emulator: idempotent PRs, rate limits, App installation tokens."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.changes.forge import ForgeError, GitHub
from bot.repos.github_auth import GitHubAuth
from bot.settings import Settings
from sim.github import GitHubEmulator

TOKEN = "ghp_" + "f0rge" * 8


@pytest.fixture
async def gh():
    async with GitHubEmulator() as emulator:
        emulator.add_token(TOKEN, login="chatops-bot")
        emulator.create_repo("acme", "web", files={"README.md": "# web\n"})
        emulator.commit("acme", "web", files={"README.md": "# web!\n"}, message="x", branch="feature")
        yield emulator


@pytest.fixture
def client(gh, tmp_path):
    """A client whose sleeps advance the emulator's clock (and its own), recording each wait."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        gh.advance_clock(seconds)

    settings = Settings(home=tmp_path, github_api_url=gh.api_url, github_token=TOKEN)
    github = GitHub(gh.api_url, GitHubAuth(settings), sleep=sleep, clock=gh.clock.now)
    github.waits = waits
    return github


async def test_create_pr_is_idempotent(client, gh):
    pr = await client.create_pr("acme", "web", title="T", head="feature", base="main", body="B")
    again = await client.create_pr("acme", "web", title="T", head="feature", base="main", body="B")
    assert again["number"] == pr["number"] and len(gh.pulls("acme", "web")) == 1


async def test_a_lost_answer_then_a_422_already_exists_is_a_lookup(client, gh):
    gh.fail("POST", "/repos/acme/web/pulls", drop_after_accept=True)
    with pytest.raises(ForgeError, match="couldn't reach GitHub"):
        await client.create_pr("acme", "web", title="T", head="feature", base="main", body="B")
    assert len(gh.pulls("acme", "web")) == 1  # GitHub created it; we never heard
    pr = await client.create_pr("acme", "web", title="T", head="feature", base="main", body="B")
    assert pr["number"] == gh.pulls("acme", "web")[0]["number"] and len(gh.pulls("acme", "web")) == 1


async def test_primary_rate_limit_waits_until_the_reset(client, gh):
    gh.rate_limit(remaining=0, reset_in=20)
    assert await client.find_pr("acme", "web", "feature") is None
    assert len(client.waits) == 1 and 19 <= client.waits[0] <= 22


async def test_secondary_rate_limit_and_429_honour_retry_after(client, gh):
    gh.fail("GET", "/repos/acme/web/pulls", status=403, retry_after=7,
            message="You have exceeded a secondary rate limit")
    gh.fail("GET", "/repos/acme/web/pulls", status=429, retry_after=3)
    assert await client.find_pr("acme", "web", "feature") is None
    assert client.waits == [7.0, 3.0]


async def test_a_long_rate_limit_is_reported_not_waited(client, gh):
    gh.rate_limit(remaining=0, reset_in=3600)
    with pytest.raises(ForgeError, match="rate limiting us; try again after"):
        await client.find_pr("acme", "web", "feature")
    assert client.waits == []


async def test_mutations_are_one_at_a_time_a_second_apart(client, gh):
    pr = await client.create_pr("acme", "web", title="T", head="feature", base="main", body="B")
    await client.comment("acme", "web", pr["number"], "one")
    await client.comment("acme", "web", pr["number"], "two")
    assert len(client.waits) >= 2 and all(0 < w <= 1.0 for w in client.waits)
    assert [c["body"] for c in gh.comments("acme", "web", pr["number"])] == ["one", "two"]


async def test_github_app_installation_tokens_are_narrowed_cached_and_refreshed(gh, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    gh.add_app(app_id=4242, private_key_pem=pem, installations={"acme": 77})
    gh.create_repo("acme", "other", files={"a": "b"})
    now = [gh.clock.now()]
    settings = Settings(home=tmp_path, github_api_url=gh.api_url, github_app_id=4242, github_app_private_key=pem)
    auth = GitHubAuth(settings, clock=lambda: now[0])
    first = await auth.token_for("acme", "web")
    assert first.startswith("ghs_") and await auth.token_for("acme", "web") == first  # cached
    requests = gh.calls_to("POST", "/app/installations/77/access_tokens")
    assert len(requests) == 1
    assert requests[0].body == {"repositories": ["web"], "permissions": {"contents": "write", "pull_requests": "write"}}
    client = GitHub(gh.api_url, auth)
    assert await client.find_pr("acme", "web", "feature") is None
    with pytest.raises(ForgeError, match="HTTP 404"):  # narrowed to acme/web: acme/other is invisible
        await GitHub(gh.api_url, _Fixed(first)).find_pr("acme", "other", "x")
    now[0] += 3600 - 200  # within five minutes of expiry: refreshed
    assert await auth.token_for("acme", "web") != first
    assert len(gh.calls_to("POST", "/app/installations/77/access_tokens")) == 2


class _Fixed:
    def __init__(self, token: str) -> None:
        self.token = token

    async def token_for(self, owner: str, repo: str) -> str:
        return self.token
