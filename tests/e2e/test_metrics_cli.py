"""`chatops metrics` as a real process: list the catalog, explain a catalog metric (text and JSON), an ad
hoc metric over two slices, candidate commits from a local repo, and a clear error for a typo."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest
import yaml

from sim.data import SAMPLE_METRICS, seed_signups

TODAY = dt.date(2026, 11, 21)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("metrics-cli")
    planted = seed_signups(root / "data" / "app.db", today=TODAY)
    (root / "chatops.yml").write_text(yaml.safe_dump({"defaults": {"data": {"app": "data/app.db"},
                                                                   "metrics": SAMPLE_METRICS}}))
    repo = root / "web"
    repo.mkdir()
    stamp = f"{int((planted.onset - dt.timedelta(hours=4)).replace(tzinfo=dt.UTC).timestamp())} +0000"
    env = {**os.environ, "GIT_AUTHOR_NAME": "Lee", "GIT_AUTHOR_EMAIL": "l@x", "GIT_COMMITTER_NAME": "Lee",
           "GIT_COMMITTER_EMAIL": "l@x", "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
    (repo / "android").mkdir()
    (repo / "android" / "signup.kt").write_text("consent first\n")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "Consent before Android signup"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    return root


def chatops(project, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHATOPS_", "SLACK_"))}
    env["CHATOPS_HOME"] = str(project / "home")
    return subprocess.run([sys.executable, "-m", "bot", "metrics", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=60)


def test_list_shows_the_catalog(project):
    result = chatops(project, "list")
    assert result.returncode == 0
    assert "signups [defaults] — Accounts created (test accounts excluded)" in result.stdout
    assert "`sum(signed_up) / count(*)` from `app.visits`" in result.stdout


def test_explain_prints_the_report_and_the_sql(project):
    result = chatops(project, "explain", "signups", "--as-of", "2026-11-21", "--repo", "web")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("**signups** fell −")
    assert "`platform=android & country=BR`" in out
    assert "web `" in out and "Consent before Android signup" in out
    assert "-- signups per day and segment, 2026-11-07 to 2026-11-21\nSELECT substr(" in out


def test_explain_json_for_two_slices_of_an_ad_hoc_metric(project):
    result = chatops(project, "explain", "--source", "data/app.db", "--table", "visits",
                     "--numerator", "sum(signed_up)", "--denominator", "count(*)", "-d", "platform", "-d", "channel",
                     "--baseline-where", "visited_at < '2026-11-14'", "--current-where", "visited_at >= '2026-11-14'",
                     "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["root_causes"][0]["segment"] == {"channel": "ads"}
    assert report["root_causes"][0]["kind"] == "rate"
    assert report["onset"] is None and report["relative_change"] < 0
    assert "FILTER(WHERE visited_at < '2026-11-14')" in report["sql"][0]["sql"]


def test_a_typo_is_a_one_line_error(project):
    result = chatops(project, "explain", "signupz")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip().startswith("I don't know a metric called “signupz”. Did you mean `signups`")


async def test_doctor_opens_every_data_source_and_checks_the_metrics_tables(project, tmp_path):
    from bot.cli.doctor import Doctor

    config = tmp_path / "chatops.yml"
    config.write_text(yaml.safe_dump({"defaults": {"data": {"app": str(project / "data" / "app.db"),
                                                            "gone": str(tmp_path / "gone.db")},
                                                   "metrics": {"orders": {"source": "app", "table": "orders",
                                                                          "value": "count(*)"}}}}))
    lines: list[str] = []
    env = {"CHATOPS_HOME": str(tmp_path / "home"), "CHATOPS_CONFIG": str(config)}
    await Doctor(env, lines.append).run()
    assert "  ✗ data `app`: sqlite, read-only, 2 table(s); metrics use missing table(s) orders" in lines
    gone = "  ✗ data `gone`: The data source `gone` (sqlite) could not be reached"
    assert any(line.startswith(gone) for line in lines)


async def test_doctor_names_the_sources_that_would_send_a_password_without_tls(tmp_path):
    from bot.cli.doctor import Doctor

    config = tmp_path / "chatops.yml"
    config.write_text(yaml.safe_dump({"defaults": {"data": {
        "wh": "postgresql://reader@127.0.0.1:1/wh",  # libpq's default sslmode (prefer) may fall back to clear
        "safe": "postgresql://reader@127.0.0.1:1/wh?sslmode=verify-full",
        "open": "postgresql://reader@127.0.0.1:1/wh"}}}))  # no password set for this one: nothing to leak
    lines: list[str] = []
    env = {"CHATOPS_HOME": str(tmp_path / "home"), "CHATOPS_CONFIG": str(config),
           "CHATOPS_DATA_PASSWORD_WH": "pw-1", "CHATOPS_DATA_PASSWORD_SAFE": "pw-2"}
    await Doctor(env, lines.append).run()
    warned = [line for line in lines if "without TLS" in line]
    assert warned == ["  ✗ data `wh`: would send CHATOPS_DATA_PASSWORD_WH without TLS: add `?sslmode=verify-full` "
                      "(or `require`) to its URL in chatops.yml"]
    assert not any("pw-1" in line or "pw-2" in line for line in lines)
