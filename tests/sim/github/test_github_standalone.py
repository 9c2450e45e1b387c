"""`python -m sim.github --sample-repo` on its own, used the way `chatops dev` will use it."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.sim.github.helpers import Git, basic

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
async def standalone():
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sim.github", "--port", "0", "--sample-repo", cwd=REPO, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        line = await asyncio.wait_for(process.stdout.readline(), timeout=15)
        yield json.loads(line)
    finally:
        process.terminate()
        await process.wait()


async def test_sample_repo_is_cloneable_and_realistic(standalone: dict, git: Git, tmp_path: Path):
    url, token = standalone["url"], standalone["token"]
    assert standalone["api_url"] == url + "/api/v3" and standalone["repos"] == ["acme/website"]
    work = tmp_path / "website"
    await git.ok("clone", "--quiet", f"{url}/acme/website.git", str(work), auth=basic(token))

    readme = (work / "README.md").read_text()
    assert "## Installation" in readme and "dependancies" in readme  # the typo a newcomer can ask to fix
    assert "Start your free trial" in (work / "site/pricing.html").read_text()
    assert json.loads((work / "locales/en.json").read_text())["pricing.cta"] == "Start your free trial"
    assert "python3 scripts/check_site.py" in (work / "AGENTS.md").read_text()
    check = await asyncio.create_subprocess_exec(
        sys.executable, "scripts/check_site.py", cwd=work, stdout=asyncio.subprocess.PIPE
    )
    output, _ = await check.communicate()
    assert (check.returncode, output.decode().split(":")[0]) == (0, "OK")
    authors = await git.ok("log", "--format=%an %ad", "--date=short", cwd=work)
    assert len(authors.splitlines()) == 4 and len({line.split()[0] for line in authors.splitlines()}) == 3

    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        async with http.get(f"{standalone['api_url']}/repos/acme/website") as response:
            shown = await response.json()
        assert shown["private"] is True and shown["permissions"]["push"] is True
