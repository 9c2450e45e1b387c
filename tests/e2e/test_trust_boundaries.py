"""Trust boundaries, as an ordinary channel member would probe them: nothing reaches what isn't theirs."""

from __future__ import annotations

import asyncio
import struct

import pytest

from sim.openai import Reply
from tests.repos.conftest import API_FILES, make_repo

CANARY = "canary-pw-7f3a9c"
SSL_REQUEST, GSSENC_REQUEST = 80877103, 80877104


class PasswordTrap:
    """A server on loopback that speaks just enough of PostgreSQL's protocol to ask for the password in
    clear (AuthenticationCleartextPassword) and keep whatever the client sends."""

    def __init__(self) -> None:
        self.connections = 0
        self.passwords: list[str] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> PasswordTrap:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:  # SSL / GSS encryption requests first: decline them
                length, code = struct.unpack("!ii", await reader.readexactly(8))
                if code in (SSL_REQUEST, GSSENC_REQUEST):
                    writer.write(b"N")
                    await writer.drain()
                    continue
                await reader.readexactly(length - 8)  # the rest of the startup message
                break
            writer.write(b"R" + struct.pack("!ii", 8, 3))  # cleartext password, please
            await writer.drain()
            kind = await reader.readexactly(1)
            (length,) = struct.unpack("!i", await reader.readexactly(4))
            body = await reader.readexactly(length - 4)
            if kind == b"p":
                self.passwords.append(body.rstrip(b"\0").decode(errors="replace"))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def link_data(slack, text: str) -> str:
    before = len(slack.responses)
    await slack.slash("alice", "#general", "/chatops", f"link data {text}")
    answered = await slack.wait_for(lambda: slack.responses[before:] or None)
    return answered[0]["body"]["text"]


@pytest.fixture
def settings(settings):
    return settings.replace(data_passwords={"CHATOPS_DATA_PASSWORD_WH": CANARY})


async def test_a_link_from_slack_never_gets_the_admins_password(start_bot, settings, slack):
    async with PasswordTrap() as trap:
        chat = await start_bot(settings_=settings.replace(data_hosts=("127.0.0.1",)))
        said = await link_data(slack, f"wh postgresql://anyone@127.0.0.1:{trap.port}/db")
        assert trap.connections >= 1  # the host is allowed: the bot did connect ...
        assert trap.passwords == []  # ... and sent no password, although CHATOPS_DATA_PASSWORD_WH is set
        assert CANARY not in said and "it asked for a password and none is set" in said
        assert chat.store.data_links("C0GENERAL") == []


async def test_a_database_server_not_on_the_allowlist_is_not_even_contacted(start_bot, settings, slack):
    async with PasswordTrap() as trap:
        chat = await start_bot(settings_=settings)
        said = await link_data(slack, f"wh postgresql://anyone@127.0.0.1:{trap.port}/db")
        assert "allowlist (`CHATOPS_DATA_HOSTS`)" in said and "declare the source in chatops.yml" in said
        said = await link_data(slack, f"wh postgresql://anyone@127.0.0.1:{trap.port}/db?passfile=/root/.pgpass")
        assert "allowlist" in said
        assert trap.connections == 0 and chat.store.data_links("C0GENERAL") == []


async def test_connection_options_from_slack_are_refused(start_bot, settings, slack):
    async with PasswordTrap() as trap:
        await start_bot(settings_=settings.replace(data_hosts=(f"127.0.0.1:{trap.port}",)))
        said = await link_data(slack, f"wh postgresql://anyone@127.0.0.1:{trap.port}/db?sslmode=disable&service=x")
        assert "connection options (`sslmode`, `service`)" in said and trap.connections == 0


async def link_repo(slack, text: str) -> str:
    before = len(slack.responses)
    await slack.slash("alice", "#general", "/chatops", f"link repo {text}")
    answered = await slack.wait_for(lambda: slack.responses[before:] or None)
    return answered[0]["body"]["text"]


async def test_repos_on_the_bots_disk_are_not_linkable_from_slack_unless_an_admin_allowed_the_folder(
        start_bot, settings, slack, tmp_path):
    own = make_repo(settings.home / "mirrors" / "other-channels-private.git", {**API_FILES, "SECRET.md": "payroll\n"})
    shared = make_repo(tmp_path / "shared" / "handbook", {**API_FILES, "README.md": "# Handbook\n"})
    (tmp_path / "shared" / "sneaky").symlink_to(own)

    chat = await start_bot(settings_=settings)
    assert "Linking a repo by its path on the bot's machine is off" in await link_repo(slack, str(shared))
    assert "is off" in await link_repo(slack, f"file://{shared}")
    await chat.app.stop()

    allowed = settings.replace(local_repos_dirs=(tmp_path,))  # the bot's home is inside it: still never linkable
    chat = await start_bot(settings_=allowed)
    assert "one of the bot's own folders" in await link_repo(slack, str(own))
    assert "one of the bot's own folders" in await link_repo(slack, str(tmp_path / "shared" / "sneaky"))
    assert "linked *handbook*" in await link_repo(slack, str(shared))
    assert [row["name"] for row in chat.store.repo_links("C0GENERAL")] == ["handbook"]


async def test_a_link_saved_before_its_folder_was_disallowed_is_not_read(start_bot, settings, slack, tmp_path):
    own = make_repo(settings.home / "mirrors" / "x.git", {**API_FILES, "SECRET.md": "payroll\n"})
    chat = await start_bot(settings_=settings)
    chat.store.link_repo("C0GENERAL", "x", str(own), None, "U0MALLORY")  # e.g. linked by an older version
    listed = (await slack.slash("bob", "#general", "/chatops", "links")).response["text"]
    assert "No repos are linked to this channel" in listed


async def test_secrets_are_kept_out_of_the_store(start_bot, settings, slack, model):
    """Canaries of every kind the bot knows: a configured secret (the model key) and Slack/GitHub token shapes."""
    canaries = [settings.openai_api_key, "xoxb-1111-2222-canarycanary", "ghp_" + "c4n4ry" * 6]
    model.script(Reply.text(f"Noted: {' and '.join(canaries)}."))  # a model that repeats them anyway
    chat = await start_bot(settings_=settings)
    asked = await chat.say("alice", "#general", f"@chatops remember {' and '.join(canaries)}")
    assert await chat.finished(asked) == {"white_check_mark"}
    chat.store.db.execute("PRAGMA wal_checkpoint(FULL)")
    kept = b"".join(p.read_bytes() for p in settings.db_path.parent.glob(settings.db_path.name + "*"))
    assert b"[redacted]" in kept
    assert [c for c in canaries if c.encode() in kept] == []
    assert not [c for c in canaries if c in chat.answer(asked)]
