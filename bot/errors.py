"""The three kinds of error.

- `SkillError`: the model called a skill wrongly or the skill hit a fixable problem; the
  message goes back to the model as the tool result so it can correct its call.
- `UserError`: a known problem the person in Slack should read, shown as written. It says
  whether a Retry button makes sense.
- anything else is a bug: logged once with the run id; the user gets a short apology with
  the run id and a Retry button, never the exception text.
"""

from __future__ import annotations


class SkillError(Exception):
    """A skill failed in a way the model can fix by calling it differently."""


class UserError(Exception):
    """A problem to show the user verbatim (Slack mrkdwn allowed)."""

    def __init__(self, message: str, *, retryable: bool = False, kind: str = "error") -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.kind = kind


class ModelError(UserError):
    """The model endpoint failed after retries; the message names the cause and the fix."""

    def __init__(self, message: str, *, retryable: bool = True, kind: str = "model") -> None:
        super().__init__(message, retryable=retryable, kind=kind)


class BudgetExceededError(UserError):
    """A run hit one of its hard budgets (tokens or wall time)."""

    def __init__(self, message: str, *, kind: str = "budget") -> None:
        super().__init__(message, retryable=True, kind=kind)


class SettingsError(Exception):
    """Settings are missing or invalid; `problems` lists every one of them."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Invalid settings:\n" + "\n".join(f"  - {p}" for p in problems))
