"""The layering, read from the source with `ast` (nothing is imported or run):

- `learning_loop.services` knows runs only through its `RunLauncher` interface: none of its
  modules imports `learning_loop.defs` or `learning_loop.launch` (not even lazily, in a
  function, or under TYPE_CHECKING).
- No module of `learning_loop` or `api` starts our own package in a child process
  (`python -m learning_loop…`, `shorts-engine`): a run goes through the Dagster instance.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ROOT / "learning_loop" / "services"
ABOVE_SERVICES = ("learning_loop.defs", "learning_loop.launch")
# Calls that start another program.
SPAWNERS = {
    *(
        f"subprocess.{name}"
        for name in ("Popen", "run", "call", "check_call", "check_output", "getoutput",
                     "getstatusoutput")
    ),
    *(
        f"os.{name}"
        for name in ("system", "popen", "execl", "execle", "execlp", "execlpe", "execv", "execve",
                     "execvp", "execvpe", "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv",
                     "spawnve", "spawnvp", "spawnvpe", "posix_spawn", "posix_spawnp")
    ),
    "asyncio.create_subprocess_exec",
    "asyncio.create_subprocess_shell",
    "pty.spawn",
}  # fmt: skip
OUR_PROGRAMS = ("learning_loop", "shorts-engine", "shorts_engine")


def python_files(*folders: Path) -> Iterator[Path]:
    for folder in folders:
        yield from sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module `source` imports anywhere, relative imports resolved; `from a import b`
    counts as `a` and `a.b` (b may be a module). `importlib.import_module("x")` counts too."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            name = ".".join([*base, *([node.module] if node.module else [])])
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and dotted(node.func) in ("importlib.import_module", "import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


def dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    return ""


def spawns_of_our_package(source: str) -> list[str]:
    """The calls in `source` that start a program whose command line names our package."""
    tree = ast.parse(source)
    aliases: dict[str, str] = {}  # local name -> what it was imported as
    constants: dict[str, str] = {}  # module-level NAME = "string"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in tree.body:
        if (
            isinstance(node, ast.Assign | ast.AnnAssign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = node.value.value

    def resolved(func: ast.expr) -> str:
        name = dotted(func)
        head, _, rest = name.partition(".")
        full = aliases.get(head, head)
        return f"{full}.{rest}" if rest else full

    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or resolved(node.func) not in SPAWNERS:
            continue
        words = []
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            for sub in ast.walk(arg):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    words.append(sub.value)
                elif isinstance(sub, ast.Name) and sub.id in constants:
                    words.append(constants[sub.id])
        if any(program in word for word in words for program in OUR_PROGRAMS):
            found.append(f"line {node.lineno}: {ast.unparse(node)[:120]}")
    return found


def test_services_import_neither_defs_nor_launch():
    files = list(python_files(SERVICES))
    assert len(files) > 10  # the folder was found
    wrong = {}
    for path in files:
        imported = imported_modules(
            path.read_text(), module_name(path), is_package=path.name == "__init__.py"
        )
        above = sorted(
            m for m in imported for a in ABOVE_SERVICES if m == a or m.startswith(f"{a}.")
        )
        if above:
            wrong[str(path.relative_to(ROOT))] = above
    assert wrong == {}


# Modules at the bottom: every layer imports them, so they import nothing of ours but the
# domain and each other.
BOTTOM = ("settings.py", "errors.py")
BELOW = ("learning_loop.domain", "learning_loop.errors", "learning_loop.settings")


@pytest.mark.parametrize("name", BOTTOM)
def test_the_bottom_modules_import_no_layer_above(name):
    path = ROOT / "learning_loop" / name
    imported = imported_modules(path.read_text(), module_name(path))
    ours = sorted(m for m in imported if m.startswith("learning_loop.") and not m.startswith(BELOW))
    assert ours == []


def test_nothing_starts_our_own_package_in_a_child_process():
    files = list(python_files(ROOT / "learning_loop", ROOT / "api"))
    assert len(files) > 50
    wrong = {
        str(path.relative_to(ROOT)): spawns
        for path in files
        if (spawns := spawns_of_our_package(path.read_text()))
    }
    assert wrong == {}


# The checks themselves: each of these must be caught.
@pytest.mark.parametrize(
    "source",
    [
        "from learning_loop.defs import defs",
        "import learning_loop.launch.launcher",
        "from learning_loop import launch",
        "from .. import defs",
        "from ..launch.instance import open_instance",
        "def f():\n    from learning_loop.launch import DagsterRuns",
        "import importlib\nimportlib.import_module('learning_loop.defs')",
    ],
)
def test_an_import_from_above_is_caught(source):
    imported = imported_modules(source, "learning_loop.services.stats")
    assert any(m.startswith(ABOVE_SERVICES) for m in imported), imported


def test_a_relative_import_in_a_package_resolves_from_itself():
    assert "learning_loop.services.runs" in imported_modules(
        "from .runs import RunSpec", "learning_loop.services", is_package=True
    )
    assert not any(
        m.startswith(ABOVE_SERVICES)
        for m in imported_modules("from . import runs", "learning_loop.services.stats")
    )


@pytest.mark.parametrize(
    "source",
    [
        "import subprocess, sys\nsubprocess.Popen([sys.executable, '-m', 'learning_loop.cli'])",
        "from subprocess import Popen as P\nP(['shorts-engine', 'learn', 'update-stats'])",
        "import subprocess as sp\nMOD = 'learning_loop'\nsp.run(['python', '-m', MOD])",
        "import os\nos.system('shorts-engine learn plan-next')",
        "import asyncio\nasyncio.create_subprocess_exec('shorts-engine', 'api')",
    ],
)
def test_a_child_process_of_our_package_is_caught(source):
    assert spawns_of_our_package(source)


def test_other_child_processes_pass():
    assert not spawns_of_our_package("import subprocess\nsubprocess.run(['git', 'status'])")


HEAVY = ("pandas", "scipy", "numpy", "jinja2", "dagster", "dagster_postgres", "api", "fastapi")


def _imported_by(module: str) -> set[str]:
    """The top-level packages a fresh interpreter has loaded after importing `module`."""
    code = (
        f"import sys, {module}; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    return set(out.split())


def test_the_cli_starts_without_the_heavy_libraries():
    """Every command pays for what the CLI module imports: numpy, pandas, scipy, Jinja2,
    Dagster and the API are imported by the commands that use them, not at start."""
    loaded = _imported_by("learning_loop.cli")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_the_check_sees_a_heavy_import():
    assert "numpy" in _imported_by("learning_loop.domain.additive_model")


# What no start of the CLI may load: every command pays for the CLI module and its parser
# before it runs, and `--help` must answer at once (issue 17). SQLAlchemy, pydantic and the
# settings come with the commands that open the database; Rich with a table or the help.
NOT_AT_IMPORT = (*HEAVY, "sqlalchemy", "alembic", "pydantic", "pydantic_settings", "rich")
NOT_IN_HELP = (*HEAVY, "sqlalchemy", "alembic", "pydantic", "pydantic_settings", "httpx")
# `projects list` needs SQLAlchemy, the models and the services' views, and nothing of these:
NOT_IN_LIST = (*HEAVY, "alembic", "mako", "httpx", "uvicorn")
NOT_IN_LIST_MODULES = (
    "learning_loop.launch",
    "learning_loop.defs",
    "learning_loop.planner.core",
    "learning_loop.planner.template",
    "learning_loop.reporting",
    "learning_loop.walkthroughs",
)


def _loaded_by_command(tmp_path: Path, *args: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running `shorts-engine ARGS` (the
    embedded SQLite database under `tmp_path`)."""
    from learning_loop_tests.processes import clean_env

    listing = tmp_path / "modules.txt"
    code = (
        "import sys\n"
        "from learning_loop.cli import main\n"
        "code = main(sys.argv[2:])\n"
        "open(sys.argv[1], 'w').write(' '.join(sorted(sys.modules)))\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(listing), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=clean_env(LEARNING_LOOP_HOME=str(tmp_path / "home")),
    )
    assert done.returncode == 0, done.stderr
    return set(listing.read_text().split())


def _packages(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_importing_the_cli_loads_no_database_layer():
    loaded = _imported_by("learning_loop.cli")
    assert not loaded & set(NOT_AT_IMPORT), sorted(loaded & set(NOT_AT_IMPORT))


def test_the_help_loads_no_database_layer(tmp_path):
    loaded = _packages(_loaded_by_command(tmp_path, "--help"))
    assert "typer" in loaded  # the check sees what the command loaded
    assert not loaded & set(NOT_IN_HELP), sorted(loaded & set(NOT_IN_HELP))


def test_listing_projects_loads_the_database_layer_only(tmp_path):
    _loaded_by_command(tmp_path, "projects", "list")  # creates the schema (with Alembic)
    modules = _loaded_by_command(tmp_path, "projects", "list")
    loaded = _packages(modules)
    assert "sqlalchemy" in loaded  # the check sees what the command loaded
    assert not loaded & set(NOT_IN_LIST), sorted(loaded & set(NOT_IN_LIST))
    ours = sorted(
        m for m in modules for p in NOT_IN_LIST_MODULES if m == p or m.startswith(p + ".")
    )
    assert ours == []
