"""Which linked repo a request is about.

In order: an explicit `repo=name` (and `branch=x`) in the message; a linked repo named in the
message; the repo this thread was already about; a repo named earlier in the thread; the
channel's default (its first linked repo). When the message or thread names several linked
repos, it is genuinely ambiguous: the bot asks, with a dropdown, instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.errors import UserError
from bot.repos.links import RepoLink, find_repo

OPTION = re.compile(r"(?<![\w/])(repo|branch)=(\S+)", re.IGNORECASE)


@dataclass
class RepoChoice:
    request: str  # the request with repo=/branch= options taken out
    link: RepoLink | None = None
    branch: str | None = None
    candidates: list[RepoLink] = field(default_factory=list)  # non-empty: ask which one

    @property
    def ambiguous(self) -> bool:
        return self.link is None and bool(self.candidates)


def choose_repo(text: str, links: list[RepoLink], *, thread: Sequence[str] = (), thread_repo: str | None = None,
                picked: str | None = None, picked_branch: str | None = None) -> RepoChoice:
    options = {key.lower(): value.strip("`*_<>") for key, value in OPTION.findall(text)}
    request = " ".join(OPTION.sub("", text).split())
    branch = picked_branch or options.get("branch")
    if not links:
        return RepoChoice(request, branch=branch)
    wanted = picked or options.get("repo")
    if wanted:
        link = find_repo(links, wanted)
        if link is None:
            known = ", ".join(f"`{x.name}`" for x in links)
            raise UserError(f"No repo `{wanted}` is linked to this channel. Linked here: {known}. "
                            "Link another with `/chatops link repo owner/name`.")
        return RepoChoice(request, link, branch)
    named = _named(request, links)
    if len(named) == 1:
        return RepoChoice(request, named[0], branch)
    if len(named) > 1:
        return RepoChoice(request, None, branch, named)
    if thread_repo:
        link = find_repo(links, thread_repo)
        if link is not None:
            return RepoChoice(request, link, branch)
    named = _named(" ".join(thread), links)
    if len(named) == 1:
        return RepoChoice(request, named[0], branch)
    if len(named) > 1:
        return RepoChoice(request, None, branch, named)
    return RepoChoice(request, links[0], branch)


def _named(text: str, links: list[RepoLink]) -> list[RepoLink]:
    """Linked repos whose full or short name appears in the text as a word."""
    found = []
    for link in links:
        names = {link.name, link.short_name}
        if any(re.search(rf"(?<![\w/.-]){re.escape(name)}(?![\w-])", text, re.IGNORECASE) for name in names):
            found.append(link)
    return found
