"""`chatops.yml`: per-channel configuration, validated strictly so a typo is reported, not ignored.

```yaml
defaults:
  instructions: Answer briefly; link the code you cite.
channels:
  "#payments":            # a channel name, or its id (C0123ABC)
    instructions: Our services are in Go; money amounts are in cents.
    repos:                # the first is the channel's default
      - acme/payments-api                 # owner/name on GitHub (or GITHUB_API_URL's host)
      - url: https://git.example.com/acme/ledger.git
        branch: release
        name: ledger
        checks: ["make lint", "make test"]   # run before a change is proposed
    approvers: [U0123ABC]                      # who may open PRs (default: whoever asked)
    change_policy:                             # what the bot may change (safe defaults)
      allow: ["docs/**", "site/**", "locales/**", "*.md"]
      deny: ["site/legal/**"]                  # added to the built-in deny list
      max_files: 10
      max_lines: 200
      kind: copy                               # only strings, comments and prose (`none`: read-only)
      require_passing_checks: true
    data: {app: sqlite:///data/app.db}         # data sources and metrics: see the `data:` and `metrics:` sections below
    metrics: {signups: {source: app, table: signups, time: created_at, value: "count(*)"}}
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from bot.data.analysis.metrics import Metric, check_metric
from bot.data.sources.links import DataLink, DataLinkError, parse_target

DEFAULT_DENY = (
    ".github/workflows/**", ".github/actions/**", ".gitlab-ci.yml", ".gitlab/**", ".circleci/**", "Jenkinsfile",
    ".travis.yml", "azure-pipelines.yml", ".buildkite/**", "bitbucket-pipelines.yml", ".drone.yml",
    "**/package-lock.json", "**/yarn.lock", "**/pnpm-lock.yaml", "**/poetry.lock", "**/Pipfile.lock",
    "**/Cargo.lock", "**/go.sum", "**/Gemfile.lock", "**/composer.lock", "**/uv.lock", "**/bun.lockb",
    "**/.env", "**/.env.*", "**/*.env", "**/*.pem", "**/*.key", "**/*.p12", "**/*.pfx", "**/*.crt", "**/*.cer",
    "**/*.jks", "**/*.keystore", "**/id_rsa*", "**/id_ecdsa*", "**/id_ed25519*", "**/.npmrc", "**/.pypirc",
)


@dataclass(frozen=True)
class ChangePolicy:
    allow: tuple[str, ...] = ("**",)
    deny: tuple[str, ...] = DEFAULT_DENY
    max_files: int = 10
    max_lines: int = 200
    kind: str = "any"  # any | copy | none (read-only: no skill that changes anything is offered)
    require_passing_checks: bool = True
    approvers: tuple[str, ...] = ()  # Slack user ids allowed to open the PR; empty: the requester

    @property
    def read_only(self) -> bool:
        """Nothing may be changed here: no mutating skill is offered and no change is proposed."""
        return self.kind == "none" or not self.allow


@dataclass(frozen=True)
class RepoEntry:
    """A repo as written in chatops.yml: `spec` is owner/name, a URL or a path."""

    spec: str
    branch: str | None = None
    name: str | None = None
    checks: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChannelConfig:
    instructions: str = ""
    repos: tuple[RepoEntry, ...] = ()
    approvers: tuple[str, ...] = ()
    change_policy: ChangePolicy = field(default_factory=ChangePolicy)
    data: tuple[DataLink, ...] = ()
    metrics: tuple[Metric, ...] = ()

    @property
    def policy(self) -> ChangePolicy:
        return replace(self.change_policy, approvers=self.approvers)


TOP_LEVEL_KEYS = ("defaults", "channels")


def load_config_file(path: Path, problems: list[str]) -> tuple[ChannelConfig, dict[str, ChannelConfig]] | None:
    """Parse chatops.yml into (defaults, channels by id or name); append every problem found."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        problems.append(f"{path}: cannot be read as YAML ({type(exc).__name__}: {_first_line(exc)}).")
        return None
    if not isinstance(data, dict):
        problems.append(f"{path}: the top level must be a mapping with keys {', '.join(TOP_LEVEL_KEYS)}.")
        return None
    before = len(problems)
    _unknown_keys(data, TOP_LEVEL_KEYS, f"{path}", problems)
    base_dir = path.resolve().parent
    defaults = _channel_config(data.get("defaults") or {}, ChannelConfig(), f"{path}: defaults", problems, base_dir)
    channels: dict[str, ChannelConfig] = {}
    raw_channels = data.get("channels") or {}
    if not isinstance(raw_channels, dict):
        problems.append(f"{path}: channels must be a mapping of channel name or id to settings.")
        raw_channels = {}
    for key, raw in raw_channels.items():
        channels[str(key)] = _channel_config(raw or {}, defaults, f"{path}: channels.{key}", problems, base_dir)
    if len(problems) > before:
        return None
    return defaults, channels


