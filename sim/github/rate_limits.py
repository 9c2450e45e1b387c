"""GitHub's primary rate limit: a budget per identity per hour, reported on every response."""

from __future__ import annotations

from dataclasses import dataclass

from sim.github.state import Clock

WINDOW_SECONDS = 3600
AUTHENTICATED_LIMIT = 5000
ANONYMOUS_LIMIT = 60


@dataclass
class Budget:
    limit: int
    used: int
    reset_at: float

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(int(self.reset_at)),
            "x-ratelimit-used": str(min(self.used, self.limit)),
            "x-ratelimit-resource": "core",
        }

    def to_json(self) -> dict[str, int]:
        return {
            "limit": self.limit,
            "used": min(self.used, self.limit),
            "remaining": self.remaining,
            "reset": int(self.reset_at),
        }


class RateLimits:
    """Core budgets keyed by identity ("user:42", "installation:7", "anonymous:127.0.0.1")."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.budgets: dict[str, Budget] = {}
        self._exhausted: tuple[int, float] | None = None  # remaining, until: applies to new budgets too

    def budget(self, key: str, limit: int) -> Budget:
        now = self.clock.now()
        budget = self.budgets.get(key)
        if budget is None or now >= budget.reset_at:
            budget = Budget(limit, 0, now + WINDOW_SECONDS)
            if self._exhausted is not None and now < self._exhausted[1]:
                budget.used, budget.reset_at = limit - self._exhausted[0], self._exhausted[1]
            self.budgets[key] = budget
        return budget

    def spend(self, key: str, limit: int) -> tuple[Budget, bool]:
        """Count one request; False when the budget was already used up (the request is refused)."""
        budget = self.budget(key, limit)
        if budget.remaining <= 0:
            return budget, False
        budget.used += 1
        return budget, True

    def set_remaining(self, remaining: int, reset_in: float, key: str | None = None) -> None:
        """Leave `remaining` requests until `reset_in` seconds from now, for `key` or everyone."""
        reset_at = self.clock.now() + reset_in
        if key is None:
            self._exhausted = (remaining, reset_at)
        for name, budget in self.budgets.items():
            if key is None or name == key:
                budget.used, budget.reset_at = budget.limit - remaining, reset_at
