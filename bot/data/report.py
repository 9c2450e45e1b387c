"""An Explanation as words (Markdown for Slack and the terminal), as JSON, and as a SQL receipts file."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.data.analysis.explain import Explanation
from bot.data.analysis.rca import Cause

SHOWN_CAUSES = 3
SHOWN_COMMITS = 3


def number(value: float | None, ratio: bool) -> str:
    if value is None:
        return "n/a"
    if ratio and abs(value) <= 1.5:
        return f"{value * 100:.1f}%"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def delta(value: float, ratio: bool) -> str:
    sign = "+" if value > 0 else "−" if value < 0 else "±"
    if ratio and abs(value) <= 1.5:
        return f"{sign}{abs(value) * 100:.1f} pts"
    return f"{sign}{number(abs(value), False)}"


def percent(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{'+' if value > 0 else '−' if value < 0 else '±'}{abs(value) * 100:.1f}%"


def headline(e: Explanation) -> str:
    ratio = e.metric.is_ratio
    verb = "rose" if e.change > 0 else "fell" if e.change < 0 else "held steady"
    unit = " a day" if e.per_day else ""
    moved = f"**{e.metric.name}** {verb} {percent(e.relative)}" if e.change else f"**{e.metric.name}** held steady"
    return (f"{moved}: {number(e.baseline, ratio)}{unit} → {number(e.current, ratio)}{unit} "
            f"({delta(e.change, ratio)}), {e.description}.")


def to_markdown(e: Explanation) -> str:
    ratio = e.metric.is_ratio
    lines = [headline(e)]
    if e.warning:
        lines.append(f"**⚠ {e.warning}**")
    if not e.significant:
        lines.append("That is within the series' ordinary ups and downs and no onset stands out, so treat what "
                     "follows as weak evidence.")
    if e.onset is not None:
        series = f"`{e.onset_segment}`'s" if e.onset_segment else "the"
        grain = "hourly" if e.grain == "hour" else "daily"
        lines.append(f"**When:** it started around **{_moment(e.onset, e.grain)}** (change point in {series} {grain} "
                     f"series: {number(e.level_before, ratio)} before, {number(e.level_after, ratio)} after).")
    elif e.comparison is not None:
        lines.append("**When:** no single onset stands out in the series; the change looks gradual or spread out.")
    lines += _where(e)
    lines += _why(e)
    lines.append(_receipts_line(e))
    lines += [f"_⚠ {caveat}_" for caveat in e.caveats]
    return "\n".join(lines)


def _where(e: Explanation) -> list[str]:
    causes = e.localization.causes
    if not e.metric.dimensions:
        return []
    if not causes:
        return ["**Where:** no segment stands out; the change is spread across "
                f"{', '.join(e.metric.dimensions)}."]
    if e.broad:
        return [f"**Where:** everywhere: the largest segments ({', '.join(str(c.segment) for c in causes[:3])}) "
                f"each moved by about the same {percent(e.relative)}, so no segment stands out."]
    lines = ["**Where:** the segments that explain it, by their share of the change:"]
    for rank, cause in enumerate(causes[:SHOWN_CAUSES], start=1):
        lines.append(f"{rank}. {_cause(cause, e)}")
    if len(causes) > SHOWN_CAUSES:
        lines.append(f"_(+{len(causes) - SHOWN_CAUSES} smaller; all in the JSON and the receipts file)_")
    explained = sum(c.change for c in causes if c.kind != "mix")
    if e.significant and e.localization.total_change and explained / e.localization.total_change > 1.05:
        rest = e.localization.total_change - explained
        lines.append(f"_Shares add up to more than 100%: the rest of the metric moved the other way "
                     f"({delta(rest, e.metric.is_ratio)}), offsetting part of it._")
    return lines


def _cause(cause: Cause, e: Explanation) -> str:
    ratio = e.metric.is_ratio
    share = f"**{cause.share * 100:.0f}%** of the change".replace("-", "−") if e.significant \
        else delta(cause.change, ratio)
    segment = f"`{cause.segment}`"
    if cause.kind == "mix":
        return (f"{segment}: {share}, a **mix** effect: its share of {e.metric.denominator} went "
                f"{cause.expected * 100:.1f}% → {cause.actual * 100:.1f}% (its own rate differs from the average)")
    if cause.kind == "rate":
        return f"{segment}: {share}; its rate went {number(cause.expected, True)} → {number(cause.actual, True)}"
    own = (cause.actual / cause.expected - 1) if cause.expected else None
    scale = " (baseline scaled to the current window's length)" if e.per_day else ""
    return (f"{segment}: {share}; {number(cause.expected, False)} expected{scale} → {number(cause.actual, False)} "
            f"({percent(own)})")


def _why(e: Explanation) -> list[str]:
    if not e.candidates:
        return []
    lines = ["**Possibly related changes** (candidates by timing and relevance, not proven causes):"]
    for candidate in e.candidates[:SHOWN_COMMITS]:
        change = candidate.change
        sha = f"[`{change.sha[:7]}`]({change.url})" if change.url else f"`{change.sha[:7]}`"
        lines.append(f"• {change.repo} {sha} {change.kind if change.kind != 'commit' else ''} "
                     f"“{change.subject[:90]}” — {'; '.join(candidate.reasons)}".replace("  ", " "))
    return lines


def _receipts_line(e: Explanation) -> str:
    rows = e.rows_current + e.rows_baseline
    fresh = f"; data up to {e.freshness:%Y-%m-%d %H:%M} UTC" if e.freshness else ""
    queries = f"{len(e.receipts)} quer{'y' if len(e.receipts) == 1 else 'ies'}"
    return (f"_Receipts: {queries} on `{e.source}` ({e.engine}) over {rows:,} rows "
            f"({e.rows_current:,} current, {e.rows_baseline:,} baseline){fresh}. The SQL is in the attached file._")


def _moment(moment: dt.datetime, grain: str | None) -> str:
    return f"{moment:%a %b %-d, %H:00} UTC" if grain == "hour" else f"{moment:%a %b %-d}"


def sql_file(e: Explanation) -> str:
    """Every query behind the numbers, runnable as is against the source."""
    parts = [f"-- {e.metric.name}: {e.description}", f"-- source: {e.source} ({e.engine})", ""]
    for receipt in e.receipts:
        parts += [f"-- {receipt.purpose}: {receipt.rows:,} rows in {receipt.ms:.0f} ms", receipt.sql + ";", ""]
    return "\n".join(parts)


def to_json(e: Explanation) -> dict[str, Any]:
    return {
        "metric": e.metric.name,
        "source": e.source,
        "engine": e.engine,
        "compared": e.description,
        "current": {"label": e.current_label, "value": e.current, "rows": e.rows_current},
        "baseline": {"label": e.baseline_label, "value": e.baseline, "rows": e.rows_baseline},
        "per_day": e.per_day,
        "change": e.change,
        "relative_change": e.relative,
        "significant": e.significant,
        "noise": e.noise,
        "grain": e.grain,
        "onset": e.onset.isoformat() if e.onset else None,
        "onset_segment": e.onset_segment,
        "level_before": e.level_before,
        "level_after": e.level_after,
        "freshness": e.freshness.isoformat() if e.freshness else None,
        "root_causes": [
            {"segment": dict(c.segment.conditions), "kind": c.kind, "share": c.share, "expected": c.expected,
             "actual": c.actual, "change": c.change}
            for c in e.localization.causes
        ],
        "broad": e.broad,
        "candidate_commits": [
            {"repo": c.change.repo, "sha": c.change.sha, "kind": c.change.kind, "when": c.change.when.isoformat(),
             "subject": c.change.subject, "url": c.change.url, "score": c.score, "reasons": list(c.reasons)}
            for c in e.candidates
        ],
        "warning": e.warning,
        "caveats": e.caveats,
        "sql": [{"purpose": r.purpose, "sql": r.sql, "rows": r.rows, "ms": round(r.ms, 1)} for r in e.receipts],
    }