def _channel_config(raw: Any, base: ChannelConfig, where: str, problems: list[str], base_dir: Path) -> ChannelConfig:
    if not isinstance(raw, dict):
        problems.append(f"{where} must be a mapping.")
        return base
    known = tuple(f.name for f in fields(ChannelConfig))
    _unknown_keys(raw, known, where, problems)
    instructions = raw.get("instructions", base.instructions)
    if not isinstance(instructions, str):
        problems.append(f"{where}.instructions must be text.")
        instructions = base.instructions
    repos = _repos(raw["repos"], f"{where}.repos", problems) if "repos" in raw else base.repos
    approvers = base.approvers
    if "approvers" in raw:
        approvers = tuple(str(a).strip() for a in raw["approvers"] or ()) if isinstance(raw["approvers"], list) else ()
        if not isinstance(raw["approvers"], list) or not all(re.fullmatch(r"[UW][A-Z0-9]+", a) for a in approvers):
            problems.append(f"{where}.approvers must be a list of Slack user ids (U0123ABC).")
    policy = _policy(raw["change_policy"], base.change_policy, f"{where}.change_policy", problems) \
        if "change_policy" in raw else base.change_policy
    data = parse_data(raw["data"], base_dir, f"{where}.data", problems) if "data" in raw else base.data
    metrics = parse_metrics(raw["metrics"], data, f"{where}.metrics", problems) if "metrics" in raw else base.metrics
    return ChannelConfig(instructions=instructions.strip(), repos=repos, approvers=approvers, change_policy=policy,
                         data=data, metrics=metrics)


def _policy(raw: Any, base: ChangePolicy, where: str, problems: list[str]) -> ChangePolicy:
    if not isinstance(raw, dict):
        problems.append(f"{where} must be a mapping.")
        return base
    _unknown_keys(raw, ("allow", "deny", "max_files", "max_lines", "kind", "require_passing_checks"), where, problems)
    values: dict[str, Any] = {}
    for key in ("allow", "deny"):
        if key in raw:
            if not isinstance(raw[key], list) or not all(isinstance(p, str) and p for p in raw[key]):
                problems.append(f"{where}.{key} must be a list of path globs.")
                continue
            values[key] = tuple(raw[key]) if key == "allow" else DEFAULT_DENY + tuple(raw[key])
    for key in ("max_files", "max_lines"):
        if key in raw:
            if not isinstance(raw[key], int) or isinstance(raw[key], bool) or raw[key] < 1:
                problems.append(f"{where}.{key} must be a whole number of at least 1.")
                continue
            values[key] = raw[key]
    if "kind" in raw:
        if raw["kind"] not in ("any", "copy", "none"):
            problems.append(f"{where}.kind must be `any`, `copy` or `none` (read-only).")
        else:
            values["kind"] = raw["kind"]
    if "require_passing_checks" in raw:
        if not isinstance(raw["require_passing_checks"], bool):
            problems.append(f"{where}.require_passing_checks must be true or false.")
        else:
            values["require_passing_checks"] = raw["require_passing_checks"]
    return replace(base, **values)


def _repos(raw: Any, where: str, problems: list[str]) -> tuple[RepoEntry, ...]:
    if not isinstance(raw, list):
        problems.append(f"{where} must be a list of owner/name, URLs or {{url, branch, name}}.")
        return ()
    entries = []
    for index, item in enumerate(raw):
        if isinstance(item, str) and item.strip():
            entries.append(RepoEntry(item.strip()))
        elif isinstance(item, dict) and isinstance(item.get("url"), str):
            _unknown_keys(item, ("url", "branch", "name", "checks"), f"{where}[{index}]", problems)
            checks = item.get("checks") or []
            if not isinstance(checks, list) or not all(isinstance(c, str) and c.strip() for c in checks):
                problems.append(f"{where}[{index}].checks must be a list of shell commands.")
                checks = []
            entries.append(RepoEntry(item["url"].strip(), _text(item.get("branch")), _text(item.get("name")),
                                     tuple(c.strip() for c in checks)))
        else:
            problems.append(f"{where}[{index}] must be owner/name, a URL, or a mapping with url (and branch, name).")
    return tuple(entries)


def _text(value: Any) -> str | None:
    return str(value).strip() if value not in (None, "") else None


def _unknown_keys(raw: dict, known: tuple[str, ...], where: str, problems: list[str]) -> None:
    for key in raw:
        if key not in known:
            problems.append(f"{where}: unknown key {key!r} (known: {', '.join(known)}).")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else ""


# The `data:` and `metrics:` sections.
# The `data:` and `metrics:` sections of chatops.yml, validated like the rest of it.
#
# channels:
#   "#growth":
#     data:                                    # name: URL (or path, relative to this file)
#       app: sqlite:///data/app.db
#       events: data/events.parquet
#       warehouse: postgresql://reader@db.internal:5432/analytics   # password: CHATOPS_DATA_PASSWORD_WAREHOUSE
#     metrics:
#       signups:
#         synonyms: [registrations, new users]
#         description: Accounts created (test accounts excluded)
#         source: app
#         table: signups
#         time: created_at
#         value: count(*)
#         filters: ["is_test = 0"]
#         dimensions: [platform, country, plan, channel]
#       conversion:
#         source: app
#         table: visits
#         time: visited_at
#         numerator: sum(signed_up)
#         denominator: count(*)
#         dimensions: [platform, country, referrer]

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
        except DataLinkError as exc:
            problems.append(f"{where}.{name}: {exc.message}.")
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


def _text_list(value: Any, where: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        problems.append(f"{where} must be a list.")
        return ()
    return tuple(str(v).strip() for v in value if str(v).strip())
