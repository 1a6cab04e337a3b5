import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from learning_loop.db.models import Experiment, PlannedBatch, Recipe, VideoJob
from learning_loop.domain.experiments import decide
from learning_loop.domain.recipe import (
    DEFAULT_RECIPE,
    RECIPE_FIELDS,
    format_field_value,
    parse_field_value,
)
from learning_loop.domain.recipe import Recipe as DomainRecipe
from learning_loop.domain.statuses import ExploitScope
from learning_loop.domain.topics import topic_hash
from learning_loop.errors import InvalidInput, NotFound
from learning_loop.services import planning
from learning_loop.services.experiments import evaluate_experiments, list_experiments
from learning_loop.services.ingest import ingest_metrics
from learning_loop.services.projects import ProjectSettings, create_project
from learning_loop.services.rewards import compute_rewards_for_date
from learning_loop.services.video_jobs import list_videos, publish_job
from learning_loop_tests.factories import channel, metric_row, numbered, video_row

TOPICS = [f"Topic number {i}" for i in range(30)]


def counts(db):
    with db.read() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(m))
            for m in (PlannedBatch, VideoJob, Experiment, Recipe)
        )


def test_preview_writes_nothing(db):
    pid = channel(db, [video_row(1)], [])
    before = counts(db)
    result = planning.preview(db, pid, 10, TOPICS[:10], seed=3)
    assert len(result.recommendations) == 10
    assert counts(db) == before
    assert result.running_experiments == 0 and result.recent_batches == 0


def test_cold_start_batch_is_written_whole(db):
    pid = create_project(db, "cold").id
    out = planning.plan_and_write(db, pid, 10, TOPICS[:10], seed=11)
    batch = out.batch
    assert batch.jobs_created == len(out.jobs) == 10
    assert batch.exploit_count + batch.explore_count == 10
    assert batch.explore_count in (3, 4)
    exploit = [j for j in out.jobs if j.generation_mode == "exploit"]
    explore = [j for j in out.jobs if j.generation_mode == "explore"]
    # Cold start: exploit uses the project's default recipe.
    assert {j.recipe.model_dump()["hook_type"] for j in exploit} == {"question"}
    assert all(j.experiment_id is not None for j in explore)
    assert all(j.experiment_id is None for j in exploit)
    assert [j.topic for j in out.jobs] == TOPICS[:10]
    experiments = list_experiments(db, pid, "running")
    assert experiments and all(
        e.baseline_recipe_hash == exploit[0].recipe_hash for e in experiments
    )
    baseline = DomainRecipe.from_dict(exploit[0].recipe.model_dump())
    for e in experiments:
        # One recipe field changed: the baseline's value against another valid value of it.
        assert e.variable_tested in RECIPE_FIELDS
        field = e.variable_tested
        assert e.baseline_value == format_field_value(field, getattr(baseline, field))
        assert e.baseline_value != e.variant_value
        variant = baseline.with_field(field, parse_field_value(field, e.variant_value))
        assert e.variant_recipe_hash == variant.recipe_hash
        assert {j.recipe_hash for j in explore if j.experiment_id == e.id} == {variant.recipe_hash}
    jobs = list_videos(db, pid, batch_id=batch.id)
    assert len(jobs) == 10 and {j.status for j in jobs} == {"queued"}
    assert counts(db) == (1, 10, len(experiments), 1 + len(experiments))


def test_no_topic_recipe_twice_across_batches(db):
    # Three older videos hold topics 0-2 with the default recipe, the cold-start exploit recipe.
    pid = channel(db, [video_row(i, topic=TOPICS[i]) for i in range(3)], [])
    default = DEFAULT_RECIPE.recipe_hash
    with db.read() as s:
        # A backfilled video's recipe is its recipe_id's (its own recipe_hash stays null).
        manual = set(
            s.execute(
                select(VideoJob.topic_hash, Recipe.recipe_hash)
                .join(Recipe, Recipe.id == VideoJob.recipe_id)
                .where(VideoJob.generation_mode == "manual")
            ).tuples()
        )
    assert manual == {(topic_hash(t), default) for t in TOPICS[:3]}
    given = TOPICS[:8]
    keys = set(manual)
    planned_total = 0
    for seed in range(6):
        out = planning.plan_and_write(db, pid, 5, given, seed=seed)
        planned = [j.topic for j in out.jobs]
        # The catalogue always has a recipe left for a topic (contract §5): nothing is skipped,
        # and the topics are taken in the list's order.
        assert out.skipped_topics == [] and planned == given[:5]
        for job in out.jobs:
            key = (topic_hash(job.topic), job.recipe_hash)
            assert key not in keys
            keys.add(key)
        planned_total += len(planned)
    assert len(list_experiments(db, pid)) <= 6  # the cap of running experiments
    with db.read() as s:
        stored = (
            s.execute(
                select(VideoJob.topic_hash, Recipe.recipe_hash).join(
                    Recipe, Recipe.id == VideoJob.recipe_id
                )
            )
            .tuples()
            .all()
        )
    assert sorted(stored) == sorted(keys) and len(keys) == len(manual) + planned_total


