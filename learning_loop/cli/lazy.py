"""Modules a command module names at its top but imports on first use, so the CLI starts fast."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    """The module `name`, whose code runs on the first access to one of its attributes.

    A module imported already is returned as it is. Otherwise the module is registered in
    `sys.modules` (and on its package) with `importlib.util.LazyLoader`; its first attribute
    access runs it, and so does an `import` of it elsewhere, which gets the same module. Its
    package is imported now (to find the module), so the package must be cheap to import.
    """
    module = sys.modules.get(name)
    if module is not None:
        return module
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    package, _, child = name.rpartition(".")
    if package:
        setattr(sys.modules[package], child, module)
    return module
