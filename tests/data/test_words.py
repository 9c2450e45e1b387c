"""The words people use: metric questions, periods, metric names (did you mean / which one), and the
chatops.yml catalog's validation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import yaml

from bot.config import load_config_file
from bot.data.analysis.changepoint import find_change, seasonal_adjust
from bot.data.analysis.metrics import Metric, find_metric
from bot.data.analysis.question import parse_question
from bot.data.analysis.windows import parse_period
from bot.errors import UserError

SATURDAY = dt.date(2026, 11, 21)


@pytest.mark.parametrize("text, metric, direction, period", [
    ("why did signups drop last week?", "signups", "down", "last week"),
    ("<@U0BOT> Why did the conversion rate spike yesterday", "conversion rate", "up", "yesterday"),
    ("why did revenue change since Nov 3?", "revenue", "any", "since Nov 3"),
    ("why are signups down this week vs last week?", "signups", "down", "this week vs last week"),
    ("how come new users fell in the last 14 days?", "new users", "down", "in the last 14 days"),
    ("why did signups move on 2026-11-18", "signups", "any", "on 2026-11-18"),
    ("why did signups drop", "signups", "down", ""),
])
def test_metric_questions_are_read_without_a_model(text, metric, direction, period):
    question = parse_question(text)
    assert question is not None
    assert (question.metric, question.direction, question.period) == (metric, direction, period)


@pytest.mark.parametrize("text", ["where is the retry limit set?", "why did the build fail?",
                                  "change \"Sign up\" to \"Join\"", "what is 2+2?"])
def test_other_requests_are_not_metric_questions(text):
    assert parse_question(text) is None


@pytest.mark.parametrize("phrase, current, baseline", [
    ("", ("2026-11-14", "2026-11-21"), ("2026-11-07", "2026-11-14")),
    ("yesterday", ("2026-11-20", "2026-11-21"), ("2026-11-13", "2026-11-14")),
    ("last week", ("2026-11-09", "2026-11-16"), ("2026-11-02", "2026-11-09")),
    ("this week vs last week", ("2026-11-16", "2026-11-21"), ("2026-11-09", "2026-11-16")),
    ("last 14 days", ("2026-11-07", "2026-11-21"), ("2026-10-24", "2026-11-07")),
    ("since Nov 10", ("2026-11-10", "2026-11-21"), ("2026-10-30", "2026-11-10")),
    ("on 18th november", ("2026-11-18", "2026-11-19"), ("2026-11-11", "2026-11-12")),
    ("2026-11-01..2026-11-07", ("2026-11-01", "2026-11-08"), ("2026-10-25", "2026-11-01")),
    ("on dec 25", ("2025-12-25", "2025-12-26"), ("2025-12-18", "2025-12-19")),
])
def test_periods_are_whole_days_relative_to_today(phrase, current, baseline):
    comparison = parse_period(phrase, SATURDAY)
    shown = lambda w: (f"{w.start:%Y-%m-%d}", f"{w.end:%Y-%m-%d}")  # noqa: E731
    assert (shown(comparison.current), shown(comparison.baseline)) == (current, baseline)


@pytest.mark.parametrize("phrase", ["last fortnight", "since tomorrow", "the button", "2026-11-07..2026-11-01"])
def test_unreadable_periods_are_none(phrase):
    assert parse_period(phrase, SATURDAY) is None


CATALOG = (
    Metric("signups", "app", "signups", value="count(*)", synonyms=("registrations", "new users")),
    Metric("gross_revenue", "app", "orders", value="sum(amount)", synonyms=("revenue",), description="Before refunds"),
    Metric("net_revenue", "app", "orders", value="sum(net)", synonyms=("revenue",), description="After refunds"),
)


@pytest.mark.parametrize("asked, name", [("signups", "signups"), ("Signup", "signups"), ("new user", "signups"),
                                         ("Gross Revenue", "gross_revenue"), ("net_revenue", "net_revenue")])
def test_metrics_are_found_by_name_or_synonym(asked, name):
    assert find_metric(asked, CATALOG).name == name


def test_unknown_and_ambiguous_metrics_ask_back():
    with pytest.raises(UserError) as unknown:
        find_metric("sigups", CATALOG)
    assert unknown.value.kind == "unknown_metric" and "Did you mean `signups`?" in unknown.value.message
    with pytest.raises(UserError) as ambiguous:
        find_metric("revenue", CATALOG)
    assert ambiguous.value.kind == "ambiguous"
    assert "`gross_revenue` (Before refunds) or `net_revenue` (After refunds)" in ambiguous.value.message
    with pytest.raises(UserError, match="No metrics are defined"):
        find_metric("signups", ())


def test_the_catalog_in_chatops_yml_is_validated(tmp_path):
    config = tmp_path / "chatops.yml"
    config.write_text(yaml.safe_dump({"channels": {"#growth": {
        "data": {"app": "data/app.db", "bad": "mysql://x/y", "leaky": "postgresql://u:pw@h/db"},
        "metrics": {
            "signups": {"source": "app", "table": "signups", "time": "created_at", "value": "count(*)",
                        "dimensions": ["platform"], "synonyms": ["registrations"]},
            "aov": {"source": "app", "table": "orders", "value": "avg(amount)"},
            "users": {"source": "app", "table": "events", "value": "count(distinct user_id)"},
            "both": {"source": "app", "table": "t", "value": "count(*)", "numerator": "sum(x)"},
            "lost": {"source": "nowhere", "table": "t", "value": "count(*)", "colour": "red"},
        },
    }}}))
    problems: list[str] = []
    assert load_config_file(config, problems) is None
    text = "\n".join(problems)
    assert "data.bad: `mysql` is not supported" in text
    assert "data.leaky: do not put a password in the URL" in text
    assert "metrics.aov.value: `avg(amount)`: an average does not add up over segments" in text
    assert "metrics.users.value: `count(distinct user_id)`: a distinct count does not add up" in text
    assert "metrics.both: give either `value`" in text
    assert "metrics.lost.source: no data source named 'nowhere'" in text
    assert "metrics.lost: unknown key 'colour'" in text
    assert "metrics.signups" not in text


def test_a_valid_catalog_loads_with_paths_relative_to_the_file(tmp_path):
    config = tmp_path / "chatops.yml"
    config.write_text(yaml.safe_dump({"defaults": {"data": {"app": "data/app.db"}, "metrics": {
        "signups": {"source": "app", "table": "signups", "time": "created_at", "value": "count(*)"}}}}))
    defaults, _ = load_config_file(config, [])
    assert defaults.data[0].target.path == tmp_path / "data" / "app.db"
    assert defaults.metrics[0].name == "signups"


def test_the_change_point_is_the_shift_not_the_noise():
    rng = np.random.default_rng(3)
    series = 1000 * (1 + rng.normal(0, 0.03, 28))
    series[19:] *= 0.8
    point = find_change(series)
    assert point.index == 19 and point.significant
    flat = find_change(1000 * (1 + rng.normal(0, 0.03, 28)))
    assert not flat.significant


def test_the_night_is_not_mistaken_for_the_change():
    rng = np.random.default_rng(5)
    hours = np.arange(24 * 8)
    profile = 1 + 0.6 * np.sin(hours / 24 * 2 * np.pi)
    series = 500 * profile * (1 + rng.normal(0, 0.03, hours.size))
    series[24 * 7 + 9:] *= 0.7
    adjusted = seasonal_adjust(series, hours % 24, hours < 24 * 7)
    point = find_change(adjusted)
    assert point.significant and abs(point.index - (24 * 7 + 9)) <= 1
