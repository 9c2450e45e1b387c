"""The JSON GitHub's REST API answers with, built from the emulator's state (subsets of the
real objects: every field a client is likely to read, with the same names and types)."""

from __future__ import annotations

import base64
import zlib
from typing import Any

from sim.github.credentials import Installation, Token
from sim.github.git_store import CommitInfo, FileChange
from sim.github.state import Comment, Person, PullRequest, Repo, Site, iso


def node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode().rstrip("=")


def user_json(person: Person, site: Site) -> dict[str, Any]:
    return {
        "login": person.login, "id": person.id, "node_id": node_id(person.type, person.id),
        "type": person.type, "site_admin": False,
        "url": f"{site.api_url}/users/{person.login}", "html_url": f"{site.url}/{person.login}",
        "avatar_url": f"{site.url}/avatars/{person.login}",
    }  # fmt: skip


def repo_permissions(repo: Repo, token: Token | None) -> dict[str, bool]:
    if token is None or not token.sees(repo):
        pull = not repo.private
        return {"admin": False, "maintain": False, "push": False, "triage": False, "pull": pull}
    push = token.level("contents") >= 2
    return {
        "admin": token.level("administration") >= 2,
        "maintain": False,
        "push": push,
        "triage": push or token.level("issues") >= 2,
        "pull": token.level("contents") >= 1 or not repo.private,
    }


def repo_json(repo: Repo, owner: Person, token: Token | None) -> dict[str, Any]:
    site = repo.site
    return {
        "id": repo.id, "node_id": node_id("Repository", repo.id), "name": repo.name, "full_name": repo.full_name,
        "private": repo.private, "visibility": "private" if repo.private else "public",
        "owner": user_json(owner, site), "html_url": repo.html_url, "description": repo.description,
        "fork": False, "url": repo.api_url, "clone_url": repo.clone_url,
        "git_url": f"git://{site.url.split('://', 1)[-1]}/{repo.full_name}.git",
        "ssh_url": f"git@{site.url.split('://', 1)[-1].split(':')[0]}:{repo.full_name}.git",
        "pulls_url": f"{repo.api_url}/pulls{{/number}}", "default_branch": repo.default_branch,
        "archived": False, "disabled": False, "is_template": False, "has_issues": True,
        "created_at": iso(repo.created_at), "updated_at": iso(repo.created_at), "pushed_at": iso(repo.created_at),
        "permissions": repo_permissions(repo, token),
    }  # fmt: skip


def ref_json(repo: Repo, ref: str, sha: str) -> dict[str, Any]:
    return {
        "ref": ref,
        "node_id": node_id("Ref", zlib.crc32(f"{repo.id}:{ref}".encode())),
        "url": f"{repo.api_url}/git/{ref}",
        "object": {"sha": sha, "type": "commit", "url": f"{repo.api_url}/git/commits/{sha}"},
    }


def file_json(repo: Repo, change: FileChange, rev: str) -> dict[str, Any]:
    shown = {
        "sha": change.blob_sha, "filename": change.filename, "status": change.status,
        "additions": change.additions, "deletions": change.deletions,
        "changes": change.additions + change.deletions,
        "blob_url": f"{repo.html_url}/blob/{rev}/{change.filename}",
        "raw_url": f"{repo.html_url}/raw/{rev}/{change.filename}",
        "contents_url": f"{repo.api_url}/contents/{change.filename}?ref={rev}",
    }  # fmt: skip
    if change.patch is not None:
        shown["patch"] = change.patch
    if change.previous_filename is not None:
        shown["previous_filename"] = change.previous_filename
    return shown


def commit_json(repo: Repo, info: CommitInfo, changes: list[FileChange] | None = None) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "sha": info.sha, "node_id": node_id("Commit", int(info.sha[:8], 16)),
        "url": f"{repo.api_url}/commits/{info.sha}", "html_url": f"{repo.html_url}/commit/{info.sha}",
        "comments_url": f"{repo.api_url}/commits/{info.sha}/comments",
        "commit": {
            "author": {"name": info.author_name, "email": info.author_email, "date": iso(info.authored_at)},
            "committer": {"name": info.committer_name, "email": info.committer_email,
                          "date": iso(info.committed_at)},
            "message": info.message, "comment_count": 0,
            "tree": {"sha": info.tree, "url": f"{repo.api_url}/git/trees/{info.tree}"},
            "url": f"{repo.api_url}/git/commits/{info.sha}",
            "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None},
        },
        "author": None, "committer": None,  # GitHub maps emails to accounts; the emulator has none
        "parents": [{"sha": p, "url": f"{repo.api_url}/commits/{p}", "html_url": f"{repo.html_url}/commit/{p}"}
                    for p in info.parents],
    }  # fmt: skip
    if changes is not None:
        additions = sum(c.additions for c in changes)
        deletions = sum(c.deletions for c in changes)
        shown["stats"] = {"total": additions + deletions, "additions": additions, "deletions": deletions}
        shown["files"] = [file_json(repo, c, info.sha) for c in changes]
    return shown


