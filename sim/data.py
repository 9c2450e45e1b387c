"""A seeded product-analytics dataset with a planted cause, for dev mode, tests and benchmarks.

`signups` (one row per account created) and `visits` (one row per landing visit, `signed_up` 0/1)
over `days` days ending yesterday. From `onset` on, Android signups in Brazil fall by `drop` and the
conversion of visits from `ads` falls too, so an analysis has one known answer to find.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.github.emulator import GitHubEmulator

PLATFORMS = {"web": 0.4, "ios": 0.2, "android": 0.4}
COUNTRIES = {"US": 0.3, "BR": 0.35, "DE": 0.1, "IN": 0.1, "GB": 0.1, "FR": 0.05}
PLANS = {"free": 0.7, "pro": 0.25, "team": 0.05}
CHANNELS = {"organic": 0.5, "ads": 0.3, "referral": 0.2}
WEEKDAY_FACTOR = (1.05, 1.1, 1.1, 1.05, 1.0, 0.8, 0.75)


@dataclass(frozen=True)
class Planted:
    onset: dt.datetime
    segment: tuple[tuple[str, str], ...]  # the signups cause
    drop: float
    conversion_segment: tuple[tuple[str, str], ...]


def _pick(rng: np.random.Generator, options: dict[str, float], size: int) -> np.ndarray:
    return rng.choice(list(options), size=size, p=list(options.values()))


def seed_signups(path: Path, *, today: dt.date, days: int = 28, per_day: int = 1000, onset_days_ago: int = 5,
                 drop: float = 0.95, seed: int = 7) -> Planted:
    """Write the dataset to the SQLite file at `path` (replacing it); return what was planted."""
    rng = np.random.default_rng(seed)
    onset = dt.datetime(today.year, today.month, today.day) - dt.timedelta(days=onset_days_ago) \
        + dt.timedelta(hours=14)
    start = dt.datetime(today.year, today.month, today.day) - dt.timedelta(days=days)
    signups, visits = [], []
    for day in range(days):
        midnight = start + dt.timedelta(days=day)
        # by position, so any `today` gives the same data
        count = rng.poisson(per_day * WEEKDAY_FACTOR[(day - days) % 7])
        seconds = np.sort(rng.integers(0, 86400, count))
        platform, country = _pick(rng, PLATFORMS, count), _pick(rng, COUNTRIES, count)
        plan, channel = _pick(rng, PLANS, count), _pick(rng, CHANNELS, count)
        for i in range(count):
            moment = midnight + dt.timedelta(seconds=int(seconds[i]))
            hit = moment >= onset and platform[i] == "android" and country[i] == "BR"
            if hit and rng.random() < drop:
                continue
            signups.append((moment.strftime("%Y-%m-%d %H:%M:%S"), platform[i], country[i], plan[i], channel[i], 0))
        visit_count = count * 2
        v_seconds = np.sort(rng.integers(0, 86400, visit_count))
        v_platform, v_country = _pick(rng, PLATFORMS, visit_count), _pick(rng, COUNTRIES, visit_count)
        v_channel = _pick(rng, CHANNELS, visit_count)
        rates = np.where(v_channel == "ads", 0.2, 0.3)
        for i in range(visit_count):
            moment = midnight + dt.timedelta(seconds=int(v_seconds[i]))
            rate = rates[i] * (0.5 if moment >= onset and v_channel[i] == "ads" else 1.0)
            visits.append((moment.strftime("%Y-%m-%dT%H:%M:%S"), v_platform[i], v_country[i], v_channel[i],
                           int(rng.random() < rate)))
    for test_account in range(30):  # rows the catalog's filter must drop
        signups.append(((start + dt.timedelta(days=test_account % days)).strftime("%Y-%m-%d 12:00:00"),
                        "web", "US", "free", "organic", 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE signups (created_at TEXT, platform TEXT, country TEXT, plan TEXT, "
                     "channel TEXT, is_test INTEGER)")
        conn.executemany("INSERT INTO signups VALUES (?, ?, ?, ?, ?, ?)", signups)
        conn.execute("CREATE INDEX signups_created_at ON signups (created_at)")
        conn.execute("CREATE TABLE visits (visited_at TEXT, platform TEXT, country TEXT, channel TEXT, "
                     "signed_up INTEGER)")
        conn.executemany("INSERT INTO visits VALUES (?, ?, ?, ?, ?)", visits)
    conn.close()
    return Planted(onset, (("platform", "android"), ("country", "BR")), drop, (("channel", "ads"),))


SAMPLE_METRICS = {
    "signups": {
        "synonyms": ["registrations", "new users", "sign ups"],
        "description": "Accounts created (test accounts excluded)",
        "source": "app", "table": "signups", "time": "created_at", "value": "count(*)",
        "filters": ["is_test = 0"], "dimensions": ["platform", "country", "plan", "channel"],
    },
    "conversion": {
        "synonyms": ["conversion rate", "signup rate"],
        "description": "Share of landing visits that sign up",
        "source": "app", "table": "visits", "time": "visited_at",
        "numerator": "sum(signed_up)", "denominator": "count(*)",
        "dimensions": ["platform", "country", "channel"],
    },
}


SIGNUP_PAGE = """\
<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign up · Acme</title></head>
<body>
  <form action="/api/signup" method="post">
    <label>Email <input name="email" type="email" required></label>
    <!-- consent screen first on Android, then the form -->
    <button type="submit">Create account</button>
  </form>
</body>
</html>
"""


def plant_release(gh: GitHubEmulator, owner: str, name: str, planted: Planted) -> str:
    """Commits around the planted onset in a linked repo: the culprit 3 h before it, and two distractors.
    Returns the culprit's sha."""
    utc = dt.UTC
    onset = planted.onset.replace(tzinfo=utc)
    gh.commit(owner, name, {"site/styles.css": "body { font-family: system-ui; margin: 2rem auto; }\n"},
              "Tighten page margins", author=("Sam Okafor", "sam@acme.example"), when=onset - dt.timedelta(days=2))
    culprit = gh.commit(owner, name, {"site/android/signup.html": SIGNUP_PAGE},
                        "Show the consent screen before the Android signup form",
                        author=("Lee Park", "lee@acme.example"), when=onset - dt.timedelta(hours=3))
    gh.commit(owner, name, {"README.md": "# acme website\n\nThe marketing site for Acme.\n"},
              "Shorten the README", author=("Dana Whitfield", "dana@acme.example"),
              when=onset + dt.timedelta(days=2))
    return culprit
