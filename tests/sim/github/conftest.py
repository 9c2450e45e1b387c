"""Fixtures: a started GitHub emulator with one private and one public repo, tokens, the git CLI,
an aiohttp session, and RSA keys made by openssl."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from sim.github import GitHubEmulator
from tests.sim.github.helpers import READER, WRITER, Git, make_key


@pytest.fixture
async def gh():
    emulator = GitHubEmulator()
    await emulator.start()
    emulator.add_token(WRITER, login="chatops-bot")
    emulator.add_token(READER, login="reader", permissions={"contents": "read", "pull_requests": "read"})
    emulator.create_repo("acme", "api", files={"README.md": "# api\n", "src/retry.py": "RETRY_LIMIT = 5\n"})
    emulator.create_repo("acme", "docs", files={"index.md": "# docs\n"}, private=False)
    yield emulator
    await emulator.stop()


@pytest.fixture
def git(tmp_path: Path) -> Git:
    return Git(tmp_path / "home")


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("keys")
    make_key(folder / "app.pem")
    make_key(folder / "app-pkcs1.pem", pkcs1=True)
    make_key(folder / "other.pem")
    return {"pkcs8": folder / "app.pem", "pkcs1": folder / "app-pkcs1.pem", "other": folder / "other.pem"}
