import os
import subprocess
import sys
from pathlib import Path

from dagster import AssetKey

from learning_loop.defs import defs

ROOT = Path(__file__).resolve().parents[2]


def test_definitions_hold_the_whole_loop():
    assert {a.key.to_user_string() for a in defs.resolve_all_asset_specs()} == {
        "metric_window",
        "video_rewards",
        "recipe_stats",
        "experiment_verdicts",
        "video_plans",
        "collected_metrics",
        "planned_batches",
    }
    for name in (
        "update_recipe_stats",
        "evaluate_experiments",
        "plan_next_batch",
        "make_video_plans",
        "collect_metrics",
    ):
        assert defs.resolve_job_def(name).name == name
    for name in (
        "daily_recipe_stats",
        "daily_experiment_evaluation",
        "nightly_auto_plan",
        "video_plans_schedule",
        "collect_metrics_schedule",
    ):
        assert defs.resolve_schedule_def(name).name == name
    assert defs.resolve_sensor_def("plan_requests_sensor").job_name == "plan_next_batch"
    assert defs.resolve_sensor_def("video_plans_after_batch").job_name == "make_video_plans"
    checks = {k.name for k in defs.resolve_asset_graph().asset_check_keys}
    assert checks == {
        "rewards_within_unit_interval",
        "one_reward_per_video_and_date",
        "percentiles_average_half",
        "unique_recipe_hashes",
        "no_running_experiment_past_deadline",
    }


def test_dagster_definitions_validate(tmp_path):
    env = dict(os.environ, DAGSTER_HOME=str(tmp_path))
    exe = Path(sys.executable).parent / "dagster"
    result = subprocess.run(
        [exe, "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Validation successful for code location learning_loop" in result.stdout + result.stderr


def test_the_readme_names_what_the_ui_shows():
    """Issue #29, point 12: the README's table of the code location lists every asset, job,
    schedule and sensor that Dagster's UI shows, and nothing else."""
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Dagster: the loop's spine", 1)[1].split("\n## ", 1)[0]
    table: dict[str, set[str]] = {}
    for kind, names in re.findall(
        r"^\| (asset|job|schedule|sensor)[^|]* \| ([^|]+) \|", section, re.M
    ):
        table.setdefault(kind, set()).update(re.findall(r"`([a-z_]+)`", names))
    assert table == {
        "asset": {a.key.to_user_string() for a in defs.resolve_all_asset_specs()},
        "job": {j.name for j in defs.resolve_all_job_defs() if not j.name.startswith("__")},
        "schedule": {s.name for s in defs.schedules or []},
        "sensor": {s.name for s in defs.sensors or []},
    }


def test_the_lineage_is_the_loop_a_user_runs():
    """Issue #29, point 13: snapshots → rewards → stats and verdicts → batches → video plans."""
    graph = defs.resolve_asset_graph()

    def parents(name: str) -> set[str]:
        return {k.to_user_string() for k in graph.get(AssetKey(name)).parent_keys}

    assert parents("metric_window") == {"collected_metrics"}
    assert parents("video_rewards") == {"metric_window"}
    assert parents("recipe_stats") == parents("experiment_verdicts") == {"video_rewards"}
    assert parents("planned_batches") == {"recipe_stats", "experiment_verdicts"}
    assert parents("video_plans") == {"planned_batches"}
