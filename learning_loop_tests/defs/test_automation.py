import datetime as dt

from dagster import (
    DagsterInstance,
    RunRequest,
    build_schedule_context,
    build_sensor_context,
    instance_for_test,
)
from sqlalchemy import select, update

from learning_loop.db.models import Project, RecipeDailyStats, VideoReward
from learning_loop.defs import defs
from learning_loop.defs.automation import (
    daily_experiment_evaluation,
    daily_recipe_stats,
    nightly_auto_plan,
    plan_requests_sensor,
)
from learning_loop.defs.partitions import EVALUATION_DATES
from learning_loop.services import planning
from learning_loop.services.experiments import list_experiments
from learning_loop.services.ingest import (
    METRIC_COLUMNS,
    VIDEO_COLUMNS,
    backfill_recipes,
    import_videos,
    ingest_metrics,
)
from learning_loop.services.plan_requests import create_plan_request, get_plan_request
from learning_loop.services.projects import ProjectSettings, create_project, show_project
from learning_loop.services.recipes import compute_recipe_stats
from learning_loop.services.rewards import compute_rewards_for_date
from learning_loop.services.rows import read_rows
from learning_loop.services.video_jobs import list_videos
from learning_loop_tests.factories import project


def tick(resources, instance=None):
    with DagsterInstance.ephemeral() as own:
        context = build_sensor_context(resources=resources, instance=instance or own)
        return plan_requests_sensor.evaluate_tick(context)


def run_requests(data):
    return list(data.run_requests or [])


def test_sensor_turns_each_request_into_one_run(db, resources):
    pid = project(db)
    assert run_requests(tick(resources)) == []
    assert tick(resources).skip_message == "no pending plan request"
    first = create_plan_request(db, pid, 3, ["a", "b", "c"], seed=1)
    second = create_plan_request(db, pid, 2, None, seed=2, source="cli")
    requests = run_requests(tick(resources))
    assert [r.run_key for r in requests] == [str(first.id), str(second.id)]
    assert requests[0].tags["plan_request_id"] == str(first.id)

    job = defs.resolve_job_def("plan_next_batch")
    with DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            run_config=requests[0].run_config,
            instance=instance,
            resources=resources,
            tags=requests[0].tags,
        )
        assert result.success
        done = get_plan_request(db, first.id)
        assert done.status == "succeeded" and done.run_id == result.run_id
        assert done.batch.jobs_created == 3
        assert [j.topic for j in done.jobs] == ["a", "b", "c"]
        # A processed request is never handed out again.
        assert [r.run_key for r in run_requests(tick(resources))] == [str(second.id)]
        # Running the same request again (a retried run) adds no second batch.
        again = job.execute_in_process(
            run_config=requests[0].run_config, instance=instance, resources=resources
        )
        assert again.success
        assert get_plan_request(db, first.id).batch_id == done.batch_id
        assert len(list_videos(db, pid)) == 3


def test_failed_plan_marks_the_request_failed(db, resources):
    pid = project(db)
    request = create_plan_request(db, pid, 2, None)
    with db.transaction() as s:
        s.execute(update(Project).values(default_recipe={"preset": "broken"}))
    (req,) = run_requests(tick(resources))
    result = defs.resolve_job_def("plan_next_batch").execute_in_process(
        run_config=req.run_config, resources=resources, raise_on_error=False
    )
    assert not result.success
    failed = get_plan_request(db, request.id)
    assert failed.status == "failed" and failed.error and failed.batch is None


def schedule_requests(schedule, when, instance):
    """A daily schedule's run requests at `when` on a persistent `instance`; the context is
    closed after, with the instance it opened from the instance's ref."""
    with build_schedule_context(
        scheduled_execution_time=when, repository_def=defs.get_repository_def(), instance=instance
    ) as context:
        return schedule.evaluate_tick(context).run_requests


