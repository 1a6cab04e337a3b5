"""Starting the loop's Dagster runs: the deployment's instance and the run launcher.

The CLI and the API build a `DagsterRuns` at their edge and hand it to the services, which know
only the `services.runs.RunLauncher` interface. This package sits above `defs` (it resolves
the jobs) and below the edges; nothing in `services` or `defs` imports it.
"""

from typing import TYPE_CHECKING

from learning_loop.lazy import lazy_exports

if TYPE_CHECKING:
    from learning_loop.launch.launcher import DagsterRuns

__all__ = ["DagsterRuns"]

# Loaded on first use, so `python -m learning_loop.launch.instance` (what `make dev` runs)
# does not find the module it runs already imported by this package.
__getattr__ = lazy_exports(__name__, {"DagsterRuns": ".launcher"})
