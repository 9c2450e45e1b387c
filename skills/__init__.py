"""What the agent can do. Each skill is a typed, docstringed async function (see skills/base.py).

Add a skill by writing the function in a module here and appending `Skill.of(fn, needs=...)` to
SKILLS (`mutates=True` for anything that can change state). The names and parameters are a
contract, documented in docs/skills.md.
"""

from skills.base import RunContext, Skill
from skills.command import run_command
from skills.data import describe_table, explain_metric, list_tables, run_sql
from skills.edit import edit_file, propose_change, write_file
from skills.repo_files import list_files, read_file, search_code
from skills.repo_history import git_blame, git_log, git_show

REPOS = frozenset({"repos"})
DATA = frozenset({"data"})

SKILLS: list[Skill] = [
    Skill.of(list_files, needs=REPOS),
    Skill.of(read_file, needs=REPOS),
    Skill.of(search_code, needs=REPOS),
    Skill.of(git_log, needs=REPOS),
    Skill.of(git_show, needs=REPOS),
    Skill.of(git_blame, needs=REPOS),
    Skill.of(run_command, needs=REPOS, mutates=True),
    Skill.of(edit_file, needs=REPOS, mutates=True),
    Skill.of(write_file, needs=REPOS, mutates=True),
    Skill.of(propose_change, needs=REPOS, mutates=True),
    Skill.of(list_tables, needs=DATA),
    Skill.of(describe_table, needs=DATA),
    Skill.of(run_sql, needs=DATA),
    Skill.of(explain_metric, needs=DATA),
]

__all__ = ["SKILLS", "RunContext", "Skill"]
