"""`acme/website`: a small, realistic repository for trying the bot locally (`--sample-repo`).

A static site with a pricing page, an i18n catalog that must agree with it, a stdlib-only check
script that AGENTS.md names, a CI workflow, a README whose Installation section has a typo, and a
history of four commits by three people over four days.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sim.github.state import Repo

if TYPE_CHECKING:
    from sim.github.emulator import GitHubEmulator

DANA = ("Dana Whitfield", "dana@acme.example")
LEE = ("Lee Park", "lee@acme.example")
SAM = ("Sam Okafor", "sam@acme.example")

README = """\
# acme website

The marketing site for Acme: static HTML under `site/`, strings under `locales/`.

## Installation

Clone the repository and install the dependancies (only Python 3.11 or newer is needed):

```sh
git clone http://github.example/acme/website.git
cd website
python3 scripts/check_site.py
```

## Editing copy

Every visible string lives in `locales/en.json`; pages mark them with `data-i18n="key"`.
Change the catalog and the page together, then run the check.
"""

INDEX = """\
<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Acme</title><link rel="stylesheet" href="styles.css"></head>
<body>
  <h1 data-i18n="home.title">Ship faster with Acme</h1>
  <p data-i18n="home.subtitle">Deploy previews for every pull request.</p>
  <a href="pricing.html" data-i18n="nav.pricing">Pricing</a>
</body>
</html>
"""

STYLES = ("body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 48rem; }\n"
          ".cta { font-weight: bold; }\n")

PRICING = """\
<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Pricing · Acme</title><link rel="stylesheet" href="styles.css"></head>
<body>
  <h1 data-i18n="pricing.title">Simple pricing</h1>
  <p data-i18n="pricing.team">Team: $12 per user per month</p>
  <a class="cta" href="/signup" data-i18n="pricing.cta">Start your free trial</a>
</body>
</html>
"""

EN = """\
{
  "home.title": "Ship faster with Acme",
  "home.subtitle": "Deploy previews for every pull request.",
  "nav.pricing": "Pricing",
  "pricing.title": "Simple pricing",
  "pricing.team": "Team: $12 per user per month",
  "pricing.cta": "Start your free trial"
}
"""

DE = """\
{
  "home.title": "Schneller liefern mit Acme",
  "home.subtitle": "Vorschau-Deployments für jeden Pull Request.",
  "nav.pricing": "Preise",
  "pricing.title": "Einfache Preise",
  "pricing.team": "Team: 12 $ pro Person und Monat",
  "pricing.cta": "Kostenlos testen"
}
"""

CHECK = '''\
"""Check the site: every locale has the same keys as en.json, and every data-i18n element in
site/*.html shows exactly its English string. Prints OK or the problems (exit status 1)."""

import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
MARKED = re.compile(r'data-i18n="([^"]+)"[^>]*>([^<]*)<')


def main() -> int:
    english = json.loads((ROOT / "locales" / "en.json").read_text())
    problems = []
    for locale in sorted((ROOT / "locales").glob("*.json")):
        keys = set(json.loads(locale.read_text()))
        if keys != set(english):
            problems.append(f"{locale.name}: keys differ from en.json: {sorted(keys ^ set(english))}")
    pages = sorted((ROOT / "site").glob("*.html"))
    for page in pages:
        for key, text in MARKED.findall(page.read_text()):
            if key not in english:
                problems.append(f"{page.name}: unknown key {key}")
            elif text.strip() != english[key]:
                problems.append(f"{page.name}: {key} shows {text.strip()!r}, en.json has {english[key]!r}")
    for problem in problems:
        print(problem)
    if not problems:
        print(f"OK: {len(pages)} pages, {len(english)} strings")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
'''

WORKFLOW = """\
name: ci
on: [push, pull_request]
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: python3 scripts/check_site.py
"""

AGENTS = """\
# Notes for coding agents

- Check every change with `python3 scripts/check_site.py` (stdlib only, runs in well under a second).
  It must print `OK`.
- User-visible copy lives in `locales/*.json`; `site/*.html` repeats the English text for
  crawlers. Change both, and add the key to every locale.
- Keep pull requests small: one change, a title that says what it does.
- Do not edit `.github/workflows/` in a copy change.
"""


def when(day: int, hour: int, minute: int) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC)


def create_sample_repo(gh: GitHubEmulator) -> Repo:
    repo = gh.create_repo(
        "acme", "website", files={"README.md": README, "site/index.html": INDEX, "site/styles.css": STYLES},
        private=True, description="Acme's marketing site", author=DANA, when=when(3, 9, 12),
        message="Initial site: landing page and README",
    )  # fmt: skip
    gh.commit(
        "acme",
        "website",
        {"site/pricing.html": PRICING, "locales/en.json": EN},
        "Add pricing page and English strings",
        author=LEE,
        when=when(4, 14, 40),
    )
    gh.commit(
        "acme",
        "website",
        {"locales/de.json": DE, "scripts/check_site.py": CHECK, ".github/workflows/ci.yml": WORKFLOW},
        "Add German strings and the site check",
        author=SAM,
        when=when(5, 11, 5),
    )
    gh.commit(
        "acme",
        "website",
        {"AGENTS.md": AGENTS},
        "Document the site check for agents",
        author=DANA,
        when=when(6, 16, 20),
    )
    return repo
