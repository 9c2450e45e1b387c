"""The `data:` and `metrics:` sections of chatops.yml, validated like the rest of it.

```yaml
channels:
  "#growth":
    data:                                    # name: URL (or path, relative to this file)
      app: sqlite:///data/app.db
      events: data/events.parquet
      warehouse: postgresql://reader@db.internal:5432/analytics   # password: CHATOPS_DATA_PASSWORD_WAREHOUSE
    metrics:
      signups:
        synonyms: [registrations, new users]
        description: Accounts created (test accounts excluded)
        source: app
        table: signups
        time: created_at
        value: count(*)
        filters: ["is_test = 0"]
        dimensions: [platform, country, plan, channel]
      conversion:
        source: app
        table: visits
        time: visited_at
        numerator: sum(signed_up)
        denominator: count(*)
        dimensions: [platform, country, referrer]
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.data.links import DataLink, parse_target
from bot.data.metrics import Metric, check_metric

METRIC_KEYS = ("source", "table", "value", "numerator", "denominator", "time", "filters", "dimensions",
               "synonyms", "description", "grain")


def parse_data(raw: Any, base_dir: Path, where: str, problems: list[str]) -> tuple[DataLink, ...]:
    if not isinstance(raw, dict):
        problems.append(f"{where} must be a mapping of source name to URL or path.")
        return ()
    links = []
    for name, url in raw.items():
        if not isinstance(url, str) or not url.strip():
            problems.append(f"{where}.{name} must be a URL or a path.")
            continue
        try:
            parse_target(url, base_dir)
        except ValueError as exc:
            problems.append(f"{where}.{name}: {exc}.")
            continue
        links.append(DataLink(str(name), url.strip(), base_dir=base_dir))
    return tuple(links)


def parse_metrics(raw: Any, sources: tuple[DataLink, ...], where: str, problems: list[str]) -> tuple[Metric, ...]:
    if not isinstance(raw, dict):
        problems.append(f"{where} must be a mapping of metric name to its definition.")
        return ()
    metrics = []
    known_sources = {link.name for link in sources}
    for name, spec in raw.items():
        here = f"{where}.{name}"
        if not isinstance(spec, dict):
            problems.append(f"{here} must be a mapping (source, table, value or numerator/denominator, ...).")
            continue
        for key in spec:
            if key not in METRIC_KEYS:
                problems.append(f"{here}: unknown key {key!r} (known: {', '.join(METRIC_KEYS)}).")
        texts = {key: _text(spec.get(key)) for key in ("source", "table", "value", "numerator", "denominator",
                                                       "time", "description", "grain")}
        lists = {key: _text_list(spec.get(key), f"{here}.{key}", problems)
                 for key in ("filters", "dimensions", "synonyms")}
        if not texts["source"] or not texts["table"]:
            problems.append(f"{here} needs `source` (a data source name) and `table`.")
            continue
        if texts["source"] not in known_sources:
            problems.append(f"{here}.source: no data source named {texts['source']!r} "
                            f"(defined: {', '.join(sorted(known_sources)) or 'none'}).")
        metric = Metric(name=str(name), source=texts["source"], table=texts["table"], value=texts["value"],
                        numerator=texts["numerator"], denominator=texts["denominator"], time=texts["time"],
                        filters=lists["filters"], dimensions=lists["dimensions"], synonyms=lists["synonyms"],
                        description=texts["description"] or "", grain=texts["grain"])
        check_metric(metric, here, problems)
        metrics.append(metric)
    return tuple(metrics)


def _text(value: Any) -> str | None:
    return str(value).strip() if value not in (None, "") else None


def _text_list(value: Any, where: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        problems.append(f"{where} must be a list.")
        return ()
    return tuple(str(v).strip() for v in value if str(v).strip())
