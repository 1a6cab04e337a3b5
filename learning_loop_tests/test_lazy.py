"""The packages that export names lazily: importing them runs none of the modules behind the
names, and every exported name is there on first use."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PACKAGES = ("learning_loop", "learning_loop.planner", "learning_loop.simulation",
            "learning_loop.launch")  # fmt: skip

PROBE = """
import importlib, json, sys
packages = json.loads(sys.argv[1])
for name in packages:
    importlib.import_module(name)
before = sorted(m for m in sys.modules if m.startswith("learning_loop"))
found = {}
for name in packages:
    package = sys.modules[name]
    found[name] = {n: type(getattr(package, n)).__name__ for n in package.__all__}
print(json.dumps({"before": before, "found": found}))
"""


def test_importing_the_packages_runs_none_of_the_modules_behind_their_names() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(PACKAGES)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    seen = json.loads(out)
    # The packages and the helper; nothing else.
    assert set(seen["before"]) <= {
        *PACKAGES,
        "learning_loop.lazy",
        "learning_loop.domain",
        "learning_loop.domain.statuses",
    }
    for package, names in seen["found"].items():
        assert names and all(kind != "NoneType" for kind in names.values()), package


def test_an_unknown_name_is_an_attribute_error_naming_it() -> None:
    import learning_loop.planner

    with pytest.raises(AttributeError, match="'learning_loop.planner' has no attribute 'nope'"):
        learning_loop.planner.nope  # noqa: B018
