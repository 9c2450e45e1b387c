"""All configuration, in one frozen object.

`Settings.from_env` is called once, by the CLI, with the process environment and an optional
`chatops.yml`; nothing else reads `os.environ`. Tests build `Settings(...)` directly.
Every missing or invalid key is reported at once, with what to set.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from bot.config import ChannelConfig, load_config_file
from bot.data.sources.links import PASSWORD_PREFIX
from bot.errors import SettingsError

SLACK_API_URL = "https://slack.com/api/"
GITHUB_API_URL = "https://api.github.com"


@dataclass(frozen=True)
class Settings:
    home: Path
    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    slack_api_url: str = SLACK_API_URL
    openai_base_url: str | None = None
    openai_api_key: str | None = None
    model: str | None = None
    model_timeout: float = 60.0
    model_retries: int = 2
    model_stream: str = "auto"  # auto | on | off
    context_tokens: int = 32_000
    max_steps: int = 20
    max_run_seconds: float = 300.0
    max_run_tokens: int = 200_000
    concurrency: int = 256
    slack_streaming: bool = True
    progress_interval: float = 1.5
    log_level: str = "INFO"
    github_api_url: str = GITHUB_API_URL
    github_token: str | None = None
    github_app_id: int | None = None
    github_app_private_key: str | None = None
    git_author: tuple[str, str] = ("chatops", "chatops@users.noreply.github.com")
    preview_ttl: float = 24 * 3600.0  # seconds a change preview waits for Open PR / Discard
    repo_freshness: float = 60.0
    worktrees_dir: Path | None = None  # None: a tmpfs under /dev/shm when there is room, else home/worktrees
    sandbox_timeout: float = 120.0
    sandbox_max_processes: int = 256
    sandbox_user: int = 65534  # when the bot runs as root, commands run as this uid (so limits apply)
    sql_timeout: float = 10.0  # seconds per query on a linked data source
    sql_max_rows: int = 1000  # rows a query returns to a person or the model (more: "truncated")
    data_dir: Path | None = None  # files linked with /chatops link data must be here (None: home/data)
    data_passwords: Mapping[str, str] = field(default_factory=dict)  # CHATOPS_DATA_PASSWORD_<NAME> -> value
    local_repos_dirs: tuple[Path, ...] = ()  # folders whose repos /chatops link repo may name by path
    data_hosts: tuple[str, ...] = ()  # database servers (host or host:port) that /chatops link data may name
    config_path: Path | None = None
    channels: Mapping[str, ChannelConfig] = field(default_factory=dict)
    default_channel: ChannelConfig = field(default_factory=ChannelConfig)

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    @property
    def model_configured(self) -> bool:
        return bool(self.model)

    @property
    def db_path(self) -> Path:
        return self.home / "chatops.db"

    @property
    def data_folder(self) -> Path:
        return self.data_dir or self.home / "data"

    @property
    def github_web_url(self) -> str:
        """github.com for the public API; for GitHub Enterprise (https://host/api/v3), https://host."""
        parsed = urlparse(self.github_api_url)
        if parsed.netloc == "api.github.com":
            return "https://github.com"
        path = parsed.path.rstrip("/")
        path = path[: -len("/api/v3")] if path.endswith("/api/v3") else path
        return f"{parsed.scheme}://{parsed.netloc}{path}"

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in Slack, logs, the sandbox or a PR."""
        values = (self.slack_bot_token, self.slack_app_token, self.slack_signing_secret, self.openai_api_key,
                  self.github_token, self.github_app_private_key, *self.data_passwords.values())
        return tuple(v for v in values if v and len(v) >= 8)

    def channel(self, channel_id: str, channel_name: str | None = None) -> ChannelConfig:
        """The config for a channel, by id first, then by name (`#name` or `name`)."""
        for key in (channel_id, f"#{channel_name}" if channel_name else None, channel_name):
            if key and key in self.channels:
                return self.channels[key]
        return self.default_channel

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], *, for_slack: bool = False, cwd: Path | None = None) -> Settings:
        """Build settings from environment variables (and chatops.yml); raise SettingsError listing every problem.

        `for_slack=True` also requires the Slack credentials (`chatops run`); dev mode does not.
        """
        problems: list[str] = []
        env = _Env(environ, problems)
        home = Path(env.text("CHATOPS_HOME") or Path.home() / ".chatops").expanduser()
        values: dict[str, Any] = dict(
            home=home,
            slack_bot_token=env.text("SLACK_BOT_TOKEN"),
            slack_app_token=env.text("SLACK_APP_TOKEN"),
            slack_signing_secret=env.text("SLACK_SIGNING_SECRET"),
            slack_api_url=env.url("SLACK_API_URL") or SLACK_API_URL,
            openai_base_url=env.url("OPENAI_BASE_URL"),
            openai_api_key=env.text("OPENAI_API_KEY"),
            model=env.text("CHATOPS_MODEL"),
            model_timeout=env.number("CHATOPS_MODEL_TIMEOUT", float, 60.0, minimum=1),
            model_retries=env.number("CHATOPS_MODEL_RETRIES", int, 2, minimum=0),
            model_stream=env.choice("CHATOPS_MODEL_STREAM", ("auto", "on", "off"), "auto"),
            context_tokens=env.number("CHATOPS_CONTEXT_TOKENS", int, 32_000, minimum=2_000),
            max_steps=env.number("CHATOPS_MAX_STEPS", int, 20, minimum=1),
            max_run_seconds=env.number("CHATOPS_MAX_RUN_SECONDS", float, 300.0, minimum=1),
            max_run_tokens=env.number("CHATOPS_MAX_RUN_TOKENS", int, 200_000, minimum=1_000),
            concurrency=env.number("CHATOPS_CONCURRENCY", int, 256, minimum=1),
            slack_streaming=env.choice("CHATOPS_SLACK_STREAMING", ("on", "off"), "on") == "on",
            log_level=env.choice("CHATOPS_LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO", upper=True),
            github_api_url=(env.url("GITHUB_API_URL") or GITHUB_API_URL).rstrip("/"),
            github_token=env.text("GITHUB_TOKEN"),
            github_app_id=env.number("GITHUB_APP_ID", int, None, minimum=1),
            github_app_private_key=_private_key(env, problems),
            git_author=(env.text("CHATOPS_GIT_NAME") or "chatops",
                        env.text("CHATOPS_GIT_EMAIL") or "chatops@users.noreply.github.com"),
            preview_ttl=env.number("CHATOPS_PREVIEW_TTL", float, 24 * 3600.0, minimum=60),
            repo_freshness=env.number("CHATOPS_REPO_FRESHNESS", float, 60.0, minimum=0),
            worktrees_dir=_path(env.text("CHATOPS_WORKTREES")),
            sandbox_timeout=env.number("CHATOPS_SANDBOX_TIMEOUT", float, 120.0, minimum=1),
            sandbox_max_processes=env.number("CHATOPS_SANDBOX_MAX_PROCESSES", int, 256, minimum=8),
            sandbox_user=env.number("CHATOPS_SANDBOX_UID", int, 65534, minimum=1),
            sql_timeout=env.number("CHATOPS_SQL_TIMEOUT", float, 10.0, minimum=0.1),
            sql_max_rows=env.number("CHATOPS_SQL_MAX_ROWS", int, 1000, minimum=1),
            data_dir=_path(env.text("CHATOPS_DATA_DIR")),
            local_repos_dirs=tuple(Path(p).expanduser() for p in (env.text("CHATOPS_LOCAL_REPOS_DIR") or "").split(
                os.pathsep) if p),
            data_hosts=tuple(h.lower() for h in re.split(r"[,\s]+", env.text("CHATOPS_DATA_HOSTS") or "") if h),
            data_passwords={key: value for key, value in environ.items()
                            if key.startswith(PASSWORD_PREFIX) and value},
        )
        if values["slack_bot_token"] and not values["slack_bot_token"].startswith("xoxb-"):
            problems.append("SLACK_BOT_TOKEN must be a bot token starting with `xoxb-` (OAuth & Permissions page).")
        if values["slack_app_token"] and not values["slack_app_token"].startswith("xapp-"):
            problems.append("SLACK_APP_TOKEN must be an app-level token starting with `xapp-` "
                            "(Basic Information page).")
        if for_slack:
            if not values["slack_bot_token"]:
                problems.append("SLACK_BOT_TOKEN is missing: install the app to your workspace and copy the bot token.")
            if not values["slack_app_token"] and not values["slack_signing_secret"]:
                problems.append(
                    "Set SLACK_APP_TOKEN (Socket Mode, recommended) or SLACK_SIGNING_SECRET (HTTP Events API)."
                )
        if bool(values["github_app_id"]) != bool(values["github_app_private_key"]):
            problems.append("A GitHub App needs both GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY (or _PATH).")
        if (values["openai_base_url"] or values["openai_api_key"]) and not values["model"]:
            problems.append("CHATOPS_MODEL is missing: name the model to use at your endpoint (e.g. `gpt-4.1`).")
        if values["model"] and not values["openai_base_url"] and not values["openai_api_key"]:
            problems.append("CHATOPS_MODEL is set but neither OPENAI_API_KEY nor OPENAI_BASE_URL is.")

        config_path = _find_config(env.text("CHATOPS_CONFIG"), cwd or Path.cwd(), home, problems)
        if config_path is not None:
            loaded = load_config_file(config_path, problems)
            if loaded is not None:
                values["default_channel"], values["channels"] = loaded
        values["config_path"] = config_path
        if problems:
            raise SettingsError(problems)
        return cls(**values)


def _path(text: str | None) -> Path | None:
    return Path(text).expanduser() if text else None


def _private_key(env: _Env, problems: list[str]) -> str | None:
    """GITHUB_APP_PRIVATE_KEY (the PEM itself) or GITHUB_APP_PRIVATE_KEY_PATH (a file holding it)."""
    pem = env.text("GITHUB_APP_PRIVATE_KEY")
    path = env.text("GITHUB_APP_PRIVATE_KEY_PATH")
    if path and not pem:
        try:
            pem = Path(path).expanduser().read_text()
        except OSError as exc:
            problems.append(f"GITHUB_APP_PRIVATE_KEY_PATH: cannot read {path} ({exc.strerror}).")
            return None
    if pem and "PRIVATE KEY-----" not in pem:
        problems.append("GITHUB_APP_PRIVATE_KEY must be the app's PEM private key (-----BEGIN ... PRIVATE KEY-----).")
        return None
    return pem.replace("\\n", "\n") if pem else None


def _find_config(explicit: str | None, cwd: Path, home: Path, problems: list[str]) -> Path | None:
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            problems.append(f"CHATOPS_CONFIG points at {path}, which is not a file.")
            return None
        return path
    for candidate in (cwd / "chatops.yml", home / "chatops.yml"):
        if candidate.is_file():
            return candidate
    return None


class _Env:
    """Reads typed values from the environment, collecting problems instead of raising."""

    def __init__(self, environ: Mapping[str, str], problems: list[str]) -> None:
        self.environ = environ
        self.problems = problems

    def text(self, key: str) -> str | None:
        value = self.environ.get(key, "").strip()
        return value or None

    def url(self, key: str) -> str | None:
        value = self.text(key)
        if value is None:
            return None
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            self.problems.append(f"{key} must be an http(s) URL (got {value!r}).")
            return None
        return value

    def number(self, key: str, kind: Callable[[str], Any], default: Any, *, minimum: float) -> Any:
        raw = self.text(key)
        if raw is None:
            return default
        try:
            value = kind(raw)
        except ValueError:
            value = None
        if value is None or value < minimum:
            noun = "a whole number" if kind is int else "a number"
            self.problems.append(f"{key} must be {noun} of at least {minimum:g} (got {raw!r}).")
            return default
        return value

    def choice(self, key: str, options: tuple[str, ...], default: str, *, upper: bool = False) -> str:
        raw = self.text(key)
        if raw is None:
            return default
        value = raw.upper() if upper else raw.lower()
        if value not in options:
            self.problems.append(f"{key} must be one of {', '.join(options)} (got {raw!r}).")
            return default
        return value
