"""Starting the loop's Dagster runs: the deployment's instance and the run launcher.

The CLI and the API build a `DagsterRuns` at their edge and hand it to the services, which know
only the `services.runs.RunLauncher` interface. This package sits above `defs` (it resolves
the jobs) and below the edges; nothing in `services` or `defs` imports it.
"""

from learning_loop.launch.launcher import DagsterRuns

__all__ = ["DagsterRuns"]