def pull_json(
    repo: Repo, pr: PullRequest, owner: Person, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A pull request; `details` (mergeable, commits, additions, ...) only on the single-PR endpoint."""
    site = repo.site
    api = f"{repo.api_url}/pulls/{pr.number}"
    base_repo = repo_json(repo, owner, None)
    shown: dict[str, Any] = {
        "url": api, "id": pr.id, "node_id": node_id("PullRequest", pr.id), "number": pr.number,
        "html_url": f"{repo.html_url}/pull/{pr.number}", "diff_url": f"{repo.html_url}/pull/{pr.number}.diff",
        "patch_url": f"{repo.html_url}/pull/{pr.number}.patch", "issue_url": f"{repo.api_url}/issues/{pr.number}",
        "commits_url": f"{api}/commits", "review_comments_url": f"{api}/comments",
        "comments_url": f"{repo.api_url}/issues/{pr.number}/comments",
        "statuses_url": f"{repo.api_url}/statuses/{pr.head_sha}",
        "state": pr.state, "locked": False, "title": pr.title, "body": pr.body, "user": user_json(pr.user, site),
        "labels": [], "assignees": [], "requested_reviewers": [], "milestone": None, "draft": pr.draft,
        "created_at": iso(pr.created_at), "updated_at": iso(pr.updated_at),
        "closed_at": iso(pr.closed_at) if pr.closed_at else None, "merged_at": None, "merge_commit_sha": None,
        "head": {"label": f"{repo.owner}:{pr.head_ref}", "ref": pr.head_ref, "sha": pr.head_sha,
                 "user": user_json(owner, site), "repo": base_repo},
        "base": {"label": f"{repo.owner}:{pr.base_ref}", "ref": pr.base_ref, "sha": pr.base_sha,
                 "user": user_json(owner, site), "repo": base_repo},
        "author_association": "CONTRIBUTOR", "auto_merge": None, "active_lock_reason": None,
        "_links": {"self": {"href": api}, "html": {"href": f"{repo.html_url}/pull/{pr.number}"}},
    }  # fmt: skip
    if details is not None:
        shown.update(
            {
                "merged": False,
                "merged_by": None,
                "maintainer_can_modify": pr.maintainer_can_modify,
                "review_comments": 0,
                **details,
            }
        )
    return shown


def comment_json(repo: Repo, comment: Comment) -> dict[str, Any]:
    return {
        "id": comment.id, "node_id": node_id("IssueComment", comment.id),
        "url": f"{repo.api_url}/issues/comments/{comment.id}",
        "html_url": f"{repo.html_url}/pull/{comment.number}#issuecomment-{comment.id}",
        "issue_url": f"{repo.api_url}/issues/{comment.number}", "body": comment.body,
        "user": user_json(comment.user, repo.site), "created_at": iso(comment.created_at),
        "updated_at": iso(comment.created_at), "author_association": "CONTRIBUTOR",
    }  # fmt: skip


def installation_json(installation: Installation, account: Person, site: Site) -> dict[str, Any]:
    app = installation.app
    return {
        "id": installation.id, "app_id": app.app_id, "app_slug": app.slug, "client_id": app.client_id,
        "account": user_json(account, site), "target_type": account.type, "target_id": account.id,
        "repository_selection": "all", "permissions": dict(installation.permissions), "events": [],
        "access_tokens_url": f"{site.api_url}/app/installations/{installation.id}/access_tokens",
        "repositories_url": f"{site.api_url}/installation/repositories",
        "html_url": f"{site.url}/organizations/{account.login}/settings/installations/{installation.id}",
        "suspended_at": None, "single_file_name": None,
    }  # fmt: skip
