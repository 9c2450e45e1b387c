"""ripgrep over a worktree: the one runner for code search (the search skills and the copy-change locator).

The `rg` binary comes from the `ripgrep` wheel, beside the interpreter; a system `rg` is the
fallback. It runs as a subprocess with a clean environment (no user config) and a time limit.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

from bot.errors import UserError

SEARCH_TIMEOUT = 30


class SearchError(UserError):
    """ripgrep could not run the search (missing, refused the pattern, or too slow)."""


def rg_binary() -> str:
    beside_python = Path(sys.executable).parent / "rg"
    found = str(beside_python) if beside_python.exists() else shutil.which("rg")
    if not found:
        raise SearchError("ripgrep (rg) is not installed, so code search is unavailable")
    return found


async def ripgrep(args: list[str], cwd: Path) -> str:
    """ripgrep's stdout for `args` run in `cwd` ("" when nothing matched)."""
    process = await asyncio.create_subprocess_exec(
        rg_binary(), *args, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={"PATH": os.defpath, "RIPGREP_CONFIG_PATH": ""},
    )
    try:
        async with asyncio.timeout(SEARCH_TIMEOUT):
            stdout, stderr = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.communicate()
        raise SearchError(f"the search took over {SEARCH_TIMEOUT} s; narrow the pattern or path_glob") from None
    if process.returncode == 2 and not stdout:
        message = stderr.decode(errors="replace").strip().splitlines()
        raise SearchError("ripgrep refused it: " + " ".join(message[-3:])[:400])
    return stdout.decode(errors="replace")
