"""LearningLoopPlanner (contract §8): turns an idea and a recipe into a validated video plan.

Reached as `learning_loop.planner.LearningLoopPlanner` (or `learning_loop.LearningLoopPlanner`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Protocol

from learning_loop.domain.recipe import InvalidRecipe, Recipe
from learning_loop.domain.statuses import PlannerBackend
from learning_loop.planner import DEFAULT_TARGET_DURATION_S
from learning_loop.planner.errors import PlannerConfigError, PlanRequestError
from learning_loop.planner.guidance import check_target_duration, clean_idea
from learning_loop.planner.models import VideoPlan
from learning_loop.planner.stats import BackendStats
from learning_loop.planner.template import build_template_plan
from learning_loop.planner.validate import ensure_valid


class Backend(Protocol):
    async def plan(self, idea: str, recipe: Recipe, target_duration_s: float) -> VideoPlan: ...


class TemplateBackend:
    name = "template"

    def __init__(self, stats: BackendStats | None = None) -> None:
        self.stats = stats

    async def plan(self, idea: str, recipe: Recipe, target_duration_s: float) -> VideoPlan:
        started = time.perf_counter()
        plan = build_template_plan(idea, recipe, target_duration_s)
        if self.stats is not None:
            self.stats.latencies_s.append(time.perf_counter() - started)
        return plan


def _make_backend(name: str, options: dict[str, Any], stats: BackendStats | None) -> Backend:
    if name == PlannerBackend.TEMPLATE:
        if options:
            raise PlannerConfigError(
                f"the template backend takes no options; got {', '.join(sorted(options))}",
                "backend",
            )
        return TemplateBackend(stats)
    if name == PlannerBackend.OPENAI:
        # Imported here so that template-only users never load the HTTP stack.
        from learning_loop.planner.openai_backend import OpenAIBackend

        return OpenAIBackend(stats=stats, **options)
    raise PlanRequestError(
        f"backend must be one of {', '.join(PlannerBackend)}; got {name!r}", "backend"
    )


class LearningLoopPlanner:
    """Plans one video from an idea and a recipe; every backend's plan passes the same validator.

    `backend="openai"` reads its LEARNING_LOOP_LLM_* settings here, at construction;
    backend_options (base_url, api_key, model, timeout_s, max_retries, http_retries,
    backoff_s, env) override them.

    `stats`, when given, collects the backend's latencies and re-asks. Used as an async
    context manager (`async with planner:`), the planner keeps one connection pool for every
    plan made inside the block; without it, each plan opens its own.
    """

    def __init__(
        self,
        backend: str = "template",
        target_duration_s: float = DEFAULT_TARGET_DURATION_S,
        *,
        stats: BackendStats | None = None,
        **backend_options: Any,
    ) -> None:
        # 5 scenes is the fewest a recipe has, so this is the widest range any recipe allows.
        self.target_duration_s = check_target_duration(target_duration_s, 5)
        self.backend_name = backend
        self._backend = _make_backend(backend, backend_options, stats)

    async def __aenter__(self) -> LearningLoopPlanner:
        enter = getattr(self._backend, "__aenter__", None)
        if enter is not None:
            await enter()
        return self

    async def __aexit__(self, *exc: object) -> None:
        leave = getattr(self._backend, "__aexit__", None)
        if leave is not None:
            await leave(*exc)

    async def plan(self, idea: str, recipe: Recipe | Mapping[str, object]) -> VideoPlan:
        """A validated plan; PlanRequestError for bad input, PlannerError subclasses otherwise."""
        text = clean_idea(idea)
        if not isinstance(recipe, Recipe):
            try:
                recipe = Recipe.from_dict(recipe)
            except (InvalidRecipe, TypeError) as exc:
                raise PlanRequestError(f"invalid recipe: {exc}", "recipe") from None
        check_target_duration(self.target_duration_s, recipe.scene_count)
        plan = await self._backend.plan(text, recipe, self.target_duration_s)
        return ensure_valid(plan, recipe)
