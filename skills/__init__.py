"""What the agent can do. Each skill is a typed, docstringed async function (see skills/base.py).

Add a skill by writing the function in a module here and appending `Skill.of(fn)` to SKILLS
(`mutates=True` for anything that changes state). The names and parameters are a contract,
documented in docs/skills.md.
"""

from skills.base import RunContext, Skill
from skills.command import run_command
from skills.data import describe_table, explain_metric, list_tables, run_sql
from skills.edit import edit_file, propose_change, write_file
from skills.repo_files import list_files, read_file, search_code
from skills.repo_history import git_blame, git_log, git_show

REPO_SKILLS: list[Skill] = [
    Skill.of(list_files),
    Skill.of(read_file),
    Skill.of(search_code),
    Skill.of(git_log),
    Skill.of(git_show),
    Skill.of(git_blame),
    Skill.of(run_command, mutates=True),
    Skill.of(edit_file, mutates=True),
    Skill.of(write_file, mutates=True),
    Skill.of(propose_change, mutates=True),
]

DATA_SKILLS: list[Skill] = [
    Skill.of(list_tables),
    Skill.of(describe_table),
    Skill.of(run_sql),
    Skill.of(explain_metric),
]

SKILLS: list[Skill] = [*REPO_SKILLS, *DATA_SKILLS]

__all__ = ["DATA_SKILLS", "REPO_SKILLS", "SKILLS", "RunContext", "Skill"]
