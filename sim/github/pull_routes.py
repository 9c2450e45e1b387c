"""REST endpoints for pull requests and their conversation comments.

A pull request's head follows its branch while it is open (pushes move `head.sha`); deleting
the head branch closes it, as on GitHub. Creation refuses what GitHub refuses, with its
wording: a second open PR for the same head and base, a head with nothing new, a missing branch.
"""

from __future__ import annotations

from typing import Any

from sim.github.git_store import EMPTY_TREE
from sim.github.rest import ApiError, ApiRequest, Handler, Reply, not_found, not_supplied, validation_failed
from sim.github.shapes import comment_json, commit_json, file_json, pull_json
from sim.github.state import Comment, PullRequest, Repo

D = "https://docs.github.com/rest/pulls/pulls"
CREATE_DOCS = f"{D}#create-a-pull-request"
COMMENT_DOCS = "https://docs.github.com/rest/issues/comments#create-an-issue-comment"
STATES = ("open", "closed", "all")


def _invalid(field: str, docs: str, resource: str = "PullRequest") -> ApiError:
    return validation_failed(docs, {"resource": resource, "field": field, "code": "invalid"})


def _custom(message: str, docs: str) -> ApiError:
    return validation_failed(docs, {"resource": "PullRequest", "code": "custom", "message": message})


def _already_exists(repo: Repo, head_ref: str, docs: str) -> ApiError:
    return _custom(f"A pull request already exists for {repo.owner}:{head_ref}.", docs)


async def refresh(repo: Repo, pr: PullRequest, now: float) -> None:
    """Follow the branches of an open pull request; close it if its head branch is gone."""
    if pr.state != "open":
        return
    head = await repo.git.branch_tip(pr.head_ref)
    base = await repo.git.branch_tip(pr.base_ref)
    if head is None:
        pr.state, pr.closed_at, pr.updated_at = "closed", now, now
        return
    if head != pr.head_sha:
        pr.head_sha, pr.updated_at = head, now
    pr.base_sha = base or pr.base_sha


async def details(repo: Repo, pr: PullRequest, computed: bool = True) -> dict[str, Any]:
    """The fields only the single-PR endpoint has. GitHub computes mergeability in the background,
    so a freshly created PR says `mergeable: null`; `computed` gives the settled answer."""
    merge_base = await repo.git.merge_base(pr.base_sha, pr.head_sha)
    changes = await repo.git.changes(merge_base or EMPTY_TREE, pr.head_sha)
    mergeable = None
    if computed and pr.state == "open":
        mergeable = await repo.git.merges_cleanly(pr.base_sha, pr.head_sha)
    return {
        "mergeable": mergeable, "rebaseable": mergeable,
        "mergeable_state": "unknown" if mergeable is None else "clean" if mergeable else "dirty",
        "comments": sum(1 for c in repo.comments if c.number == pr.number),
        "commits": await repo.git.count(pr.base_sha, pr.head_sha),
        "additions": sum(c.additions for c in changes), "deletions": sum(c.deletions for c in changes),
        "changed_files": len(changes),
    }  # fmt: skip


def _head_branch(repo: Repo, head: str) -> str | None:
    """The branch `head` ("branch" or "owner:branch") names in this repo; None for another owner's."""
    owner, colon, branch = head.partition(":")
    if not colon:
        return head
    return branch if owner.lower() == repo.owner.lower() else None


def _pull(req: ApiRequest, repo: Repo, docs: str) -> PullRequest:
    try:
        pr = repo.pulls.get(int(req.arg("number")))
    except ValueError:
        pr = None
    if pr is None:
        raise not_found(docs)
    return pr


async def create_pull(req: ApiRequest) -> Reply:
    repo = req.repo("pull_requests", "write", docs=CREATE_DOCS)
    title, head, base = req.field("title"), req.field("head"), req.field("base")
    for name, value in (("head", head), ("base", base)):
        if not isinstance(value, str) or not value:
            raise not_supplied(name, CREATE_DOCS)
    if not isinstance(title, str) or not title.strip():
        raise validation_failed(
            CREATE_DOCS, {"resource": "PullRequest", "code": "missing_field", "field": "title"}
        )
    base_sha = await repo.git.branch_tip(base)
    if base_sha is None:
        raise _invalid("base", CREATE_DOCS)
    head_ref = _head_branch(repo, head)
    head_sha = await repo.git.branch_tip(head_ref) if head_ref else None
    if head_ref is None or head_sha is None:
        raise _invalid("head", CREATE_DOCS)
    now = req.forge.clock.now()
    for other in repo.pulls.values():
        await refresh(repo, other, now)
        if other.state == "open" and other.head_ref == head_ref and other.base_ref == base:
            raise _already_exists(repo, head_ref, CREATE_DOCS)
    if await repo.git.is_ancestor(head_sha, base_sha):
        raise _custom(f"No commits between {base} and {head}", CREATE_DOCS)
    pr = PullRequest(
        req.forge.next_id(), repo.take_number(), title, req.field("body"), head_ref, base, head_sha, base_sha,
        req.actor(), req.field("draft") is True, now, now,
        maintainer_can_modify=req.field("maintainer_can_modify") is True,
    )  # fmt: skip
    repo.pulls[pr.number] = pr
    req.emit("pull_request", {"action": "opened", "repo": repo.full_name, **pr.stored()})
    shown = pull_json(repo, pr, req.forge.owner(repo.owner), await details(repo, pr, computed=False))
    return Reply(201, shown, {"Location": shown["url"]})