def test_daily_schedules_target_the_previous_day():
    when = dt.datetime(2026, 11, 26, 0, 15, tzinfo=dt.UTC)
    for schedule, prefix in (
        (daily_recipe_stats, "stats"),
        (daily_experiment_evaluation, "experiments"),
    ):
        with instance_for_test() as instance:
            (req,) = schedule_requests(schedule, when, instance)
            assert req.partition_key == "2026-11-25"
            assert req.run_key == f"{prefix}:2026-11-25"
            # The date is a partition from then on: the run the request makes can start.
            assert instance.get_dynamic_partitions(EVALUATION_DATES) == ["2026-11-25"]


def stored_rows(db):
    with db.read() as s:
        rewards = s.execute(
            select(
                VideoReward.video_id,
                VideoReward.project_id,
                VideoReward.reward_date,
                VideoReward.reward,
            ).order_by(VideoReward.video_id, VideoReward.reward_date)
        ).all()
        stats = s.execute(
            select(
                RecipeDailyStats.recipe_id,
                RecipeDailyStats.stats_date,
                RecipeDailyStats.avg_reward_score,
                RecipeDailyStats.rewarded_videos,
            ).order_by(RecipeDailyStats.recipe_id, RecipeDailyStats.stats_date)
        ).all()
    return rewards, stats


def test_daily_schedules_run_requests_compute_the_previous_day(db, resources, samples):
    day = dt.date(2026, 10, 30)
    channel = project(db, "sample")
    import_videos(db, channel, read_rows(samples / "videos.csv", VIDEO_COLUMNS))
    backfill_recipes(db, channel)
    ingest_metrics(db, channel, read_rows(samples / "metrics.csv", METRIC_COLUMNS))
    # An experiment opened 28 days before `day`: its deadline falls on `day` itself.
    ab = create_project(db, "ab", ProjectSettings(explore_rate=1.0)).id
    opened = dt.datetime.combine(day - dt.timedelta(days=28), dt.time(12), tzinfo=dt.UTC)
    planning.plan_and_write(db, ab, 1, ["only"], seed=1, planned_at=opened)

    with instance_for_test() as instance:
        for schedule, at in ((daily_recipe_stats, "00:15"), (daily_experiment_evaluation, "00:45")):
            when = dt.datetime.fromisoformat(f"2026-10-31T{at}:00+00:00")
            (req,) = schedule_requests(schedule, when, instance)
            result = defs.resolve_job_def(schedule.job_name).execute_in_process(
                partition_key=req.partition_key,
                run_config=req.run_config,
                instance=instance,
                resources=resources,
                tags=req.tags,
            )
            assert result.success
            assert result.dagster_run.tags["dagster/partition"] == day.isoformat()

    rewards, stats = stored_rows(db)
    # The previous day's rewards: the sample channel's 59 window videos, nothing else.
    assert len(rewards) == 59
    assert {r.reward_date for r in rewards} == {day}
    assert {r.project_id for r in rewards} == {channel}
    assert all(0.0 <= r.reward <= 1.0 for r in rewards)
    assert {r.stats_date for r in stats} == {day}
    assert sum(1 for r in stats if r.avg_reward_score is not None) == 6
    assert sum(r.rewarded_videos for r in stats) == 59
    # They are what the services compute for that day: computing it again changes nothing.
    compute_rewards_for_date(db, day)
    compute_recipe_stats(db, day)
    assert stored_rows(db) == (rewards, stats)
    (verdict,) = list_experiments(db, ab)
    assert verdict.status == "completed" and verdict.decided_as_of == day
    assert verdict.winner == "inconclusive" and verdict.reason == "insufficient_samples"


