"""The architecture, as tests: imports point down, packages are what the README says they are."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "skills")

# Top to bottom. A module may import any layer below its own. Within a layer it may import only its
# own package, except in the foundations (the last layer), which use each other freely.
LAYERS: list[tuple[str, ...]] = [
    ("handlers",),
    ("bot.core",),
    ("bot.run",),
    ("bot.slack",),
    ("bot.agent", "bot.changes"),
    ("skills",),
    ("bot.channel", "bot.repos", "bot.data", "bot.store", "bot.config", "bot.settings", "bot.errors",
     "bot.redact", "bot.attachment"),
]
# The composition root and the command line wire everything, so they may import anything.
WIRING = ("bot.app", "bot.cli", "bot.__main__")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[str, list[str], int]]:
    """(module imported, names taken from it, line) for every import in the file, TYPE_CHECKING ones too."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            names = [alias.name for alias in node.names]
            submodules = [f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES]
            if submodules:  # `from bot.slack import blocks` imports the module bot.slack.blocks
                found += [(sub, [], node.lineno) for sub in submodules]
                names = [n for n in names if f"{module}.{n}" not in MODULES]
            if names or not submodules:
                found.append((module, names, node.lineno))
    return found


def _layer(module: str) -> tuple[int, str] | None:
    for index, layer in enumerate(LAYERS):
        for prefix in layer:
            if module == prefix or module.startswith(prefix + "."):
                return index, prefix
    return None


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_every_module_has_a_layer():
    loose = [m for m in MODULES if m not in ("bot",) and not _within(m, WIRING) and _layer(m) is None]
    assert not loose, f"give these modules a layer in LAYERS (and a line in the README): {loose}"


def test_imports_point_down():
    wrong = []
    for name, path in MODULES.items():
        if _within(name, WIRING) or name == "bot":
            continue
        mine = _layer(name)
        assert mine is not None
        for module, _, line in _imports(name, path):
            if not module.startswith((*PACKAGES, "sim")):
                continue
            if _within(module, WIRING) or module.startswith("sim"):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module} (only bot/app.py and bot/cli/ may)")
                continue
            theirs = _layer(module)
            if theirs is None or theirs[0] > mine[0]:
                continue
            same_package = theirs[1] == mine[1]
            if theirs[0] < mine[0] or not (same_package or mine[0] == len(LAYERS) - 1):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module} ({mine[1]} may not import {theirs[1]})")
    assert not wrong, "imports must point down:\n" + "\n".join(wrong)


def test_no_module_borrows_another_modules_private_names():
    borrowed = []
    for name, path in MODULES.items():
        for module, names, line in _imports(name, path):
            if module != name and module.startswith(PACKAGES):
                borrowed += [f"{path.relative_to(ROOT)}:{line} imports {module}.{n}" for n in names
                             if n.startswith("_") and not n.startswith("__")]
    assert not borrowed, "make it public where it belongs, or move it:\n" + "\n".join(borrowed)


def _readme_tree() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## How it is built", 1)[1]
    return re.search(r"```\n(.*?)```", section, re.S).group(1)


def test_the_readme_tree_names_every_package_and_nothing_else():
    named = set()
    stack: list[tuple[int, str]] = []
    for line in _readme_tree().splitlines():
        match = re.match(r"^(\s*)([\w.]+/)", line)
        if not match:
            continue
        indent, folder = len(match.group(1)), match.group(2).rstrip("/")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = "/".join([*(f for _, f in stack), folder])
        stack.append((indent, folder))
        named.add(path)
    packages = {str(p.parent.relative_to(ROOT)) for top in PACKAGES for p in (ROOT / top).rglob("__init__.py")}
    assert packages - named == set(), f"packages missing from the README's tree: {sorted(packages - named)}"
    stale = {n for n in named if n.split("/")[0] in PACKAGES and n not in packages}
    assert not stale, f"the README's tree names folders that are not packages: {sorted(stale)}"
