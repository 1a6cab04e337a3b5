import json
from pathlib import Path

from dagster import RunsFilter

from learning_loop.launch.instance import open_instance
from learning_loop.settings import Settings


def test_short_demo_runs_the_real_loop(cli, cli_env):
    result = cli("demo", "--days", "4", "--per-day", "3", "--seed", "3")
    assert result.code == 0, result.err
    out = result.out
    for needle in (
        "Recipe leaderboard",
        "Experiments",
        "Next recommendations",
        "True quality of the chosen recipes",
        "first 4 days",
        "report",
        "make dev",
        "api serve",
    ):
        assert needle in out
    home = Path(cli_env["LEARNING_LOOP_HOME"])
    report = home / "report.html"
    assert report.is_file() and report.read_text().count('<svg class="chart"') == 10
    projects = json.loads(cli("projects", "list", "--json").out)
    (project,) = projects
    # The deployment's instance: SQLite under the home, or the PostgreSQL database itself.
    instance = open_instance(Settings(**cli_env))
    runs = instance.get_runs(RunsFilter(tags={"project_id": project["id"]}))
    jobs = sorted(r.job_name for r in runs)
    assert jobs.count("plan_next_batch") == 4
    assert jobs.count("update_recipe_stats") == 4 and jobs.count("evaluate_experiments") == 4
    instance.dispose()
    videos = json.loads(cli("learn", "videos", "--project", project["id"], "--json").out)
    assert len(videos) == 12 and {v["status"] for v in videos} == {"published"}
    assert sum(v["reward"] is not None for v in videos) >= 6


def test_demo_rejects_bad_sizes(cli):
    result = cli("demo", "--days", "0")
    assert result.code == 1 and "days must be within" in result.err


def test_sample_channel_onboarding(cli):
    result = cli("sample")
    assert result.code == 0, result.err
    assert "imported 60 existing videos" in result.out and "Recipe leaderboard" in result.out