def test_nightly_auto_plan_plans_from_the_backlog(db, resources):
    on = project(db, "auto")
    project(db, "manual")
    empty = project(db, "auto-but-empty")
    with db.transaction() as s:
        s.execute(
            update(Project)
            .where(Project.name == "auto")
            .values(auto_plan=True, auto_plan_count=2, topic_backlog=["x", "y", "z"])
        )
        s.execute(update(Project).where(Project.name == "auto-but-empty").values(auto_plan=True))
    context = build_schedule_context(
        scheduled_execution_time=dt.datetime(2026, 11, 26, 2, tzinfo=dt.UTC), resources=resources
    )
    data = nightly_auto_plan.evaluate_tick(context)
    (req,) = data.run_requests
    assert isinstance(req, RunRequest)
    assert req.tags["project_id"] == str(on) and req.run_key == f"auto-plan:{on}:2026-11-26"
    result = defs.resolve_job_def("plan_next_batch").execute_in_process(
        run_config=req.run_config, resources=resources
    )
    assert result.success
    # The batch is a materialization of `planned_batches`, the lineage's step between the
    # verdicts and the video plans (issue #29, point 13).
    (made,) = [
        e.event_specific_data.materialization
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    ]
    assert made.asset_key.to_user_string() == "planned_batches"
    assert made.metadata["jobs_created"].value == 2
    assert [v.topic for v in list_videos(db, on)] == ["x", "y"]
    assert show_project(db, on).topic_backlog == ["z"]
    assert list_videos(db, empty) == []
    with db.transaction() as s:
        s.execute(update(Project).values(auto_plan=False))
    skipped = nightly_auto_plan.evaluate_tick(context)
    assert not skipped.run_requests
    assert skipped.skip_message == "no project has auto-planning on and a topic backlog"


def test_daily_stats_use_each_projects_own_window(db, resources):
    from learning_loop.domain.rewards import RewardWeights
    from learning_loop_tests.services.test_project_settings import DAY, _hand_channel

    custom = _hand_channel(
        db, "custom", ProjectSettings(weights=RewardWeights(0.6, 0.4, 0.0), window_days=7)
    )
    default = _hand_channel(db, "default", ProjectSettings())
    when = dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(0, 15), tzinfo=dt.UTC)
    with instance_for_test() as instance:
        (req,) = schedule_requests(daily_recipe_stats, when, instance)
        result = defs.resolve_job_def(daily_recipe_stats.job_name).execute_in_process(
            partition_key=req.partition_key,
            run_config=req.run_config,
            instance=instance,
            resources=resources,
        )
    assert result.success
    with db.read() as session:
        rows = session.execute(
            select(
                RecipeDailyStats.project_id,
                RecipeDailyStats.window_days,
                RecipeDailyStats.rewarded_videos,
            ).where(RecipeDailyStats.stats_date == DAY)
        ).all()
    assert sorted((r.window_days, r.rewarded_videos) for r in rows if r.project_id == custom) == [
        (7, 1),
        (7, 2),
    ]
    assert sorted((r.window_days, r.rewarded_videos) for r in rows if r.project_id == default) == [
        (30, 1),
        (30, 3),
    ]


def test_a_request_whose_run_died_is_retried_then_failed(db, resources):
    """Issue #30, finding 3: a request left `running` by a run that ended without finishing
    it (killed, then reaped) goes back to pending with its attempt counted, and the sensor
    hands it out again under a new run key; after three such runs it is failed."""
    from learning_loop.domain.statuses import PlanRequestStatus
    from learning_loop.services.plan_requests import (
        PLAN_REQUEST_MAX_ATTEMPTS,
        mark_plan_request,
    )

    pid = project(db)
    request = create_plan_request(db, pid, 1, ["a"], seed=1)
    job = defs.resolve_job_def("plan_next_batch")
    with DagsterInstance.ephemeral() as instance:
        for attempt in range(1, PLAN_REQUEST_MAX_ATTEMPTS + 1):
            dead = instance.create_run_for_job(job_def=job)
            instance.report_run_failed(dead, message="killed")
            assert mark_plan_request(db, request.id, PlanRequestStatus.RUNNING, run_id=dead.run_id)
            requests = run_requests(tick(resources, instance))
            after = get_plan_request(db, request.id)
            assert after.attempts == attempt
            if attempt < PLAN_REQUEST_MAX_ATTEMPTS:
                assert after.status == "pending" and "retried" in (after.error or "")
                assert [r.run_key for r in requests] == [f"{request.id}:{attempt}"]
            else:
                assert after.status == "failed" and requests == []
