"""Credentials for git over HTTP, handed to each git process in its environment and nowhere else.

The GitHub token (GITHUB_TOKEN, or a GitHub App installation token for that one repo) goes into
an `http.<origin>.extraHeader` set through GIT_CONFIG_COUNT/KEY/VALUE variables, scoped to the
GitHub host: never into a remote URL, a config file, argv or the sandbox. Other hosts use
whatever git credential helper the bot's user has configured.
"""

from __future__ import annotations

import base64
from urllib.parse import urlparse

from bot.repos.github_auth import GitHubAuth
from bot.settings import Settings

NO_PROMPTS = {"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never", "GIT_SSH_COMMAND": "ssh -oBatchMode=yes"}


class GitAuth:
    def __init__(self, settings: Settings, github: GitHubAuth | None = None) -> None:
        self.github = github or GitHubAuth(settings)
        parsed = urlparse(settings.github_web_url)
        self.origin = f"{parsed.scheme}://{parsed.netloc}/"

    async def env_for(self, url: str) -> dict[str, str]:
        """Extra environment for a git command that talks to `url`."""
        env = dict(NO_PROMPTS)
        if not url.startswith(self.origin):
            return env
        owner_repo = url[len(self.origin):].removesuffix(".git").split("/")
        token = await self.github.token_for(owner_repo[0], owner_repo[1]) if len(owner_repo) >= 2 else None
        if token:
            basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
            env.update(GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0=f"http.{self.origin}.extraHeader",
                       GIT_CONFIG_VALUE_0=f"Authorization: Basic {basic}")
        return env
