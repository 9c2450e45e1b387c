"""Which repos on the bot's own disk may be linked.

A local path or `file://` URL linked from Slack must lie inside a directory the admin named in
`CHATOPS_LOCAL_REPOS_DIR` (none by default: linking by path from Slack is off). Whoever links it,
the bot's own places never qualify: `CHATOPS_HOME` (its store, keys and the mirrors it keeps of
other channels' repos), its worktrees, and the tmpfs where worktrees live. Paths are compared
after resolving symlinks, so a link that leads into those places is refused too.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from bot.errors import UserError
from bot.settings import Settings

WORKTREE_TMPFS = Path("/dev/shm")


class LocalRepoError(UserError):
    """A local repo that may not be linked; the message says why, for people."""


def local_path(url: str) -> Path | None:
    """The directory a repo URL points at on this machine, or None for a remote repo."""
    if url.startswith("file://"):
        return Path(urlparse(url).path)
    path = Path(url).expanduser()
    return path if path.is_absolute() else None


def bot_owned(settings: Settings) -> list[Path]:
    owned = [settings.home, WORKTREE_TMPFS]
    if settings.worktrees_dir is not None:
        owned.append(settings.worktrees_dir)
    return [p.resolve() for p in owned]


def check_local(path: Path, settings: Settings, *, from_slack: bool) -> None:
    """Refuse (LocalRepoError) a local repo this link may not read."""
    resolved = path.resolve()
    if any(_within(resolved, owned) for owned in bot_owned(settings)):
        raise LocalRepoError("That path is one of the bot's own folders (its home, mirrors or worktrees); "
                             "it can't be linked.")
    if not from_slack:
        return  # declared by the admin in chatops.yml
    allowed = [p.resolve() for p in settings.local_repos_dirs]
    if not allowed:
        raise LocalRepoError("Linking a repo by its path on the bot's machine is off. Link it by `owner/name` or a "
                             "git URL, or ask an admin to allow a folder with `CHATOPS_LOCAL_REPOS_DIR`.")
    if not any(_within(resolved, folder) for folder in allowed):
        raise LocalRepoError("Repos linked by path must be inside the folders an admin allowed "
                             "(`CHATOPS_LOCAL_REPOS_DIR`).")


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents
