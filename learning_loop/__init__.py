"""Learning Loop: learns which video recipes work and plans the next batch of videos."""

from __future__ import annotations

from typing import Any

__all__ = ["LearningLoopPlanner", "Recipe"]


def __getattr__(name: str) -> Any:
    # Lazy so that `import learning_loop` (e.g. by Dagster or the CLI) stays cheap.
    if name == "Recipe":
        from learning_loop.domain.recipe import Recipe

        return Recipe
    if name == "LearningLoopPlanner":
        from learning_loop.planner import LearningLoopPlanner

        return LearningLoopPlanner
    raise AttributeError(name)
