"""LearningLoopPlanner (contract §8): turns an idea and a recipe into a validated video plan.

The names below are reached lazily: `learning_loop.planner.models` (the services' views use it)
must not pull in the planner itself; each name's module is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from learning_loop.lazy import lazy_exports

if TYPE_CHECKING:
    from learning_loop.planner.core import LearningLoopPlanner
    from learning_loop.planner.errors import (
        PlannerBackendError,
        PlannerConfigError,
        PlannerError,
        PlannerTimeoutError,
        PlanRequestError,
        PlanValidationError,
    )
    from learning_loop.planner.models import PlanRecipe, Scene, VideoPlan, Violation
    from learning_loop.planner.template import build_template_plan
    from learning_loop.planner.validate import ensure_valid, validate_plan

__all__ = [
    "DEFAULT_TARGET_DURATION_S",
    "LearningLoopPlanner",
    "PlanRecipe",
    "PlanRequestError",
    "PlanValidationError",
    "PlannerBackendError",
    "PlannerConfigError",
    "PlannerError",
    "PlannerTimeoutError",
    "Scene",
    "VideoPlan",
    "Violation",
    "build_template_plan",
    "ensure_valid",
    "validate_plan",
]

DEFAULT_TARGET_DURATION_S = 45.0

_WHERE = {
    "LearningLoopPlanner": ".core",
    "PlanRecipe": ".models",
    "PlanRequestError": ".errors",
    "PlanValidationError": ".errors",
    "PlannerBackendError": ".errors",
    "PlannerConfigError": ".errors",
    "PlannerError": ".errors",
    "PlannerTimeoutError": ".errors",
    "Scene": ".models",
    "VideoPlan": ".models",
    "Violation": ".models",
    "build_template_plan": ".template",
    "ensure_valid": ".validate",
    "validate_plan": ".validate",
}


__getattr__ = lazy_exports(__name__, _WHERE)