def test_topics_exhausted_gives_a_smaller_batch_that_says_why(db):
    # Exploit restricted to recipes already made: at cold start that is the default recipe.
    settings = ProjectSettings(explore_rate=0.0, exploit_scope=ExploitScope.MADE)
    pid = create_project(db, "p", settings).id
    planning.plan_and_write(db, pid, 2, ["a", "b"], seed=1)
    out = planning.plan_and_write(db, pid, 3, ["a", "b", "c"], seed=1)
    # Cold start exploit has one recipe only: a and b are taken with it, so only c is left.
    assert [j.topic for j in out.jobs] == ["c"]
    assert {s.topic for s in out.skipped_topics} == {"a", "b"}
    assert out.batch.note and "1 of 3" in out.batch.note


def test_a_used_topic_takes_the_nearest_recipe_of_the_catalogue_at_cold_start(db):
    pid = create_project(db, "p", ProjectSettings(explore_rate=0.0)).id
    planning.plan_and_write(db, pid, 2, ["a", "b"], seed=1)
    out = planning.plan_and_write(db, pid, 3, ["a", "b", "c"], seed=1)
    assert [j.topic for j in out.jobs] == ["a", "b", "c"] and out.skipped_topics == []
    recipes = {j.topic: j.recipe for j in out.jobs}
    default = DEFAULT_RECIPE
    for topic in ("a", "b"):
        recipe = DomainRecipe.from_dict(recipes[topic].model_dump())
        assert len(default.differing_fields(recipe)) == 1  # one field from the default
    assert DomainRecipe.from_dict(recipes["c"].model_dump()) == default
    preview = planning.preview(db, pid, 2, ["a", "b"], seed=1)
    assert all("Alternative: the default recipe with" in r.reason for r in preview.recommendations)


def test_no_topics_means_topic_null(db):
    pid = create_project(db, "p").id
    out = planning.plan_and_write(db, pid, 4, None, seed=2)
    assert [j.topic for j in out.jobs] == [None] * 4


# Not a whole number at all ("5", True, 2.5) is refused where the input is parsed: the API's
# schemas and the CLI's options (see api/test_bad_input.py and cli/test_cli.py).
@pytest.mark.parametrize("n", [0, 101, -5])
def test_bad_n(db, n):
    pid = create_project(db, "p").id
    with pytest.raises(InvalidInput, match="n must be"):
        planning.plan_and_write(db, pid, n, None)
    assert counts(db) == (0, 0, 0, 0)


def test_bad_topics_and_project(db):
    pid = create_project(db, "p").id
    with pytest.raises(InvalidInput, match="topics"):
        planning.preview(db, pid, 2, ["ok", "   "])
    with pytest.raises(InvalidInput, match="topics"):
        planning.preview(db, pid, 2, ["x" * 501])
    with pytest.raises(NotFound):
        planning.preview(db, uuid.uuid4(), 2, None)


def test_failure_mid_write_leaves_nothing(db, monkeypatch):
    pid = create_project(db, "p").id

    def boom(*_a, **_k):
        raise RuntimeError("disk on fire")

    # The recipes' counts are the last statements of the write: the batch, its jobs and its
    # recipes are flushed by then.
    monkeypatch.setattr(planning.writes, "Counter", boom)
    with pytest.raises(RuntimeError):
        planning.plan_and_write(db, pid, 5, TOPICS[:5], seed=1)
    assert counts(db) == (0, 0, 0, 0)


def test_schema_refuses_duplicate_planned_jobs(db):
    pid = create_project(db, "p").id
    out = planning.plan_and_write(db, pid, 1, ["dup"], seed=1)
    job = out.jobs[0]
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.add(
            VideoJob(
                project_id=pid,
                recipe_id=None,
                recipe_hash=job.recipe_hash,
                generation_mode="exploit",
                topic="dup",
                topic_hash=topic_hash("dup"),
                status="queued",
            )
        )
    with db.transaction() as s:
        # History may repeat itself: a manual video with the same key is accepted.
        s.add(
            VideoJob(
                project_id=pid,
                recipe_hash=job.recipe_hash,
                generation_mode="manual",
                topic="dup",
                topic_hash=topic_hash("dup"),
                status="published",
            )
        )


