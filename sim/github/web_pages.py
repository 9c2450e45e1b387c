"""Minimal HTML for the links the bot posts: a repository, a pull request, a file at a commit,
a commit. They exist so links resolve (and a person trying `chatops dev` can look); they are
served without a login, which GitHub would ask for on a private repository."""

from __future__ import annotations

import time
from collections.abc import Callable
from html import escape

from aiohttp import web

from sim.github.calls import Call
from sim.github.git_store import EMPTY_TREE, FileChange
from sim.github.pull_routes import refresh
from sim.github.state import Forge, Repo, iso

STYLE = (
    "body{font:14px system-ui,sans-serif;max-width:980px;margin:2em auto;color:#1f2328}"
    "pre{background:#f6f8fa;padding:1em;overflow:auto}code{background:#f6f8fa}"
    ".add{color:#1a7f37}.del{color:#cf222e}"
)


def _page(title: str, body: str, status: int = 200) -> web.Response:
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    )
    return web.Response(status=status, text=html, content_type="text/html")


def _not_found() -> web.Response:
    return _page(
        "Page not found · GitHub", "<h1>404</h1><p>This is not the web page you are looking for.</p>", 404
    )


def _diff(changes: list[FileChange]) -> str:
    parts = []
    for change in changes:
        lines = []
        for line in (change.patch or "Binary file not shown.").split("\n"):
            css = "add" if line.startswith("+") else "del" if line.startswith("-") else ""
            lines.append(f"<span class='{css}'>{escape(line)}</span>" if css else escape(line))
        parts.append(
            f"<h3 id='{escape(change.filename)}'>{escape(change.filename)} "
            f"<small>({change.status}, +{change.additions} −{change.deletions})</small></h3>"
            f"<pre>{chr(10).join(lines)}</pre>"
        )
    return "".join(parts)


def web_routes(forge: Forge, record: Callable[[Call], None]) -> list[web.RouteDef]:
    def find(request: web.Request) -> Repo | None:
        return forge.repo(request.match_info["owner"], request.match_info["repo"])

    def recorded(handler: Callable) -> Callable:
        async def serve(request: web.Request) -> web.StreamResponse:
            at = time.monotonic()
            response = await handler(request)
            record(Call(request.method, request.path, response.status, at=at, kind="web"))
            return response

        return serve

    async def repo_page(request: web.Request) -> web.Response:
        repo = find(request)
        tip = await repo.git.branch_tip(repo.default_branch) if repo else None
        if repo is None:
            return _not_found()
        files = await repo.git.paths(tip) if tip else []
        commits = await repo.git.log("-10", tip) if tip else []
        pulls = [p for p in repo.pulls.values() if p.state == "open"]
        body = [
            f"<h1>{escape(repo.full_name)}</h1><p>{'Private' if repo.private else 'Public'} · "
            f"default branch <code>{escape(repo.default_branch)}</code> · "
            f"clone <code>{escape(repo.clone_url)}</code></p>"
        ]
        body.append(
            "<h2>Files</h2><ul>"
            + "".join(
                f"<li><a href='{repo.html_url}/blob/{tip}/{escape(p)}'>{escape(p)}</a></li>" for p in files
            )
            + "</ul>"
        )
        body.append(
            "<h2>Recent commits</h2><ul>"
            + "".join(
                f"<li><a href='{repo.html_url}/commit/{c.sha}'>{c.sha[:7]}</a> {escape(c.message.splitlines()[0])} "
                f"— {escape(c.author_name)}, {iso(c.authored_at)}</li>"
                for c in commits
            )
            + "</ul>"
        )
        body.append(
            "<h2>Open pull requests</h2><ul>"
            + "".join(
                f"<li><a href='{repo.html_url}/pull/{p.number}'>#{p.number} {escape(p.title)}</a></li>"
                for p in pulls
            )
            + "</ul>"
        )
        return _page(repo.full_name, "".join(body))

    async def pull_page(request: web.Request) -> web.Response:
        repo = find(request)
        number = request.match_info["number"]
        pr = repo.pulls.get(int(number)) if repo and number.isdigit() else None
        if repo is None or pr is None:
            return _not_found()
        await refresh(repo, pr, forge.clock.now())
        merge_base = await repo.git.merge_base(pr.base_sha, pr.head_sha)
        changes = await repo.git.changes(merge_base or EMPTY_TREE, pr.head_sha)
        comments = "".join(
            f"<div><b>{escape(c.user.login)}</b> {iso(c.created_at)}<pre>{escape(c.body)}</pre></div>"
            for c in repo.comments
            if c.number == pr.number
        )
        body = (
            f"<h1>{escape(pr.title)} <small>#{pr.number}</small></h1>"
            f"<p><b>{pr.state.capitalize()}{' draft' if pr.draft else ''}</b> · {escape(pr.user.login)} wants "
            f"to merge <code>{escape(pr.head_ref)}</code> into <code>{escape(pr.base_ref)}</code></p>"
            f"<pre>{escape(pr.body or 'No description provided.')}</pre>{comments}"
            f"<h2>Files changed ({len(changes)})</h2>{_diff(changes)}"
        )
        return _page(f"{pr.title} · Pull Request #{pr.number} · {repo.full_name}", body)

    async def blob_page(request: web.Request) -> web.Response:
        repo = find(request)
        rev, path = request.match_info["rev"], request.match_info["path"]
        data = await repo.git.blob(rev, path) if repo else None
        if repo is None or data is None:
            return _not_found()
        return _page(
            f"{path} at {rev} · {repo.full_name}",
            f"<h1>{escape(repo.full_name)}/{escape(path)}</h1><p>at <code>{escape(rev)}</code></p>"
            f"<pre>{escape(data.decode('utf-8', 'replace'))}</pre>",
        )

    async def raw_file(request: web.Request) -> web.Response:
        repo = find(request)
        data = await repo.git.blob(request.match_info["rev"], request.match_info["path"]) if repo else None
        if data is None:
            return web.Response(status=404, text="404: Not Found")
        return web.Response(body=data, content_type="text/plain", charset="utf-8")

    async def commit_page(request: web.Request) -> web.Response:
        repo = find(request)
        sha = await repo.git.resolve(request.match_info["sha"]) if repo else None
        info = await repo.git.commit_info(sha) if repo and sha else None
        if repo is None or info is None:
            return _not_found()
        changes = await repo.git.changes(info.parents[0] if info.parents else EMPTY_TREE, info.sha)
        body = (
            f"<h1>{escape(info.message.splitlines()[0] if info.message else info.sha)}</h1>"
            f"<p>{escape(info.author_name)} &lt;{escape(info.author_email)}&gt; committed "
            f"{iso(info.committed_at)} · <code>{info.sha}</code></p><pre>{escape(info.message)}</pre>{_diff(changes)}"
        )
        return _page(f"{info.message.splitlines()[0] if info.message else info.sha} · {repo.full_name}", body)

    repo_path = "/{owner}/{repo}"
    return [
        web.get(repo_path, recorded(repo_page)),
        web.get(repo_path + "/pull/{number}", recorded(pull_page)),
        web.get(repo_path + "/blob/{rev}/{path:.+}", recorded(blob_page)),
        web.get(repo_path + "/raw/{rev}/{path:.+}", recorded(raw_file)),
        web.get(repo_path + "/commit/{sha}", recorded(commit_page)),
    ]
