"""Linked repos: what a channel can ask about, and how each is named, cloned and linked to.

A repo is given as `owner/name` (on GitHub, or the GitHub Enterprise host of GITHUB_API_URL),
a git URL (https, ssh, file) or a local path (only where bot/repos/local.py allows). URLs are kept
without credentials: a token pasted into a URL is refused, never stored; GitHub auth comes from
GITHUB_TOKEN (bot/repos/git_auth.py).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlparse

from bot.errors import UserError
from bot.repos.local import LocalRepoError, check_local, local_path
from bot.settings import Settings
from bot.store.sqlite import Store

log = logging.getLogger(__name__)

OWNER_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class RepoLink:
    name: str  # how people refer to it: "acme/api" (or "ledger")
    url: str  # where to clone from, without credentials
    branch: str | None = None  # None: the remote's default branch
    source: str = "slack"  # "chatops.yml" or "slack"
    web_url: str | None = None  # https://github.com/acme/api when the remote is on GitHub
    checks: tuple[str, ...] = ()  # commands to run before proposing a change (chatops.yml)

    @property
    def owner_repo(self) -> tuple[str, str] | None:
        """("acme", "api") for a GitHub repo, else None."""
        if not self.web_url:
            return None
        owner, _, repo = self.web_url.rstrip("/").rpartition("/")
        return owner.rpartition("/")[2], repo

    @property
    def short_name(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    def permalink(self, sha: str, path: str, start: int | None = None, end: int | None = None) -> str | None:
        if not self.web_url:
            return None
        anchor = f"#L{start}" if start else ""
        if start and end and end != start:
            anchor += f"-L{end}"
        return f"{self.web_url}/blob/{sha}/{path}{anchor}"

    def cite(self, sha: str, path: str, start: int | None = None, end: int | None = None) -> str:
        """A receipt for code: a SHA-pinned link on GitHub, `path:10-20 @ abc1234` elsewhere."""
        lines = f":{start}" + (f"-{end}" if end and end != start else "") if start else ""
        link = self.permalink(sha, path, start, end)
        return f"[{path}{lines}]({link})" if link else f"`{path}{lines} @ {sha[:7]}`"


def parse_repo(spec: str, settings: Settings, *, branch: str | None = None, name: str | None = None,
               source: str = "slack") -> RepoLink:
    """Turn what a person wrote (owner/name, URL, path) into a RepoLink; UserError if it can't be one."""
    spec = spec.strip().strip("<>")  # Slack wraps URLs in <...>
    if "|" in spec:
        spec = spec.split("|", 1)[0]
    github = settings.github_web_url.rstrip("/")
    github_host = urlparse(github).netloc
    if OWNER_NAME.match(spec) and not os.path.exists(spec):  # os.path: False (not OSError) for a 300-char name
        return RepoLink(name or spec, f"{github}/{spec}.git", branch, source, f"{github}/{spec}")
    parsed = urlparse(spec)
    if parsed.scheme in ("http", "https"):
        if parsed.username or parsed.password:
            raise UserError("Please don't put credentials in a repo URL (they would end up in Slack and on disk). "
                            "Link it without them; for GitHub set `GITHUB_TOKEN`, for other hosts configure a git "
                            "credential helper for the bot's user.")
        path = parsed.path.strip("/").removesuffix(".git")
        if not path:
            raise UserError(f"`{spec}` does not name a repository.")
        url = f"{parsed.scheme}://{parsed.netloc}/{path}.git" if parsed.netloc == github_host else spec
        web = f"{parsed.scheme}://{parsed.netloc}/{path}" if parsed.netloc == github_host else None
        return RepoLink(name or path, url, branch, source, web)
    ssh = re.match(r"^(?:ssh://)?[\w.-]+@([\w.-]+)[:/](.+?)(?:\.git)?/?$", spec)
    if ssh:
        web = f"{github}/{ssh.group(2)}" if ssh.group(1) == github_host else None
        return RepoLink(name or ssh.group(2), spec, branch, source, web)
    local = Path(spec.removeprefix("file://")).expanduser()
    if local.is_absolute():
        return RepoLink(name or local.name.removesuffix(".git"), str(local), branch, source, None)
    raise UserError(f"I can't tell which repo `{spec}` is. Use `owner/name`, a git URL, or an absolute path.")


def linked_repos(settings: Settings, store: Store, channel: str, channel_name: str | None) -> list[RepoLink]:
    """The channel's repos: chatops.yml's first (in order), then those linked from Slack. The first is the default."""
    links: list[RepoLink] = []
    for entry in settings.channel(channel, channel_name).repos:
        link = parse_repo(entry.spec, settings, branch=entry.branch, name=entry.name, source="chatops.yml")
        links.append(replace(link, checks=entry.checks))
    for row in store.repo_links(channel):
        if not any(link.name == row["name"] for link in links):
            link = parse_repo(row["url"], settings, branch=row["branch"], name=row["name"])
            links.append(link)
    return [link for link in links if _may_read(link, settings)]


def _may_read(link: RepoLink, settings: Settings) -> bool:
    """Checked again on every read: a link saved before a folder was disallowed is not followed."""
    path = local_path(link.url)
    if path is None:
        return True
    try:
        check_local(path, settings, from_slack=link.source != "chatops.yml")
    except LocalRepoError as exc:
        log.warning("not reading linked repo %s (%s): %s", link.name, link.url, exc.message)
        return False
    return True


def find_repo(links: list[RepoLink], wanted: str) -> RepoLink | None:
    """A link by its full name, short name or URL (case-insensitive)."""
    wanted = wanted.strip().lower().removesuffix(".git")
    for link in links:
        if wanted in (link.name.lower(), link.url.lower().removesuffix(".git")):
            return link
    matches = [link for link in links if link.short_name.lower() == wanted]
    return matches[0] if len(matches) == 1 else None
