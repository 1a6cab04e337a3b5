"""What is named now and imported on first use, so that the CLI and the packages start fast:
a module a command module names at its top (`lazy_module`), and the names a package
exports (`lazy_exports`)."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any


class _OnFirstUse(ModuleType):
    """Stands for the module of the same name: every attribute is read from the real module,
    imported by the first read.

    The real module is imported by Python's own import machinery, which lets one thread run a
    module's code while others wait for it. (`importlib.util.LazyLoader` on this Python does not:
    a second thread reading an attribute while the first runs the module's code finds it empty;
    the API server, which imports the CLI's modules, met that as an `AttributeError` on its first
    requests.) Nothing is cached here, so what a test patches on the real module is seen."""

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self.__name__), attr)


def lazy_module(name: str) -> ModuleType:
    """The module `name`, imported on the first access to one of its attributes.

    Its package is imported now (to check that the module exists), so the package must be cheap
    to import. An `import` of it elsewhere imports the real module, as always; both read the
    same module.
    """
    if importlib.util.find_spec(name) is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    return _OnFirstUse(name)


def lazy_exports(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """A module-level `__getattr__` for `package`: the name `n` is read from the module
    `where[n]` (relative to `package` when it starts with a dot), imported on first use.

    A package that exports names this way stays cheap to import: `import package` runs none
    of the modules behind its names.
    """

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module, package), name)

    return __getattr__
