"""The metrics catalog: what a metric is, and finding one by the words people use for it.

A metric is an additive aggregate (`count(*)`, `sum(amount)`) or a ratio of two (`sum(converted)` /
`count(*)`), over one table, with optional filters, a time column and the dimensions worth slicing by.
Sums and counts decompose over segments, which is what root-cause localization needs; an average
is written as a ratio (`sum(x)` / `count(*)`), and a distinct count is refused with that advice.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from bot.errors import UserError

GRAINS = ("hour", "day")


@dataclass(frozen=True)
class Metric:
    name: str
    source: str
    table: str
    value: str | None = None  # additive: one aggregate
    numerator: str | None = None  # ratio: two aggregates
    denominator: str | None = None
    time: str | None = None  # the time column; None for data compared by slices only
    filters: tuple[str, ...] = ()
    dimensions: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()
    description: str = ""
    grain: str | None = None  # hour | day; None picks from the window length

    @property
    def is_ratio(self) -> bool:
        return self.numerator is not None

    @property
    def aggregates(self) -> tuple[str, str]:
        """(numerator, denominator) SQL; an additive metric's denominator is the constant 1 per segment."""
        if self.is_ratio:
            return self.numerator or "", self.denominator or ""
        return self.value or "", ""

    def describe(self) -> str:
        formula = f"{self.numerator} / {self.denominator}" if self.is_ratio else self.value
        return f"`{formula}` from `{self.source}.{self.table}`"


def check_metric(metric: Metric, where: str, problems: list[str]) -> None:
    """Append every problem with a metric's SQL pieces; each is parsed, none is run."""
    if metric.is_ratio == bool(metric.value) or (metric.is_ratio and not metric.denominator):
        problems.append(f"{where}: give either `value` (an aggregate) or both `numerator` and `denominator`.")
        return
    for label in ("value", "numerator", "denominator"):
        text = getattr(metric, label)
        if text:
            problem = aggregate_problem(text)
            if problem:
                problems.append(f"{where}.{label}: {problem}")
    for index, text in enumerate(metric.filters):
        if _parse(text) is None:
            problems.append(f"{where}.filters[{index}]: `{text}` is not a SQL condition.")
    for dimension in metric.dimensions:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", dimension):
            problems.append(f"{where}.dimensions: `{dimension}` must be a column name.")
    if metric.grain and metric.grain not in GRAINS:
        problems.append(f"{where}.grain must be one of {', '.join(GRAINS)}.")


def aggregate_problem(text: str) -> str | None:
    """None when `text` is a sum or count that decomposes over segments, else what is wrong."""
    tree = _parse(text)
    if tree is None:
        return f"`{text}` is not a SQL expression."
    aggregates = list(tree.find_all(exp.AggFunc))
    if not aggregates:
        return f"`{text}` has no aggregate; write e.g. `count(*)` or `sum(amount)`."
    for node in aggregates:
        if isinstance(node, exp.Avg):
            return (f"`{text}`: an average does not add up over segments; write it as numerator `sum(x)` / "
                    "denominator `count(*)`.")
        if isinstance(node, exp.Count) and isinstance(node.this, exp.Distinct):
            return f"`{text}`: a distinct count does not add up over segments; count rows (or sum a 0/1 flag) instead."
        if not isinstance(node, exp.Sum | exp.Count):
            return f"`{text}`: only sum(...) and count(...) decompose over segments."
    if tree.find(exp.Select):
        return f"`{text}` must not contain a subquery."
    return None


def _parse(text: str) -> exp.Expr | None:
    try:
        return sqlglot.parse_one(text)
    except (ParseError, TokenError):
        return None


def _normal(phrase: str) -> str:
    words = re.findall(r"[a-z0-9]+", phrase.lower().replace("_", " "))
    return " ".join(w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words)


def find_metric(asked: str, metrics: tuple[Metric, ...]) -> Metric:
    """The metric `asked` names (its name or a synonym); a UserError asks back when it is unknown or ambiguous."""
    if not metrics:
        raise UserError("No metrics are defined for this channel. Add them under `metrics:` in chatops.yml "
                        "(see the README), or ask with SQL against a linked data source.", kind="data")
    wanted = _normal(asked)
    named = [m for m in metrics if _normal(m.name) == wanted]
    if named:
        return named[0]
    by_synonym = [m for m in metrics if wanted in {_normal(s) for s in m.synonyms}]
    if len(by_synonym) == 1:
        return by_synonym[0]
    if by_synonym:
        options = " or ".join(f"`{m.name}` ({m.description or m.describe()})" for m in by_synonym)
        raise UserError(f"\u201c{asked}\u201d could mean {options}. Which one? Ask again with its name.",
                        kind="ambiguous")
    phrases = {_normal(p): m for m in metrics for p in (m.name, *m.synonyms)}
    close = difflib.get_close_matches(wanted, list(phrases), n=3, cutoff=0.6)
    names = list(dict.fromkeys(phrases[c].name for c in close))
    known = ", ".join(f"`{m.name}`" for m in metrics)
    if names:
        guesses = " or ".join(f"`{n}`" for n in names)
        raise UserError(f"I don't know a metric called \u201c{asked}\u201d. Did you mean {guesses}? "
                        f"(Known metrics: {known}.)", kind="unknown_metric")
    raise UserError(f"I don't know a metric called \u201c{asked}\u201d. Known metrics: {known}. "
                    "`/chatops metrics` lists them with their definitions.", kind="unknown_metric")
