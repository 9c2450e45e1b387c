"""GitHub's rule for `.github/workflows/`: a push that adds, changes or removes a workflow file
needs a token with the `workflows` permission (the `workflow` scope for OAuth/personal tokens).

Each bare repo gets a pre-receive hook. The git smart-HTTP bridge tells it, through the
environment of `git http-backend` (which receive-pack and the hook inherit), whether the pusher
may touch workflows and where to write the refusal. A declined pre-receive hook rejects every ref
of the push, so the check is atomic; the bridge then puts GitHub's wording into the report
(see pkt_line.reword_refusal), so git prints `! [remote rejected] x -> x (refusing to allow ...)`.
Pushes that do not come through the emulator (no SIM_GITHUB_REFUSAL_FILE) are never checked.
"""

from __future__ import annotations

import os
from pathlib import Path

PRE_RECEIVE = """#!/bin/sh
# Installed by sim.github: refuse workflow changes the pushing token may not make.
[ -n "$SIM_GITHUB_REFUSAL_FILE" ] || exit 0
[ "$SIM_GITHUB_WORKFLOWS" = "write" ] && exit 0
zero=0000000000000000000000000000000000000000
while read -r old new ref; do
  [ "$new" = "$zero" ] && continue
  for commit in $(git rev-list "$new" --not --all); do
    path=$(git diff-tree -r -m --root --no-commit-id --name-only "$commit" -- .github/workflows/ | head -n 1)
    if [ -n "$path" ]; then
      printf '%s`%s`%s' "$SIM_GITHUB_REFUSAL_BEFORE" "$path" "$SIM_GITHUB_REFUSAL_AFTER" > "$SIM_GITHUB_REFUSAL_FILE"
      exit 1
    fi
  done
done
exit 0
"""

# How GitHub words the refusal for each kind of token: (before the path, after it).
REFUSALS = {
    "installation": (
        "refusing to allow a GitHub App to create or update workflow ",
        " without `workflows` permission",
    ),
    "pat": (
        "refusing to allow a Personal Access Token to create or update workflow ",
        " without `workflow` scope",
    ),
    "oauth": ("refusing to allow an OAuth App to create or update workflow ", " without `workflow` scope"),
}


def install_hook(bare_repo: Path) -> None:
    hook = bare_repo / "hooks" / "pre-receive"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text(PRE_RECEIVE)
    os.chmod(hook, 0o755)


def guard_env(token_kind: str, may_change_workflows: bool, refusal_file: Path) -> dict[str, str]:
    """Environment for `git http-backend` serving one push."""
    before, after = REFUSALS.get(token_kind, REFUSALS["pat"])
    return {
        "SIM_GITHUB_REFUSAL_FILE": str(refusal_file),
        "SIM_GITHUB_WORKFLOWS": "write" if may_change_workflows else "none",
        "SIM_GITHUB_REFUSAL_BEFORE": before,
        "SIM_GITHUB_REFUSAL_AFTER": after,
    }
