"""Candidate commits around an onset, read from a real git repo: commits, merges and tags, ranked by
closeness in time and by the words of the metric and the segments they touch."""

from __future__ import annotations

import datetime as dt
import os
import subprocess

from bot.data.commits import rank, read_changes

ONSET = dt.datetime(2026, 11, 16, 14, 0)


def git(repo, *args, when: dt.datetime | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Lee", "GIT_AUTHOR_EMAIL": "lee@x", "GIT_COMMITTER_NAME": "Lee",
           "GIT_COMMITTER_EMAIL": "lee@x"}
    if when is not None:
        stamp = f"{int(when.replace(tzinfo=dt.UTC).timestamp())} +0000"
        env.update(GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout.strip()


def commit(repo, path: str, message: str, when: dt.datetime) -> str:
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(message)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message, when=when)
    return git(repo, "rev-parse", "HEAD")


def test_the_relevant_commit_just_before_the_onset_ranks_first(tmp_path):
    repo = tmp_path / "app"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "README.md", "Start", ONSET - dt.timedelta(days=30))
    noise = commit(repo, "site/footer.css", "Tweak footer", ONSET - dt.timedelta(hours=2))
    git(repo, "checkout", "-qb", "feature")
    culprit = commit(repo, "android/SignupForm.kt", "Consent screen first", ONSET - dt.timedelta(hours=20))
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "feature", "-m", "Merge pull request #12 from acme/consent",
        when=ONSET - dt.timedelta(hours=6))
    git(repo, "tag", "-a", "v2.3.0", "-m", "Release 2.3.0", when=ONSET - dt.timedelta(hours=5))
    commit(repo, "android/Later.kt", "After the fact", ONSET + dt.timedelta(days=2))
    head = git(repo, "rev-parse", "HEAD")

    changes = read_changes("acme/app", repo, head, ONSET - dt.timedelta(days=7), ONSET + dt.timedelta(days=1),
                           "https://github.com/acme/app")
    kinds = {c.subject: c.kind for c in changes}
    assert kinds["Merge pull request #12 from acme/consent"] == "merge"
    assert kinds["tag v2.3.0: Release 2.3.0"] == "tag"
    assert "After the fact" not in kinds and "Start" not in kinds

    terms = {"android": "segment platform=android", "signup": "the metric"}
    ranked = rank(changes, ONSET, terms, grace=dt.timedelta(days=1))
    assert ranked[0].change.sha == culprit
    assert ranked[0].change.url == f"https://github.com/acme/app/commit/{culprit}"
    assert ranked[0].reasons == ("20 h before the onset", "touches “android” (segment platform=android)",
                                 "touches “signup” (the metric)")
    assert {c.change.sha for c in ranked} >= {noise}
    assert len(ranked) <= 5


def test_a_commit_whose_changed_lines_name_the_segment_ranks_above_a_closer_unrelated_one(tmp_path):
    repo = tmp_path / "app"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "README.md", "Start", ONSET - dt.timedelta(days=30))
    flags = repo / "config" / "flags.yml"
    flags.parent.mkdir()
    flags.write_text("dark_mode: false\nandroid_signup_consent: false\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "Initial flags", when=ONSET - dt.timedelta(days=20))
    flags.write_text("dark_mode: false\nandroid_signup_consent: true\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "Update flags", when=ONSET - dt.timedelta(hours=10))
    culprit = git(repo, "rev-parse", "HEAD")
    noise = commit(repo, "site/footer.css", "Tweak footer", ONSET - dt.timedelta(hours=2))

    terms = {"android": "segment platform=android", "signup": "the metric"}
    window = (ONSET - dt.timedelta(days=7), ONSET + dt.timedelta(days=1))
    blind = rank(read_changes("acme/app", repo, noise, *window, None), ONSET, terms, grace=dt.timedelta(days=1))
    assert blind[0].change.sha == noise  # subjects and paths alone: only closeness
    ranked = rank(read_changes("acme/app", repo, noise, *window, None, near=ONSET), ONSET, terms,
                  grace=dt.timedelta(days=1))
    assert ranked[0].change.sha == culprit
    assert ranked[0].reasons == ("10 h before the onset", "changes a line with “android” (segment platform=android)",
                                 "changes a line with “signup” (the metric)")
