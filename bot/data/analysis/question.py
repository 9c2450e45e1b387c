""""why did <metric> drop / spike / change / move [when]?" read without a model.

Returns the metric phrase, the direction asked about and the period phrase; the caller resolves
the metric against the catalog (which may answer "did you mean") and the period with
bot/data/analysis/windows.py. Anything else is not a metric question and goes to the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_VERBS = {
    "down": ("drop", "dropped", "fall", "fell", "decline", "declined", "dip", "dipped", "decrease", "decreased",
             "go down", "went down", "tank", "tanked", "plunge", "plunged", "down"),
    "up": ("spike", "spiked", "jump", "jumped", "rise", "rose", "increase", "increased", "grow", "grew",
           "go up", "went up", "surge", "surged", "up"),
    "any": ("change", "changed", "move", "moved", "shift", "shifted"),
}
_VERB_TO_DIRECTION = {verb: direction for direction, verbs in _VERBS.items() for verb in verbs}
_VERB = "|".join(sorted((re.escape(v) for v in _VERB_TO_DIRECTION), key=len, reverse=True))
_QUESTION = re.compile(
    rf"^(?:hey |so |ok |okay )?(?:why|how come|what made)\s+(?:did|does|do|has|have|is|are|was|were)?\s*"
    rf"(?:the |our |my )?(?P<metric>[\w][\w\s.&/-]*?)\s+(?P<verb>{_VERB})\b(?P<when>[^?]*)\??\s*$",
    re.IGNORECASE,
)
_ARE_DOWN = re.compile(
    r"^(?:why|how come)\s+(?:are|is)\s+(?:the |our |my )?(?P<metric>[\w][\w\s.&/-]*?)\s+(?P<verb>down|up)\b"
    r"(?P<when>[^?]*)\??\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class MetricQuestion:
    metric: str  # as written: "signups", "conversion rate"
    direction: str  # down | up | any
    period: str  # as written: "last week", "" (the default comparison)


def parse_question(text: str) -> MetricQuestion | None:
    cleaned = re.sub(r"<@[A-Z0-9]+(?:\|[^>]*)?>", " ", text)
    cleaned = re.sub(r"\s+", " ", cleaned).strip()
    match = _QUESTION.match(cleaned) or _ARE_DOWN.match(cleaned)
    if not match:
        return None
    metric = match.group("metric").strip()
    if not metric or len(metric) > 60:
        return None
    period = re.sub(r"\s+", " ", match.group("when")).strip(" ,.!")
    return MetricQuestion(metric, _VERB_TO_DIRECTION[match.group("verb").lower()], period)