def _run_experiment_round(db, pid, n_topics, seed, minutes_apart=0, block_pull=0):
    """Plan a batch, publish every job (`minutes_apart` minutes after the one before; all at
    once by default) and measure it; `block_pull` adds that much per block of the day (of six
    hours) to the 6-hour views and ten times less to the view duration."""
    out = planning.plan_and_write(
        db, pid, n_topics, [f"t{seed}-{i}" for i in range(n_topics)], seed=seed
    )
    now = dt.datetime.now(dt.UTC)
    snaps = []
    for i, job in enumerate(out.jobs):
        published = now + dt.timedelta(seconds=1, minutes=minutes_apart * i)
        publish_job(db, pid, job.id, f"ext-{seed}-{i}", published)
        block = published.hour // 6
        snaps.append(
            metric_row(
                f"ext-{seed}-{i}",
                published + dt.timedelta(seconds=30),
                views=1000 + 37 * i,
                views_6h=100 + 13 * ((i * 7) % 11) + block_pull * block,
                avg_view_duration_s=10 + (i * 5) % 17 + block_pull // 15 * block,
                likes=10 + (i * 3) % 13,
            )
        )
    ingest_metrics(db, pid, numbered(snaps))
    return out, (now + dt.timedelta(minutes=1)).date()


def arms_of(jobs, exp, rewards):
    """(baseline, variant) rewards of an experiment's arms among these planned jobs."""
    variant = [rewards[j.id] for j in jobs if j.experiment_id == exp.id]
    baseline = [
        rewards[j.id]
        for j in jobs
        if j.generation_mode == "exploit" and j.recipe_hash == exp.baseline_recipe_hash
    ]
    return baseline, variant


def test_experiment_verdict_from_the_arms(db):
    pid = create_project(db, "ab", ProjectSettings(min_samples=3, explore_rate=0.5)).id
    out, day = _run_experiment_round(db, pid, 16, seed=5)
    assert out.batch.jobs_completed == 0
    batches = list_videos(db, pid, status="published")
    assert len(batches) == 16
    compute_rewards_for_date(db, day)
    result = evaluate_experiments(db, day)
    assert result.completed >= 1
    rewards = {v.id: v.reward for v in list_videos(db, pid)}
    completed = list_experiments(db, pid, "completed")
    # The loop below checks every verdict this evaluation reached, and there is at least one.
    assert len(completed) == result.completed >= 1
    for exp in completed:
        baseline, variant = arms_of(out.jobs, exp, rewards)
        expected = decide(baseline, variant, 0.05, 3, deadline=False)
        assert expected is not None
        assert exp.variant_n == expected.variant_n >= 3
        assert exp.baseline_n == expected.baseline_n >= 3
        assert exp.winner == expected.winner and exp.reason == expected.reason
        assert exp.p_value == pytest.approx(expected.p_value)
        assert exp.ci_low == pytest.approx(expected.ci_low)
        assert exp.mde == pytest.approx(expected.mde)
        assert exp.decision_rule == expected.rule
        assert exp.standing is None
        assert exp.decided_as_of == day
    # A verdict is final: evaluating again changes nothing.
    again = evaluate_experiments(db, day)
    assert again.completed == 0


def test_experiment_deadline_without_samples_is_inconclusive(db):
    pid = create_project(db, "late", ProjectSettings(explore_rate=1.0)).id
    planning.plan_and_write(db, pid, 1, ["only"], seed=1)
    (exp,) = list_experiments(db, pid)
    today = exp.started_at.date()
    assert evaluate_experiments(db, today + dt.timedelta(days=27)).completed == 0
    result = evaluate_experiments(db, today + dt.timedelta(days=28))
    assert result.completed == 1
    (done,) = list_experiments(db, pid, "completed")
    assert done.winner == "inconclusive" and done.reason == "insufficient_samples"
    assert done.variant_n == 0 and done.baseline_n == 0


def test_publish_errors_and_batch_progress(db):
    from learning_loop.errors import Conflict

    pid = create_project(db, "pub").id
    other = create_project(db, "other").id
    out = planning.plan_and_write(db, pid, 3, ["a", "b", "c"], seed=1)
    j1, j2, _ = out.jobs
    at = dt.datetime(2026, 11, 1, 10, tzinfo=dt.UTC)
    publish_job(db, pid, j1.id, "X1", at)
    # Publishing again with the same id is a no-op; with another id it is a conflict.
    publish_job(db, pid, j1.id, "X1", at)
    with pytest.raises(Conflict, match="already published"):
        publish_job(db, pid, j1.id, "X9")
    with pytest.raises(Conflict, match="already belongs"):
        publish_job(db, pid, j2.id, "X1")
    with pytest.raises(NotFound):
        publish_job(db, other, j2.id, "X2")
    with pytest.raises(NotFound, match="job_id|no video job"):
        publish_job(db, pid, uuid.uuid4(), "X2")
    with pytest.raises(InvalidInput, match="external_id"):
        publish_job(db, pid, j2.id, "   ")
    with pytest.raises(InvalidInput, match="published_at must carry a time zone"):
        publish_job(db, pid, j2.id, "X2", dt.datetime(2026, 11, 1, 10))
    with db.read() as s:
        batch = s.get(PlannedBatch, out.batch.id)
        assert batch.jobs_completed == 1
