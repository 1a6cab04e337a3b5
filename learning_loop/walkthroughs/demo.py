"""The demo walkthrough: a simulated channel driven through the real loop, one day at a time.

Each day plans a batch through the real `plan_next_batch` job, publishes its jobs, ingests the
day's metric snapshots from the simulator, and materializes that day's partitions of the stats
and experiment assets, all real Dagster runs in the configured instance.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from learning_loop.db.engine import Database
from learning_loop.domain.recipe import Recipe
from learning_loop.domain.statuses import ExperimentStatus
from learning_loop.errors import InvalidInput
from learning_loop.services.experiments import list_experiments
from learning_loop.services.ingest import ingest_metrics
from learning_loop.services.planning import preview
from learning_loop.services.projects import create_project
from learning_loop.services.runs import (
    RunLauncher,
    evaluate_experiments_spec,
    run_plan_request,
    update_stats_spec,
)
from learning_loop.services.video_jobs import publish_job
from learning_loop.services.views import PreviewView
from learning_loop.simulation import ChannelConfig, SimulatedChannel, SimVideo

SUBJECTS = [
    "lighthouse keeper",
    "deep-sea city",
    "clockwork forest",
    "desert radio",
    "glass desert",
    "orbital garden",
    "paper dragon",
    "silent arcade",
    "neon monastery",
    "rust cathedral",
    "moon library",
    "storm archive",
    "floating market",
    "frozen subway",
    "mirror lake",
]
ANGLES = [
    "The last",
    "Inside the",
    "Secrets of the",
    "Why nobody visits the",
    "Night at the",
    "The fall of the",
    "Rebuilding the",
]
PUBLISH_HOURS = (9, 12, 15, 18, 21)


@dataclass
class DemoDay:
    day: dt.date
    planned: int
    exploit: int
    explore: int
    mean_true_reward: float
    decided: int


@dataclass
class DemoResult:
    project_id: uuid.UUID
    project_name: str
    days: list[DemoDay] = field(default_factory=list)
    chosen_quality: list[tuple[int, float]] = field(default_factory=list)
    best_recipe: Recipe | None = None
    best_expected_reward: float = 0.0
    next_batch: PreviewView | None = None
    runs: int = 0


def demo_topics(day_index: int, per_day: int) -> list[str]:
    """Fresh topics every day, so duplicates never shrink the demo's batches."""
    topics = []
    for k in range(per_day):
        i = day_index * per_day + k
        subject = SUBJECTS[i % len(SUBJECTS)]
        angle = ANGLES[(i // len(SUBJECTS)) % len(ANGLES)]
        topics.append(f"{angle} {subject} #{i + 1}")
    return topics


def run_demo(
    launcher: RunLauncher,
    db: Database,
    *,
    days: int = 30,
    per_day: int = 5,
    seed: int = 7,
    today: dt.date | None = None,
    on_day: Callable[[DemoDay], Any] | None = None,
) -> DemoResult:
    if not 1 <= days <= 365:
        raise InvalidInput(f"days must be within 1..365, got {days}", "days")
    if not 1 <= per_day <= 100:
        raise InvalidInput(f"per-day must be within 1..100, got {per_day}", "per_day")
    channel = SimulatedChannel(ChannelConfig(seed=seed))
    best = channel.best_recipe()
    end = today or dt.datetime.now(dt.UTC).date()
    first = end - dt.timedelta(days=days)
    name = f"demo-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S-%f}"
    project = create_project(db, name)
    result = DemoResult(
        project_id=project.id,
        project_name=name,
        best_recipe=best,
        best_expected_reward=channel.expected_reward(best),
    )
    published: list[SimVideo] = []
    for index in range(days):
        day = first + dt.timedelta(days=index)
        start = dt.datetime.combine(day, dt.time(7), tzinfo=dt.UTC)
        request, info = run_plan_request(
            db,
            launcher,
            project.id,
            per_day,
            demo_topics(index, per_day),
            seed * 100_003 + index,
            source="demo",
            planned_at=start,
        )
        result.runs += 1
        if not info.success or request.batch is None or request.jobs is None:
            raise RuntimeError(f"plan_next_batch failed on {day}: {info.error}")
        batch = request.batch
        true_rewards = []
        for k, job in enumerate(request.jobs):
            assert job.recipe is not None
            recipe = Recipe.from_dict(job.recipe.model_dump())
            at = start.replace(hour=PUBLISH_HOURS[k % len(PUBLISH_HOURS)]) + dt.timedelta(
                minutes=7 * (k // len(PUBLISH_HOURS))
            )
            external_id = f"sim-{index:03d}-{k:02d}"
            publish_job(db, project.id, job.id, external_id, at)
            published.append(SimVideo(external_id, recipe, job.topic, at, index))
            expected = channel.expected_reward(recipe)
            true_rewards.append(expected)
            result.chosen_quality.append((index, expected))
        # Snapshots captured during this day (of today's and earlier videos).
        day_start = start.replace(hour=0)
        day_end = day_start + dt.timedelta(days=1)
        rows = [
            r
            for r in channel.snapshots(published)
            if day_start <= _parse(r["captured_at"]) < day_end
        ]
        if rows:
            ingest_metrics(db, project.id, list(enumerate(rows, start=1)), what="simulated metrics")
        for step in (
            launcher.run(update_stats_spec(db, project.id, day, 30)),
            launcher.run(evaluate_experiments_spec(db, project.id, day)),
        ):
            result.runs += 1
            if not step.success:
                raise RuntimeError(f"{step.job_name} failed on {day}: {step.error}")
        decided = sum(
            1
            for e in list_experiments(db, project.id, ExperimentStatus.COMPLETED)
            if e.decided_as_of == day
        )
        summary = DemoDay(
            day=day,
            planned=batch.jobs_created,
            exploit=batch.exploit_count,
            explore=batch.explore_count,
            mean_true_reward=sum(true_rewards) / max(1, len(true_rewards)),
            decided=decided,
        )
        result.days.append(summary)
        if on_day is not None:
            on_day(summary)
    result.next_batch = preview(db, project.id, per_day, None, seed)
    return result


def _parse(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
