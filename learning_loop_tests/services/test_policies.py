"""Project policies: the seed's 70/30 by default, Thompson sampling when a project opts in."""

import datetime as dt

import pytest
from sqlalchemy import select

from learning_loop.db.models import VideoJob
from learning_loop.domain.statuses import Policy
from learning_loop.errors import InvalidInput
from learning_loop.services import planning
from learning_loop.services.ingest import (
    METRIC_COLUMNS,
    VIDEO_COLUMNS,
    backfill_recipes,
    import_videos,
    ingest_metrics,
)
from learning_loop.services.projects import (
    ProjectSettings,
    configure_project,
    create_project,
    show_project,
)
from learning_loop.services.rows import read_rows
from learning_loop.services.stats import update_stats


def rewarded(db, samples, policy):
    pid = create_project(db, policy, ProjectSettings(policy=Policy(policy))).id
    import_videos(db, pid, read_rows(samples / "videos.csv", VIDEO_COLUMNS))
    backfill_recipes(db, pid)
    ingest_metrics(db, pid, read_rows(samples / "metrics.csv", METRIC_COLUMNS))
    update_stats(db, pid, dt.date(2026, 10, 30), 30)
    return pid


def test_thompson_plans_record_probabilities(db, samples):
    pid = rewarded(db, samples, "thompson")
    topics = [f"Thompson topic {i}" for i in range(10)]
    preview = planning.preview(db, pid, 10, topics, seed=4)
    assert all(0 < r.probability <= 1 for r in preview.recommendations)
    out = planning.plan_and_write(db, pid, 10, topics, seed=4)
    assert len(out.jobs) == 10
    assert all(0 < j.selection_probability <= 1 for j in out.jobs)
    for job in out.jobs:
        assert (job.experiment_id is not None) == (job.generation_mode == "explore")
    with db.read() as s:
        stored = s.scalars(
            select(VideoJob.selection_probability).where(VideoJob.batch_id == out.batch.id)
        ).all()
    assert all(p is not None for p in stored)
    again = planning.plan_and_write(db, pid, 10, topics, seed=5)
    keys = {(j.topic, j.recipe_hash) for j in out.jobs}
    assert not keys & {(j.topic, j.recipe_hash) for j in again.jobs}


def test_seed_policy_leaves_probability_empty(db, samples):
    pid = rewarded(db, samples, "seed")
    out = planning.plan_and_write(db, pid, 4, None, seed=1)
    assert {j.selection_probability for j in out.jobs} == {None}


def test_configure_project(db):
    pid = create_project(db, "c").id
    p = configure_project(
        db,
        pid,
        policy=Policy.THOMPSON,
        auto_plan=True,
        auto_plan_count=7,
        topic_backlog=["  First  ", "Second"],
    )
    assert (p.policy, p.auto_plan, p.auto_plan_count, p.topic_backlog) == (
        "thompson",
        True,
        7,
        ["First", "Second"],
    )
    assert show_project(db, pid).policy == "thompson"
    with pytest.raises(InvalidInput, match="auto_plan_count"):
        configure_project(db, pid, auto_plan_count=0)
    with pytest.raises(InvalidInput, match=r"topic_backlog\[1\]"):
        configure_project(db, pid, topic_backlog=["ok", "  "])
    assert show_project(db, pid).topic_backlog == ["First", "Second"]
