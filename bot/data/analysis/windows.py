"""Time windows from the words people use: "last week", "yesterday", "since Nov 3", "2026-11-01..2026-11-07".

Windows are whole UTC days, start inclusive, end exclusive, relative to `today` (the clock, not the
data: stale data shows up as a caveat, not as a silently shifted window). The baseline defaults to
the same length right before the current window; "yesterday" and "on <date>" compare one day with
the same weekday a week earlier (a Sunday with a Sunday), since most metrics have a weekly rhythm.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

DAY = dt.timedelta(days=1)
_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
_DATE = (r"(\d{4}-\d{2}-\d{2}"  # 2026-11-03
         r"|[a-z]{3,9}\.? \d{1,2}(?:st|nd|rd|th)?(?:,? \d{4})?"  # Nov 3rd, 2026
         r"|\d{1,2}(?:st|nd|rd|th)? [a-z]{3,9}(?: \d{4})?)")  # 3 November 2026


@dataclass(frozen=True)
class Window:
    start: dt.datetime
    end: dt.datetime  # exclusive

    @property
    def days(self) -> float:
        return (self.end - self.start) / DAY

    def label(self) -> str:
        last = self.end - DAY if self.days >= 1 else self.end
        if self.days == 1:
            return f"{self.start:%a %b %-d}"
        return f"{self.start:%b %-d}–{last:%b %-d}"


@dataclass(frozen=True)
class Comparison:
    current: Window
    baseline: Window
    description: str  # "the last 7 days vs the 7 days before"

    @property
    def span(self) -> Window:
        return Window(min(self.current.start, self.baseline.start), max(self.current.end, self.baseline.end))


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day)


def _days(start: dt.date, count: int) -> Window:
    return Window(_midnight(start), _midnight(start) + count * DAY)


def _before(window: Window, days: int | None = None) -> Window:
    length = DAY * days if days else window.end - window.start
    return Window(window.start - length, window.start)


def _week_before(window: Window) -> Window:
    """The same weekday(s) one week earlier: a day compares with its own kind of day."""
    return Window(window.start - 7 * DAY, window.end - 7 * DAY)


def parse_date(text: str, today: dt.date) -> dt.date | None:
    """2026-11-14, Nov 14, November 14th, 14 Nov (2026); a date without a year is the latest one not after today."""
    text = text.strip().lower().replace(",", "").replace(".", "")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    match = (re.fullmatch(r"([a-z]{3,9}) (\d{1,2})(?:st|nd|rd|th)?(?: (\d{4}))?", text)
             or re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)? ([a-z]{3,9})(?: (\d{4}))?", text))
    if not match:
        return None
    first, second, year = match.groups()
    month_word, day = (first, second) if first.isalpha() else (second, first)
    month = _MONTHS.get(month_word[:3])
    if month is None:
        return None
    try:
        found = dt.date(int(year) if year else today.year, month, int(day))
    except ValueError:
        return None
    if not year and found > today:
        found = found.replace(year=today.year - 1)
    return found


def parse_period(text: str, today: dt.date) -> Comparison | None:
    """The comparison a phrase asks for; None when the phrase is not one this understands."""
    named = _named_period(text, today)
    if named is not None:
        return named
    window = _explicit_window(text, today)
    if window is None:
        return None
    return Comparison(window, _before(window), f"{window.label()} vs the same number of days before")


def parse_window(text: str, today: dt.date) -> Window | None:
    """One window: `START..END` / `START to END` (inclusive dates), one date, or a phrase's current window."""
    window = _explicit_window(text, today)
    if window is not None:
        return window
    named = _named_period(text, today) if text.strip() else None
    return named.current if named else None


def _named_period(text: str, today: dt.date) -> Comparison | None:
    phrase = re.sub(r"\s+", " ", text.strip().lower()).strip(" ?.!")
    phrase = re.sub(r"^(over|during|in|for|from) ", "", phrase)
    monday = today - dt.timedelta(days=today.weekday())
    if phrase in ("", "recently", "lately", "this past week", "the past week", "past week"):
        current = _days(today - dt.timedelta(days=7), 7)
        return Comparison(current, _before(current), "the last 7 days vs the 7 days before")
    if phrase == "yesterday":
        current = _days(today - DAY, 1)
        return Comparison(current, _week_before(current), "yesterday vs the same day a week earlier")
    if phrase in ("last week", "the last week"):
        current = _days(monday - dt.timedelta(days=7), 7)
        return Comparison(current, _before(current), "last week (Mon–Sun) vs the week before")
    if phrase in ("this week", "this week vs last week", "this week compared to last week"):
        if today == monday:
            return _named_period("last week", today)
        current = Window(_midnight(monday), _midnight(today))
        return Comparison(current, _days(monday - dt.timedelta(days=7), 7),
                          "this week so far vs last week (per day)")
    match = re.fullmatch(r"(?:the )?(?:last|past) (\d{1,3}) days?", phrase)
    if match and 0 < int(match.group(1)) <= 366:
        days = int(match.group(1))
        current = _days(today - dt.timedelta(days=days), days)
        return Comparison(current, _before(current), f"the last {days} days vs the {days} days before")
    match = re.fullmatch(rf"since {_DATE}", phrase)
    if match:
        start = parse_date(match.group(1), today)
        if start is None or start >= today:
            return None
        current = Window(_midnight(start), _midnight(today))
        return Comparison(current, _before(current), f"since {start:%b %-d} vs the same number of days before")
    match = re.fullmatch(rf"on {_DATE}", phrase)
    if match:
        day = parse_date(match.group(1), today)
        if day is None or day >= today:
            return None
        current = _days(day, 1)
        return Comparison(current, _week_before(current), f"{day:%a %b %-d} vs the same day a week earlier")
    return None


def _explicit_window(text: str, today: dt.date) -> Window | None:
    match = re.fullmatch(rf"{_DATE} ?(?:\.\.|to|until|through|-|–) ?{_DATE}", text.strip().lower())
    if match:
        start, last = parse_date(match.group(1), today), parse_date(match.group(2), today)
        if start is None or last is None or last < start:
            return None
        return Window(_midnight(start), _midnight(last) + DAY)
    day = parse_date(text, today)
    return _days(day, 1) if day is not None else None
