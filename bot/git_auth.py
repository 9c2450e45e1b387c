"""Credentials for git over HTTP, handed to each git process in its environment and nowhere else.

The GitHub token goes into an `http.<origin>.extraHeader` set through GIT_CONFIG_COUNT/KEY/VALUE
variables, scoped to the GitHub host: never into a remote URL, a config file, argv or the
sandbox. Other hosts use whatever git credential helper the bot's user has configured.
"""

from __future__ import annotations

import base64
from urllib.parse import urlparse

from bot.settings import Settings

NO_PROMPTS = {"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never", "GIT_SSH_COMMAND": "ssh -oBatchMode=yes"}


class GitAuth:
    def __init__(self, settings: Settings) -> None:
        self.token = settings.github_token
        parsed = urlparse(settings.github_web_url)
        self.origin = f"{parsed.scheme}://{parsed.netloc}/"

    async def env_for(self, url: str) -> dict[str, str]:
        """Extra environment for a git command that talks to `url`."""
        env = dict(NO_PROMPTS)
        if self.token and url.startswith(self.origin):
            basic = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
            env.update(GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0=f"http.{self.origin}.extraHeader",
                       GIT_CONFIG_VALUE_0=f"Authorization: Basic {basic}")
        return env
