"""REST endpoints about the caller and about repositories' git data: /user, /rate_limit,
repos, branches, refs, commits and compare."""

from __future__ import annotations

import re

from sim.github.git_store import EMPTY_TREE
from sim.github.rest import ApiError, ApiRequest, Handler, Reply, not_found, not_supplied
from sim.github.shapes import commit_json, file_json, ref_json, repo_json, user_json
from sim.github.state import Repo, iso

D = "https://docs.github.com/rest"
REFS_DOCS = f"{D}/git/refs"
SHA = re.compile(r"[0-9a-f]{40}")
COMPARE_LIMIT = 250


async def get_user(req: ApiRequest) -> Reply:
    token = req.require_token()
    if token.kind == "installation":
        raise ApiError(
            403, "Resource not accessible by integration", f"{D}/users/users#get-the-authenticated-user"
        )
    shown = user_json(token.user, req.forge.site)
    shown.update(name=token.login, email=None, created_at=iso(0), updated_at=iso(0))
    return Reply(200, shown)


async def get_rate_limit(req: ApiRequest) -> Reply:
    core = req.budget.to_json()
    search = {"limit": 30, "used": 0, "remaining": 30, "reset": core["reset"]}
    graphql = {"limit": 5000, "used": 0, "remaining": 5000, "reset": core["reset"]}
    return Reply(200, {"resources": {"core": core, "search": search, "graphql": graphql}, "rate": core})


async def get_repo(req: ApiRequest) -> Reply:
    repo = req.repo()
    return Reply(200, repo_json(repo, req.forge.owner(repo.owner), req.token))


async def get_branch(req: ApiRequest) -> Reply:
    docs = f"{D}/branches/branches#get-a-branch"
    repo = req.repo("contents", docs=docs)
    name = req.arg("branch")
    sha = await repo.git.branch_tip(name)
    info = await repo.git.commit_info(sha) if sha else None
    if info is None:
        raise ApiError(404, "Branch not found", docs)
    branch_api = f"{repo.api_url}/branches/{name}"
    return Reply(200, {
        "name": name, "commit": commit_json(repo, info), "protected": False,
        "protection": {"enabled": False, "required_status_checks": {"enforcement_level": "off", "contexts": []}},
        "protection_url": f"{branch_api}/protection",
        "_links": {"self": branch_api, "html": f"{repo.html_url}/tree/{name}"},
    })  # fmt: skip


async def get_ref(req: ApiRequest) -> Reply:
    repo = req.repo("contents", docs=f"{REFS_DOCS}#get-a-reference")
    ref = "refs/" + req.arg("ref")
    sha = await repo.git.resolve(ref) if await repo.git.valid_ref_name(ref) else None
    if sha is None:
        raise not_found(f"{REFS_DOCS}#get-a-reference")
    return Reply(200, ref_json(repo, ref, sha))


async def _commit_sha(req: ApiRequest, repo: Repo, docs: str) -> str:
    """The existing commit the body's `sha` names (a full sha, as GitHub requires)."""
    sha = req.field("sha")
    if not isinstance(sha, str) or not sha:
        raise not_supplied("sha", docs)
    found = await repo.git.resolve(sha) if SHA.fullmatch(sha) else None
    if found is None:
        raise ApiError(422, "Object does not exist", docs)
    return found


async def create_ref(req: ApiRequest) -> Reply:
    docs = f"{REFS_DOCS}#create-a-reference"
    repo = req.repo("contents", "write", docs=docs)
    ref = req.field("ref")
    if not isinstance(ref, str) or not ref:
        raise not_supplied("ref", docs)
    if not ref.startswith("refs/") or ref.count("/") < 2 or not await repo.git.valid_ref_name(ref):
        raise ApiError(422, "Reference name must start with 'refs/' and have at least two slashes.", docs)
    sha = await _commit_sha(req, repo, docs)
    if await repo.git.resolve(ref) is not None or not await repo.git.set_ref(ref, sha, None):
        raise ApiError(422, "Reference already exists", docs)
    req.emit("ref", {"repo": repo.full_name, "ref": ref, "sha": sha, "action": "created"})
    return Reply(201, ref_json(repo, ref, sha), {"Location": f"{repo.api_url}/git/{ref}"})


