"""The CLI's runs land in the Dagster instance of LEARNING_LOOP_HOME, where the UI shows them."""

import datetime as dt
import json
import uuid
from pathlib import Path

from dagster import AssetKey, DagsterInstance, DagsterRunStatus

from learning_loop.launch.instance import open_instance
from learning_loop.services.plan_requests import get_plan_request
from learning_loop.settings import Settings


def instance_of(cli_env) -> DagsterInstance:
    """The instance the CLI uses: SQLite under the home, or the PostgreSQL database itself."""
    return open_instance(Settings(**cli_env))


def test_cli_commands_run_dagster_jobs(cli, cli_env, samples, db):
    pid = cli("projects", "create", "--name", "runs").out.strip()
    cli("learn", "import-videos", "--project", pid, "--file", samples / "videos.csv")
    cli("learn", "backfill", "--project", pid)
    cli("learn", "ingest-metrics", "--project", pid, "--file", samples / "metrics.csv")

    stats = json.loads(
        cli("learn", "update-stats", "--project", pid, "--as-of", "2026-10-30", "--json").out
    )
    topics = Path(cli_env["LEARNING_LOOP_HOME"]).parent / "topics.txt"
    topics.write_text("Dawn raid\nThe silent forge\n\nA lantern in the fog\n")
    planned = cli(
        "learn",
        "plan-next",
        "--project",
        pid,
        "--topics-file",
        topics,
        "--count",
        "3",
        "--seed",
        "4",
        "--wait",
        "--json",
    )
    assert planned.code == 0, planned.err
    batch = json.loads(planned.out)
    assert [j["topic"] for j in batch["jobs"]] == [
        "Dawn raid",
        "The silent forge",
        "A lantern in the fog",
    ]
    for job in batch["jobs"]:
        assert {"generation_mode", "topic", "recipe", "recipe_hash"} <= job.keys()
        assert (job["experiment_id"] is not None) == (job["generation_mode"] == "explore")
        assert len(job["plan"]["scenes"]) == job["recipe"]["scene_count"]
    assert batch["batch"]["jobs_created"] == 3 and batch["skipped_topics"] == []
    evaluated = json.loads(
        cli(
            "learn", "evaluate-experiments", "--project", pid, "--as-of", "2026-10-30", "--json"
        ).out
    )
    pending = cli("learn", "plan-next", "--project", pid, "--count", "2")
    assert pending.code == 0 and "pending" in pending.out

    instance = instance_of(cli_env)
    runs = {r.run_id: r for r in instance.get_runs()}
    assert runs[stats["run_id"]].job_name == "update_recipe_stats"
    assert runs[stats["run_id"]].tags["dagster/partition"] == "2026-10-30"
    assert runs[stats["run_id"]].status == DagsterRunStatus.SUCCESS
    assert runs[batch["run_id"]].job_name == "plan_next_batch"
    assert runs[evaluated["run_id"]].job_name == "evaluate_experiments"
    event = instance.get_latest_materialization_event(AssetKey("video_rewards"))
    assert event is not None and event.run_id == stats["run_id"]
    request = get_plan_request(db, uuid.UUID(batch["request_id"]))
    assert request.status == "succeeded" and request.run_id == batch["run_id"]
    instance.dispose()


def test_failed_run_is_one_line(cli, cli_env):
    pid = cli("projects", "create", "--name", "x").out.strip()
    result = cli("learn", "plan-next", "--project", pid, "--count", "500", "--wait")
    assert result.code == 1 and result.err.count("\n") == 1 and "n must be" in result.err


def test_every_evaluation_date_from_2015_through_tomorrow(cli):
    pid = cli("projects", "create", "--name", "dates").out.strip()
    today = dt.datetime.now(dt.UTC).date()
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    for day in ("2015-01-01", "2019-06-01", tomorrow):
        for command in ("update-stats", "evaluate-experiments"):
            result = cli("learn", command, "--project", pid, "--as-of", day, "--json")
            assert result.code == 0, (command, day, result.err)
            assert json.loads(result.out)["partition_key"] == day
    after = (today + dt.timedelta(days=2)).isoformat()
    for day in ("2014-12-31", "1999-01-01", after):
        for command in ("update-stats", "evaluate-experiments"):
            result = cli("learn", command, "--project", pid, "--as-of", day)
            assert result.code == 1 and result.out == "", (command, day)
            assert result.err.count("\n") == 1 and "Traceback" not in result.err
            assert "as_of" in result.err and "outside the evaluation dates" in result.err


def test_no_wait_queues_the_run_and_says_no_daemon_runs(cli, cli_env):
    pid = cli("projects", "create", "--name", "queued").out.strip()
    queued = cli("learn", "update-stats", "--project", pid, "--as-of", "2026-10-30", "--no-wait")
    assert queued.code == 0, queued.err
    assert "QUEUED" in queued.out and "no Dagster daemon serves this instance" in queued.out
    submitted = json.loads(
        cli("learn", "evaluate-experiments", "--project", pid, "--no-wait", "--json").out
    )
    assert submitted["status"] == "QUEUED" and "daemon" in submitted["note"]
    status = json.loads(cli("learn", "run-status", "--run", submitted["run_id"], "--json").out)
    assert status["status"] == "QUEUED" and status["job_name"] == "evaluate_experiments"
    instance = instance_of(cli_env)
    run = instance.get_run_by_id(submitted["run_id"])
    assert run.status == DagsterRunStatus.QUEUED
    assert run.tags["project_id"] == pid and run.remote_job_origin.location_name == "learning_loop"
    instance.dispose()
    pending = cli("learn", "plan-next", "--project", pid, "--count", "2")
    assert "the request stays pending" in pending.out
    # A malformed run id is a usage error (exit 2); an unknown one is not found (exit 1).
    for bad, code, why in (
        ("not-a-run", 2, "'--run': Input should be a valid UUID"),
        (str(uuid.uuid4()), 1, "no run"),
    ):
        result = cli("learn", "run-status", "--run", bad)
        assert result.code == code and result.err.count("\n") == 1 and why in result.err
