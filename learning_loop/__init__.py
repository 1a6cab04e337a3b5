"""Learning Loop: learns which video recipes work and plans the next batch of videos."""

from __future__ import annotations

from typing import TYPE_CHECKING

from learning_loop.lazy import lazy_exports

if TYPE_CHECKING:
    from learning_loop.domain.recipe import Recipe
    from learning_loop.planner import LearningLoopPlanner

__all__ = ["LearningLoopPlanner", "Recipe"]

# Lazy so that `import learning_loop` (e.g. by Dagster or the CLI) stays cheap.
__getattr__ = lazy_exports(
    __name__,
    {"Recipe": "learning_loop.domain.recipe", "LearningLoopPlanner": "learning_loop.planner"},
)
