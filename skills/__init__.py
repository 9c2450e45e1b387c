"""What the agent can do. Each skill is a typed, docstringed async function (see skills/base.py).

Add a skill by writing the function in a module here and appending `Skill.of(fn)` to SKILLS
(`mutates=True` for anything that changes state).
"""

from skills.base import RunContext, Skill

SKILLS: list[Skill] = []

__all__ = ["SKILLS", "RunContext", "Skill"]