async def update_ref(req: ApiRequest) -> Reply:
    docs = f"{REFS_DOCS}#update-a-reference"
    repo = req.repo("contents", "write", docs=docs)
    ref = "refs/" + req.arg("ref")
    sha = await _commit_sha(req, repo, docs)
    current = await repo.git.resolve(ref) if await repo.git.valid_ref_name(ref) else None
    if current is None:
        raise ApiError(422, "Reference does not exist", docs)
    forced = req.field("force") is True
    if not forced and not await repo.git.is_ancestor(current, sha):
        raise ApiError(422, "Update is not a fast forward", docs)
    if not await repo.git.set_ref(ref, sha, current):
        raise ApiError(422, "Update is not a fast forward", docs)
    req.emit("ref", {"repo": repo.full_name, "ref": ref, "sha": sha, "action": "updated"})
    return Reply(200, ref_json(repo, ref, sha))


async def delete_ref(req: ApiRequest) -> Reply:
    docs = f"{REFS_DOCS}#delete-a-reference"
    repo = req.repo("contents", "write", docs=docs)
    ref = "refs/" + req.arg("ref")
    current = await repo.git.resolve(ref) if await repo.git.valid_ref_name(ref) else None
    if current is None or not await repo.git.delete_ref(ref, current):
        raise ApiError(422, "Reference does not exist", docs)
    req.emit("ref", {"repo": repo.full_name, "ref": ref, "sha": None, "action": "deleted"})
    return Reply(204)


async def get_commit(req: ApiRequest) -> Reply:
    docs = f"{D}/commits/commits#get-a-commit"
    repo = req.repo("contents", docs=docs)
    wanted = req.arg("ref")
    sha = await repo.git.resolve(wanted)
    info = await repo.git.commit_info(sha) if sha else None
    if info is None:
        raise ApiError(422, f"No commit found for SHA: {wanted}", docs)
    changes = await repo.git.changes(info.parents[0] if info.parents else EMPTY_TREE, info.sha)
    return Reply(200, commit_json(repo, info, changes))


async def compare(req: ApiRequest) -> Reply:
    docs = f"{D}/commits/commits#compare-two-commits"
    repo = req.repo("contents", docs=docs)
    base_name, dots, head_name = req.arg("basehead").partition("...")
    if not dots:
        raise not_found(docs)
    names = [
        n.split(":", 1)[1] if n.lower().startswith(repo.owner.lower() + ":") else n
        for n in (base_name, head_name)
    ]
    base, head = await repo.git.resolve(names[0]), await repo.git.resolve(names[1])
    if base is None or head is None:
        raise not_found(docs)
    merge_base = await repo.git.merge_base(base, head)
    if merge_base is None:
        raise ApiError(404, f"No common ancestor between {base_name} and {head_name}.", docs)
    ahead, behind = await repo.git.count(base, head), await repo.git.count(head, base)
    status = (
        "identical"
        if not ahead and not behind
        else "ahead"
        if not behind
        else "behind"
        if not ahead
        else "diverged"
    )
    commits = await repo.git.log(f"{base}..{head}", reverse=True)
    base_info, merge_base_info = await repo.git.commit_info(base), await repo.git.commit_info(merge_base)
    changes = await repo.git.changes(merge_base, head)
    spec = f"{base_name}...{head_name}"
    return Reply(200, {
        "url": f"{repo.api_url}/compare/{spec}", "html_url": f"{repo.html_url}/compare/{spec}",
        "permalink_url": f"{repo.html_url}/compare/{repo.owner}:{base[:7]}...{repo.owner}:{head[:7]}",
        "diff_url": f"{repo.html_url}/compare/{spec}.diff", "patch_url": f"{repo.html_url}/compare/{spec}.patch",
        "base_commit": commit_json(repo, base_info), "merge_base_commit": commit_json(repo, merge_base_info),
        "status": status, "ahead_by": ahead, "behind_by": behind, "total_commits": ahead,
        "commits": [commit_json(repo, c) for c in commits[:COMPARE_LIMIT]],
        "files": [file_json(repo, c, head) for c in changes],
    })  # fmt: skip


REPO = "/repos/{owner}/{repo}"
ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/user", get_user),
    ("GET", "/rate_limit", get_rate_limit),
    ("GET", REPO, get_repo),
    ("GET", REPO + "/branches/{branch:.+}", get_branch),
    ("GET", REPO + "/git/ref/{ref:.+}", get_ref),
    ("GET", REPO + "/git/refs/{ref:.+}", get_ref),
    ("POST", REPO + "/git/refs", create_ref),
    ("PATCH", REPO + "/git/refs/{ref:.+}", update_ref),
    ("DELETE", REPO + "/git/refs/{ref:.+}", delete_ref),
    ("GET", REPO + "/commits/{ref:.+}", get_commit),
    ("GET", REPO + "/compare/{basehead:.+}", compare),
]
