"""`chatops doctor`: check every setting and every outside dependency; say exactly what to fix."""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.agent.llm import ChatModel
from bot.data.catalog import ChannelData
from bot.data.sources.links import DataLink, DataLinkError
from bot.data.sources.source import QueryLimits
from bot.errors import ModelError, SettingsError, SkillError, UserError
from bot.repos.github_auth import GitHubAuth
from bot.settings import Settings
from bot.slack.client import make_web_client
from bot.store.sqlite import Store, StoreUnavailableError

TLS_MODES = ("require", "verify-ca", "verify-full")  # the sslmodes that never send a password in clear


@dataclass
class Check:
    ok: bool
    name: str
    detail: str


class Doctor:
    def __init__(self, environ: Mapping[str, str], echo: Callable[[str], None]) -> None:
        self.environ = environ
        self.echo = echo
        self.checks: list[Check] = []

    def report(self, ok: bool, name: str, detail: str) -> None:
        self.checks.append(Check(ok, name, detail))
        self.echo(f"  {'✓' if ok else '✗'} {name}: {detail}")

    async def run(self) -> int:
        self.echo("chatops doctor")
        settings = self._settings()
        if settings is not None:
            self._home(settings)
            await self._slack(settings)
            await self._github(settings)
            await self._model(settings)
            await self._data(settings)
        await self._tools()
        problems = sum(not c.ok for c in self.checks)
        self.echo("All good." if not problems else f"{problems} problem{'s' if problems != 1 else ''} found.")
        return 1 if problems else 0

    def _settings(self) -> Settings | None:
        try:
            settings = Settings.from_env(self.environ, for_slack=True)
        except SettingsError as exc:
            for problem in exc.problems:
                self.report(False, "settings", problem)
            try:  # keep checking what can be checked
                settings = Settings.from_env(self.environ, for_slack=False)
            except SettingsError:
                return None
            return settings
        source = f"config {settings.config_path}" if settings.config_path else "no chatops.yml (optional)"
        mode = "Socket Mode" if settings.socket_mode else "HTTP Events API"
        self.report(True, "settings", f"complete; {mode}; {source}")
        return settings

    async def _data(self, settings: Settings) -> None:
        """Every data source in chatops.yml opens read-only and lists its tables; each metric's table exists."""
        configs = [settings.default_channel, *settings.channels.values()]
        seen: set[tuple[str, str]] = set()
        for config in configs:
            data = ChannelData(config.data, config.metrics, QueryLimits(settings.sql_timeout, settings.sql_max_rows),
                               dict(settings.data_passwords), settings.home / "cache" / "duckdb")
            for link in config.data:
                if (link.name, link.url) in seen:
                    continue
                seen.add((link.name, link.url))
                self._tls(link, settings)
                try:
                    source = data.source(link.name)
                    tables = await asyncio.to_thread(source.tables)
                except (UserError, SkillError) as exc:
                    self.report(False, f"data `{link.name}`", str(exc))
                    continue
                wanted = {m.table for m in config.metrics if m.source == link.name}
                missing = sorted(t for t in wanted if t not in tables)
                detail = f"{source.engine}, read-only, {len(tables)} table(s)"
                if missing:
                    self.report(False, f"data `{link.name}`", f"{detail}; metrics use missing table(s) "
                                                              f"{', '.join(missing)}")
                else:
                    self.report(True, f"data `{link.name}`", detail)

    def _tls(self, link: DataLink, settings: Settings) -> None:
        """A source whose password would travel without TLS (libpq's default `prefer` falls back to clear)."""
        try:
            url = link.target.url
        except DataLinkError:
            return  # reported when the source is opened
        if url is None or not link.password(settings.data_passwords):
            return
        if str(url.query.get("sslmode", "prefer")) not in TLS_MODES:
            self.report(False, f"data `{link.name}`", f"would send {link.password_variable} without TLS: add "
                                                      "`?sslmode=verify-full` (or `require`) to its URL in chatops.yml")

    def _home(self, settings: Settings) -> None:
        try:
            store = Store.open(settings.db_path)
            store.close()
            self.report(True, "CHATOPS_HOME", f"{settings.home} is writable; database up to date")
        except StoreUnavailableError as exc:
            self.report(False, "CHATOPS_HOME", exc.message)

    async def _slack(self, settings: Settings) -> None:
        if not settings.slack_bot_token:
            return
        client = make_web_client(settings.slack_bot_token, settings.slack_api_url, max_rate_limit_wait=5)
        try:
            auth = await client.auth_test()
            self.report(True, "SLACK_BOT_TOKEN", f"works: @{auth.get('user')} in {auth.get('team')}")
        except SlackApiError as exc:
            self.report(False, "SLACK_BOT_TOKEN", f"rejected by Slack ({exc.response.get('error')}). Copy the "
                                                  "Bot User OAuth Token from OAuth & Permissions again.")
        except Exception as exc:
            self.report(False, "SLACK_API_URL", f"cannot reach {settings.slack_api_url} ({type(exc).__name__}).")
        if settings.slack_app_token:
            try:
                await client.apps_connections_open(app_token=settings.slack_app_token)
                self.report(True, "SLACK_APP_TOKEN", "works: Socket Mode connections can be opened")
            except SlackApiError as exc:
                self.report(False, "SLACK_APP_TOKEN", f"rejected ({exc.response.get('error')}). Create an app-level "
                                                      "token with the connections:write scope and enable Socket Mode.")
            except Exception as exc:
                self.report(False, "SLACK_APP_TOKEN", f"could not be checked ({type(exc).__name__}).")
        elif settings.slack_signing_secret:
            self.report(True, "SLACK_SIGNING_SECRET", "set (it can only be verified by a signed request from Slack)")
        if client.session:
            await client.session.close()

    async def _github(self, settings: Settings) -> None:
        if settings.github_app_id and settings.github_app_private_key:
            await self._github_app(settings)
            return
        if not settings.github_token:
            self.report(True, "GitHub", f"no GITHUB_TOKEN: public repos on {settings.github_web_url} only "
                                        "(set one to read private repos)")
            return
        url = f"{settings.github_api_url}/rate_limit"
        headers = {"Authorization": f"Bearer {settings.github_token}", "Accept": "application/vnd.github+json"}
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session, \
                    session.get(url, headers=headers) as response:
                if response.status == 200:
                    left = (await response.json()).get("resources", {}).get("core", {}).get("remaining", "?")
                    self.report(True, "GITHUB_TOKEN", f"accepted by {settings.github_api_url} ({left} requests left)")
                else:
                    self.report(False, "GITHUB_TOKEN", f"rejected by {settings.github_api_url} (HTTP "
                                                       f"{response.status}); create a token that can read your repos")
        except aiohttp.ClientError as exc:
            self.report(False, "GITHUB_API_URL", f"cannot reach {settings.github_api_url} ({type(exc).__name__}).")

    async def _github_app(self, settings: Settings) -> None:
        headers = {"Authorization": f"Bearer {GitHubAuth(settings).app_jwt()}", "Accept": "application/vnd.github+json"}
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session, \
                    session.get(f"{settings.github_api_url}/app", headers=headers) as response:
                body = await response.json(content_type=None)
                if response.status == 200:
                    self.report(True, "GitHub App", f"`{body.get('slug')}` (id {settings.github_app_id}) authenticates")
                else:
                    self.report(False, "GitHub App", f"GitHub rejected the app's JWT (HTTP {response.status}): check "
                                                     "GITHUB_APP_ID and the private key.")
        except aiohttp.ClientError as exc:
            self.report(False, "GITHUB_API_URL", f"cannot reach {settings.github_api_url} ({type(exc).__name__}).")

    async def _model(self, settings: Settings) -> None:
        if not settings.model_configured:
            self.report(False, "model", "not configured: set CHATOPS_MODEL and OPENAI_BASE_URL and/or "
                                        "OPENAI_API_KEY. Without a model the bot only explains how to set one.")
            return
        model = ChatModel(settings.replace(model_retries=0, model_timeout=min(settings.model_timeout, 30)))
        try:
            names = await model.list_models()
            if names and settings.model not in names:
                shown = ", ".join(names[:10]) + (" …" if len(names) > 10 else "")
                self.report(False, "CHATOPS_MODEL",
                            f"`{settings.model}` is not served by the endpoint; it has: {shown}")
                return
            started = time.monotonic()
            reply = await model.complete([{"role": "user", "content": "Reply with the single word OK."}])
            seconds = time.monotonic() - started
            self.report(True, "model", f"`{settings.model}` answered in {seconds:.1f} s ({reply.text.strip()[:20]!r})")
        except ModelError as exc:
            self.report(False, "model", exc.message)
        except Exception as exc:
            self.report(False, "model", f"the endpoint misbehaved ({type(exc).__name__}).")

    async def _tools(self) -> None:
        git = shutil.which("git")
        self.report(bool(git), "git", git or "not found: install git")
        rg = shutil.which("rg") or _venv_binary("rg")
        self.report(bool(rg), "ripgrep", rg or "not found: reinstall the package (the ripgrep wheel ships `rg`)")
        bwrap = shutil.which("bwrap")
        if not bwrap:
            self.report(False, "sandbox", "bubblewrap not found: `apt-get install bubblewrap`; without it the "
                                          "bot refuses to run commands.")
            return
        probe = await asyncio.create_subprocess_exec(
            bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-all", "--die-with-parent",
            "true", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(probe.communicate(), timeout=20)
        if probe.returncode == 0:
            self.report(True, "sandbox", f"bubblewrap works ({bwrap})")
        else:
            reason = (stderr.decode(errors="replace").strip().splitlines() or ["unknown error"])[-1]
            self.report(False, "sandbox", f"bubblewrap cannot create a sandbox here ({reason}). Unprivileged user "
                                          "namespaces may be disabled (sysctl kernel.unprivileged_userns_clone=1).")


def _venv_binary(name: str) -> str | None:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else None
