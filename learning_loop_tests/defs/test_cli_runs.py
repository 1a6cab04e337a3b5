"""The CLI's runs land in the Dagster instance of LEARNING_LOOP_HOME, where the UI shows them."""

import json
from pathlib import Path

from dagster import AssetKey, DagsterInstance, DagsterRunStatus

from learning_loop.services.plan_requests import get_plan_request


def instance_of(cli_env) -> DagsterInstance:
    return DagsterInstance.from_config(str(Path(cli_env["LEARNING_LOOP_HOME"]) / "dagster"))


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
    request = get_plan_request(db, batch["request_id"])
    assert request.status == "succeeded" and request.run_id == batch["run_id"]
    instance.dispose()


def test_failed_run_is_one_line(cli, cli_env):
    pid = cli("projects", "create", "--name", "x").out.strip()
    result = cli("learn", "plan-next", "--project", pid, "--count", "500", "--wait")
    assert result.code == 1 and result.err.count("\n") == 1 and "n must be" in result.err