async def list_pulls(req: ApiRequest) -> Reply:
    docs = f"{D}#list-pull-requests"
    repo = req.repo("pull_requests", docs=docs)
    query = req.http.query
    state = query.get("state", "open")
    if state not in STATES:
        raise _invalid("state", docs)
    now = req.forge.clock.now()
    found = []
    for pr in repo.pulls.values():
        await refresh(repo, pr, now)
        if state != "all" and pr.state != state:
            continue
        head = query.get("head")
        if head and ":" in head and (_head_branch(repo, head) != pr.head_ref):
            continue  # like GitHub, a head without "owner:" filters nothing
        if query.get("base") and query["base"] != pr.base_ref:
            continue
        found.append(pr)
    sort = query.get("sort", "created")
    key = (
        (lambda p: p.updated_at)
        if sort in ("updated", "long-running")
        else (lambda p: (p.created_at, p.number))
    )
    found.sort(key=key, reverse=query.get("direction", "desc" if sort == "created" else "asc") == "desc")
    shown, headers = req.page(found)
    owner = req.forge.owner(repo.owner)
    return Reply(200, [pull_json(repo, pr, owner) for pr in shown], headers)


async def get_pull(req: ApiRequest) -> Reply:
    docs = f"{D}#get-a-pull-request"
    repo = req.repo("pull_requests", docs=docs)
    pr = _pull(req, repo, docs)
    await refresh(repo, pr, req.forge.clock.now())
    return Reply(200, pull_json(repo, pr, req.forge.owner(repo.owner), await details(repo, pr)))


async def update_pull(req: ApiRequest) -> Reply:
    docs = f"{D}#update-a-pull-request"
    repo = req.repo("pull_requests", "write", docs=docs)
    pr = _pull(req, repo, docs)
    now = req.forge.clock.now()
    await refresh(repo, pr, now)
    state, base = req.field("state"), req.field("base")
    if state is not None and state not in ("open", "closed"):
        raise _invalid("state", docs)
    if base is not None and (not isinstance(base, str) or await repo.git.branch_tip(base) is None):
        raise _invalid("base", docs)
    if state == "open" and pr.state == "closed":
        if await repo.git.branch_tip(pr.head_ref) is None:
            raise _custom("state cannot be changed. The head branch has been deleted.", docs)
        if any(
            o.state == "open" and o.head_ref == pr.head_ref and o.base_ref == (base or pr.base_ref)
            for o in repo.pulls.values()
        ):
            raise _already_exists(repo, pr.head_ref, docs)
        pr.state, pr.closed_at = "open", None
    elif state == "closed" and pr.state == "open":
        pr.state, pr.closed_at = "closed", now
    for name in ("title", "body"):
        if isinstance(req.field(name), str):
            setattr(pr, name, req.field(name))
    if isinstance(req.field("maintainer_can_modify"), bool):
        pr.maintainer_can_modify = req.field("maintainer_can_modify")
    if base is not None:
        pr.base_ref = base
    pr.updated_at = now
    await refresh(repo, pr, now)
    req.emit("pull_request", {"action": "edited", "repo": repo.full_name, **pr.stored()})
    return Reply(200, pull_json(repo, pr, req.forge.owner(repo.owner), await details(repo, pr)))


async def list_pull_files(req: ApiRequest) -> Reply:
    docs = f"{D}#list-pull-requests-files"
    repo = req.repo("pull_requests", docs=docs)
    pr = _pull(req, repo, docs)
    await refresh(repo, pr, req.forge.clock.now())
    merge_base = await repo.git.merge_base(pr.base_sha, pr.head_sha)
    changes = await repo.git.changes(merge_base or EMPTY_TREE, pr.head_sha)
    shown, headers = req.page([file_json(repo, c, pr.head_sha) for c in changes])
    return Reply(200, shown, headers)


async def list_pull_commits(req: ApiRequest) -> Reply:
    docs = f"{D}#list-commits-on-a-pull-request"
    repo = req.repo("pull_requests", docs=docs)
    pr = _pull(req, repo, docs)
    await refresh(repo, pr, req.forge.clock.now())
    commits = await repo.git.log(f"{pr.base_sha}..{pr.head_sha}", reverse=True)
    shown, headers = req.page([commit_json(repo, c) for c in commits])
    return Reply(200, shown, headers)


async def create_comment(req: ApiRequest) -> Reply:
    repo = req.repo(("issues", "pull_requests"), "write", docs=COMMENT_DOCS)
    pr = _pull(req, repo, COMMENT_DOCS)
    body = req.field("body")
    if not isinstance(body, str) or not body:
        raise validation_failed(
            COMMENT_DOCS, {"resource": "IssueComment", "code": "missing_field", "field": "body"}
        )
    comment = Comment(req.forge.next_id(), pr.number, body, req.actor(), req.forge.clock.now())
    repo.comments.append(comment)
    req.emit("comment", {"repo": repo.full_name, **comment.stored()})
    shown = comment_json(repo, comment)
    return Reply(201, shown, {"Location": shown["url"]})


async def list_comments(req: ApiRequest) -> Reply:
    docs = "https://docs.github.com/rest/issues/comments#list-issue-comments"
    repo = req.repo(("issues", "pull_requests"), docs=docs)
    pr = _pull(req, repo, docs)
    shown, headers = req.page([comment_json(repo, c) for c in repo.comments if c.number == pr.number])
    return Reply(200, shown, headers)


REPO = "/repos/{owner}/{repo}"
ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", REPO + "/pulls", create_pull),
    ("GET", REPO + "/pulls", list_pulls),
    ("GET", REPO + "/pulls/{number}", get_pull),
    ("PATCH", REPO + "/pulls/{number}", update_pull),
    ("GET", REPO + "/pulls/{number}/files", list_pull_files),
    ("GET", REPO + "/pulls/{number}/commits", list_pull_commits),
    ("POST", REPO + "/issues/{number}/comments", create_comment),
    ("GET", REPO + "/issues/{number}/comments", list_comments),
]
