"""REST endpoints a GitHub App calls with its JWT: who it is, where it is installed, and
installation access tokens (one hour, limited to the repositories and permissions asked for)."""

from __future__ import annotations

from typing import Any

from sim.github.credentials import Installation, permissions_granted
from sim.github.rest import ApiError, ApiRequest, Handler, Reply, not_found
from sim.github.shapes import installation_json, repo_json, user_json
from sim.github.state import Repo, iso

D = "https://docs.github.com/rest/apps/apps"
TOKEN_DOCS = f"{D}#create-an-installation-access-token-for-an-app"
REPOS_NOT_ACCESSIBLE = (
    "There is at least one repository that does not exist or is not accessible to the parent installation."
)
PERMISSIONS_NOT_GRANTED = "The permissions requested are not granted to this installation."


async def get_app(req: ApiRequest) -> Reply:
    app = req.require_app()
    owner = req.forge.owner(next(iter(app.installations.values())).account if app.installations else app.slug)
    return Reply(200, {
        "id": app.app_id, "slug": app.slug, "client_id": app.client_id, "name": app.slug,
        "owner": user_json(owner, req.forge.site), "permissions": dict(app.permissions), "events": [],
        "installations_count": len(app.installations), "html_url": f"{req.forge.site.url}/apps/{app.slug}",
    })  # fmt: skip


async def get_repo_installation(req: ApiRequest) -> Reply:
    docs = f"{D}#get-a-repository-installation-for-the-authenticated-app"
    app = req.require_app()
    repo = req.forge.repo(req.arg("owner"), req.arg("repo"))
    installation = next(
        (
            i
            for i in app.installations.values()
            if repo is not None and i.account.lower() == repo.owner.lower()
        ),
        None,
    )
    if installation is None:
        raise not_found(docs)
    return Reply(200, installation_json(installation, req.forge.owner(installation.account), req.forge.site))


def _requested_repos(req: ApiRequest, installation: Installation) -> list[Repo]:
    names, ids = req.field("repositories") or [], req.field("repository_ids") or []
    if not isinstance(names, list) or not isinstance(ids, list):
        raise ApiError(422, REPOS_NOT_ACCESSIBLE, TOKEN_DOCS)
    found: list[Repo] = []
    for name in names:
        repo = req.forge.repo(installation.account, str(name).split("/")[-1])
        if repo is None:
            raise ApiError(422, REPOS_NOT_ACCESSIBLE, TOKEN_DOCS)
        found.append(repo)
    for repo_id in ids:
        repo = req.forge.repo_by_id(repo_id) if isinstance(repo_id, int) else None
        if repo is None or repo.owner.lower() != installation.account.lower():
            raise ApiError(422, REPOS_NOT_ACCESSIBLE, TOKEN_DOCS)
        found.append(repo)
    return list({r.id: r for r in found}.values())


async def create_installation_token(req: ApiRequest) -> Reply:
    app = req.require_app()
    try:
        installation = app.installations.get(int(req.arg("installation_id")))
    except ValueError:
        installation = None
    if installation is None:
        raise not_found(TOKEN_DOCS)
    repos = _requested_repos(req, installation)
    requested = req.field("permissions") or {}
    if not isinstance(requested, dict) or not permissions_granted(requested, installation.permissions):
        raise ApiError(422, PERMISSIONS_NOT_GRANTED, TOKEN_DOCS)
    now = req.forge.clock.now()
    token = req.credentials.mint(installation, requested, repos, now)
    shown: dict[str, Any] = {
        "token": token.value, "expires_at": iso(token.expires_at or now), "permissions": dict(token.permissions),
        "repository_selection": "selected" if repos else "all",
    }  # fmt: skip
    if repos:
        shown["repositories"] = [repo_json(r, req.forge.owner(r.owner), token) for r in repos]
    req.emit(
        "installation_token", {"installation_id": installation.id, "body": req.body, "token": token.value}
    )
    return Reply(201, shown)


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/app", get_app),
    ("GET", "/repos/{owner}/{repo}/installation", get_repo_installation),
    ("POST", "/app/installations/{installation_id}/access_tokens", create_installation_token),
]
