"""Real clients for the GitHub emulator: the git command line, and JWTs signed by openssl."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WRITER = "ghp_writer000000000000000000000000000000"  # contents and pull_requests write, every repo
READER = "ghp_reader000000000000000000000000000000"  # contents and pull_requests read

IDENTITY = {
    "GIT_AUTHOR_NAME": "Chatops Bot",
    "GIT_AUTHOR_EMAIL": "bot@example.com",
    "GIT_COMMITTER_NAME": "Chatops Bot",
    "GIT_COMMITTER_EMAIL": "bot@example.com",
}


@dataclass
class GitResult:
    code: int
    out: str
    err: str


def basic(token: str) -> str:
    return "Basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()


class Git:
    """The git CLI as the bot runs it: a header from GIT_CONFIG_* variables, no prompts, no user config."""

    def __init__(self, home: Path) -> None:
        self.home = home
        home.mkdir(parents=True, exist_ok=True)

    def env(self, authorization: str | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") and k != "SSH_ASKPASS"}
        env.update(
            IDENTITY,
            HOME=str(self.home),
            GIT_CONFIG_NOSYSTEM="1",
            GIT_CONFIG_GLOBAL=os.devnull,
            GIT_TERMINAL_PROMPT="0",
            LC_ALL="C",
        )
        if authorization:
            env.update(
                GIT_CONFIG_COUNT="1",
                GIT_CONFIG_KEY_0="http.extraHeader",
                GIT_CONFIG_VALUE_0=f"Authorization: {authorization}",
            )
        return env

    async def __call__(self, *args: str, cwd: Path | None = None, auth: str | None = None) -> GitResult:
        process = await asyncio.create_subprocess_exec(
            "git", *args, cwd=cwd or self.home, env=self.env(auth),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), timeout=30)
        return GitResult(process.returncode, out.decode(), err.decode())

    async def ok(self, *args: str, cwd: Path | None = None, auth: str | None = None) -> str:
        result = await self(*args, cwd=cwd, auth=auth)
        assert result.code == 0, f"git {' '.join(args)} failed: {result.err}"
        return result.out

    async def commit_files(self, work: Path, files: dict[str, str], message: str) -> str:
        for path, content in files.items():
            (work / path).parent.mkdir(parents=True, exist_ok=True)
            (work / path).write_text(content)
        await self.ok("add", "--all", cwd=work)
        await self.ok("commit", "--quiet", "-m", message, cwd=work)
        return (await self.ok("rev-parse", "HEAD", cwd=work)).strip()


def make_key(path: Path, pkcs1: bool = False) -> str:
    """A 2048-bit RSA private key from openssl: PKCS#8 (OpenSSL 3's default) or PKCS#1 like GitHub's."""
    args = ["openssl", "genrsa", "-out", str(path)] + (["-traditional"] if pkcs1 else []) + ["2048"]
    subprocess.run(args, check=True, capture_output=True)
    return path.read_text()


def sign_jwt(key_path: Path, claims: dict[str, Any], alg: str = "RS256") -> str:
    """An RS256 JWT signed by openssl (an implementation independent of the emulator's verifier)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    signing_input = f"{part({'alg': alg, 'typ': 'JWT'})}.{part(claims)}"
    signature = subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", str(key_path)],
        input=signing_input.encode(),
        check=True,
        capture_output=True,
    ).stdout
    return signing_input + "." + base64.urlsafe_b64encode(signature).decode().rstrip("=")
