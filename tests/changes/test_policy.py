"""The change policy on synthetic diffs: paths, limits, binaries and copy-only, table-driven."""

from __future__ import annotations

import pytest

from bot.changes.policy import evaluate, matches
from bot.config import ChangePolicy
from bot.repos.diff import Diff, FileChange


def diff(*files: FileChange) -> Diff:
    return Diff(base="0" * 40, patch="", files=list(files))


def text(path: str, old: str, new: str, added: int = 1, deleted: int = 1) -> FileChange:
    return FileChange(path, "M", added, deleted, old_text=old, new_text=new)


@pytest.mark.parametrize(("pattern", "path", "expected"), [
    (".github/workflows/**", ".github/workflows/ci.yml", True),
    (".github/workflows/**", "docs/.github/workflows/ci.yml", False),
    ("**/package-lock.json", "package-lock.json", True),
    ("**/package-lock.json", "web/package-lock.json", True),
    ("*.pem", "deploy/keys/server.pem", True),
    ("site/**", "site/a/b.html", True),
    ("site/*", "site/a/b.html", False),
    ("docs/*.md", "docs/guide.md", True),
    ("**/.env.*", "config/.env.production", True),
])
def test_globs(pattern, path, expected):
    assert matches(pattern, path) is expected


@pytest.mark.parametrize(("files", "policy", "allowed", "says"), [
    ([text("site/pricing.html", "a", "b")], ChangePolicy(), True, "within policy: 1 file, +1 −1"),
    ([text(".github/workflows/ci.yml", "a", "b")], ChangePolicy(), False,
     "`.github/workflows/ci.yml` is on the deny list"),
    ([text("package-lock.json", "a", "b")], ChangePolicy(), False, "deny list"),
    ([text("config/prod.env", "a", "b")], ChangePolicy(), False, "deny list"),
    ([text("certs/server.key", "a", "b")], ChangePolicy(), False, "deny list"),
    ([FileChange("logo.png", "M", binary=True)], ChangePolicy(), False, "`logo.png` is a binary file"),
    ([text("src/app.py", "a", "b")], ChangePolicy(allow=("docs/**", "*.md")), False, "outside the allowed paths"),
    ([text("docs/x.md", "a", "b")], ChangePolicy(allow=("docs/**",)), True, "within policy"),
    ([text(f"f{i}.md", "a", "b") for i in range(11)], ChangePolicy(), False, "11 files changed; the limit is 10"),
    ([text("big.md", "a", "b", added=150, deleted=60)], ChangePolicy(), False, "210 lines changed; the limit is 200"),
    ([text("big.md", "a", "b", added=150, deleted=60)], ChangePolicy(max_lines=300), True, "within policy"),
])
def test_path_and_size_rules(files, policy, allowed, says):
    verdict = evaluate(policy, diff(*files))
    assert verdict.allowed is allowed and says in verdict.summary


COPY = ChangePolicy(kind="copy")


def test_copy_only_counts_string_literals_and_prose():
    verdict = evaluate(COPY, diff(
        text("src/cta.py", 'LABEL = "Start your free trial"  # shown on pricing\n',
             'LABEL = "Try it free"  # shown on pricing\n'),
        text("locales/en.json", '{"cta": "Start your free trial", "n": 1}\n', '{"cta": "Try it free", "n": 1}\n'),
        text("README.md", "# Title\nStart\n", "# Title\nTry\n"),
    ))
    assert verdict.allowed
    assert verdict.summary == "copy-only: 2 string literals in 2 files and prose in 1 file, no code tokens changed"


@pytest.mark.parametrize(("path", "old", "new", "why"), [
    ("src/app.py", "RETRIES = 5\n", "RETRIES = 7\n", "a code token changed in `src/app.py`: `5` → `7`"),
    ("src/app.py", 'free_trial = "x"\n', 'free_tryout = "x"\n', "`free_trial` → `free_tryout`"),
    ("locales/en.json", '{"cta": "Start"}', '{"call_to_action": "Start"}', '`"cta"` → `"call_to_action"`'),
    ("src/app.ts", 'const a = "x";', 'const a = "x"; alert(1);', "code token changed"),
])
def test_copy_only_refuses_code_changes(path, old, new, why):
    verdict = evaluate(COPY, diff(text(path, old, new)))
    assert not verdict.allowed and why in verdict.summary


def test_copy_only_refuses_new_files_in_code():
    verdict = evaluate(COPY, diff(FileChange("src/new.py", "A", 1, 0, old_text=None, new_text="x = 1\n")))
    assert not verdict.allowed and "`src/new.py` is new" in verdict.summary
