"""A local GitHub emulator: git smart HTTP (served by `git http-backend`), the REST API under
/api/v3 like GitHub Enterprise, GitHub App auth, and the web pages links point at.

Real `git` and aiohttp clients talk to it unchanged; see sim/github/emulator.py.
"""

from sim.github.calls import Call
from sim.github.emulator import GitHubEmulator
from sim.github.faults import Fault
from sim.github.state import Repo

__all__ = ["Call", "Fault", "GitHubEmulator", "Repo"]
