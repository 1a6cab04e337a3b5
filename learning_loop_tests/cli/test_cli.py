import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from learning_loop.db.engine import head_revision


def test_onboarding_flow_with_json(cli, samples):
    created = cli("projects", "create", "--name", "sample", "--json")
    assert created.code == 0, created.err
    pid = json.loads(created.out)["id"]
    assert cli("projects", "create", "--name", "plain").out.strip() != ""
    listed = json.loads(cli("projects", "list", "--json").out)
    assert [p["name"] for p in listed] == ["sample", "plain"]

    imported = cli("learn", "import-videos", "--project", pid, "--file", samples / "videos.csv")
    assert imported.code == 0 and "imported 60 video(s)" in imported.out
    again = cli(
        "learn", "import-videos", "--project", pid, "--file", samples / "videos.csv", "--json"
    )
    assert json.loads(again.out)["imported"] == 0
    back = json.loads(cli("learn", "backfill", "--project", pid, "--json").out)
    assert back["videos_backfilled"] == 60
    ingested = cli("learn", "ingest-metrics", "--project", pid, "--file", samples / "metrics.csv")
    assert ingested.code == 0 and "ingested" in ingested.out
    stats = cli("learn", "update-stats", "--project", pid, "--as-of", "2026-10-30", "--json")
    assert stats.code == 0, stats.err
    summary = json.loads(stats.out)
    assert summary["videos_rewarded"] > 50 and summary["status"] == "SUCCESS"
    assert summary["run_id"]

    videos = json.loads(cli("learn", "videos", "--project", pid, "--json").out)
    assert len(videos) == 60
    for key in (
        "id",
        "external_id",
        "topic",
        "recipe_hash",
        "generation_mode",
        "status",
        "published_at",
        "reward",
        "reward_date",
    ):
        assert key in videos[0]
    recipes = json.loads(cli("learn", "recipes", "--project", pid, "--json").out)
    for key in (
        "preset",
        "hook_type",
        "scene_count",
        "narration_wpm_bucket",
        "caption_density_bucket",
        "ending_type",
        "recipe_hash",
        "times_used",
        "avg_reward_score",
        "best_reward_score",
        "estimate",
        "estimate_low",
        "estimate_high",
        "evidence_videos",
    ):
        assert key in recipes[0]
    estimates = [r["estimate"] for r in recipes]
    assert None not in estimates and estimates == sorted(estimates, reverse=True)

    table = cli("learn", "recipes", "--project", pid)
    assert (
        table.code == 0 and "Recipes" in table.out and recipes[0]["recipe_hash"][:12] in table.out
    )
    assert "Videos" in cli("learn", "videos", "--project", pid).out
    assert "rewarded_videos" in cli("learn", "stats", "--project", pid).out
    preview = json.loads(cli("learn", "recommend", "--project", pid, "--count", "3", "--json").out)
    assert len(preview["recommendations"]) == 3
    assert json.loads(cli("learn", "experiments", "--project", pid, "--json").out) == []


def _one_line_error(result, needle):
    assert result.code != 0
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: ")
    assert needle in lines[0]
    assert "Traceback" not in result.err


def test_bad_input_is_one_line(cli, tmp_path):
    pid = cli("projects", "create", "--name", "p").out.strip()
    _one_line_error(
        cli("learn", "recipes", "--project", "not-a-uuid"),
        "'--project': project 'not-a-uuid' is not a project's name, an id, nor the start",
    )
    _one_line_error(cli("learn", "recipes", "--project", str(uuid.uuid4())), "no project")
    _one_line_error(
        cli("learn", "import-videos", "--project", pid, "--file", tmp_path / "nope.csv"),
        "file not found",
    )
    broken = tmp_path / "broken.csv"
    broken.write_text(
        "external_id,topic,published_at,preset,hook_type,scene_count,"
        "narration_wpm,caption_density,ending_type\n"
        "a,b,2026-01-01,DARK_DYSTOPIAN_ANIME,question,7,140,0.4,loop\n"
        "c,d,2026-01-01,DARK_DYSTOPIAN_ANIME,question,99,140,0.4,loop\n"
    )
    _one_line_error(
        cli("learn", "import-videos", "--project", pid, "--file", broken), "line 3: scene_count"
    )
    _one_line_error(cli("learn", "update-stats", "--project", pid, "--days", "0"), "days")
    _one_line_error(
        cli("learn", "update-stats", "--project", pid, "--as-of", "30/10/2026"), "--as-of"
    )
    _one_line_error(
        cli("learn", "publish", "--project", pid, "--job", "x", "--external-id", "e"), "'--job'"
    )
    _one_line_error(cli("learn", "recipes"), "--project")
    _one_line_error(cli("learn", "no-such-command"), "No such command")
    _one_line_error(cli("projects", "create", "--name", "p"), "already exists")
    assert json.loads(cli("learn", "videos", "--project", pid, "--json").out) == []


def test_options_are_parsed_before_any_service_runs(cli):
    """Typed options: a value of the wrong shape is a usage error naming the option."""
    pid = cli("projects", "create", "--name", "typed").out.strip()
    job = str(uuid.uuid4())
    for args, needle in [
        (("learn", "recommend", "--project", pid, "--count", "five"), "'--count'"),
        (("learn", "recommend", "--project", pid, "--count", "2.5"), "'--count'"),
        (("learn", "recommend", "--project", pid, "--seed", "x"), "'--seed'"),
        (("learn", "plan-next", "--project", pid, "--count", "true"), "'--count'"),
        (("learn", "update-stats", "--project", pid, "--days", "thirty"), "'--days'"),
        (("learn", "update-stats", "--project", pid, "--as-of", "yesterday"), "YYYY-MM-DD"),
        (("learn", "experiments", "--project", pid, "--status", "done"), "'--status'"),
        (("learn", "videos", "--project", "", "--json"), "'--project'"),
        (("projects", "configure", "--project", pid, "--policy", "greedy"), "'--policy'"),
        (
            ("projects", "configure", "--project", pid, "--auto-plan-count", "x"),
            "'--auto-plan-count'",
        ),
        (
            (
                "learn",
                "publish",
                "--project",
                pid,
                "--job",
                job,
                "--external-id",
                "e",
                "--published-at",
                "last tuesday",
            ),
            "'--published-at': published_at is not an ISO 8601 timestamp",
        ),
        (
            ("learn", "plan-video", "--idea", "x", "--project", "p-1", "--recipe-hash", "abc"),
            "'--project'",
        ),
    ]:
        _one_line_error(cli(*args), needle)
    # Range rules stay with the services, with their own messages.
    _one_line_error(cli("learn", "recommend", "--project", pid, "--count", "0"), "n must be")
    _one_line_error(
        cli("projects", "configure", "--project", pid, "--auto-plan-count", "0"), "auto_plan_count"
    )
    published = cli(
        "learn",
        "publish",
        "--project",
        pid,
        "--job",
        job,
        "--external-id",
        "e",
        "--published-at",
        "2026-11-01T10:00:00",
    )
    _one_line_error(published, "no video job")


def test_console_script_uses_the_embedded_default(tmp_path):
    """With no environment set, `shorts-engine` keeps its state under ./.learning_loop."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEARNING_LOOP_", "DAGSTER_"))}
    exe = Path(sys.executable).parent / "shorts-engine"
    made = subprocess.run(
        [exe, "projects", "create", "--name", "embedded"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    uuid.UUID(made.stdout.strip())
    assert (tmp_path / ".learning_loop" / "learning_loop.db").is_file()
    listed = subprocess.run(
        [exe, "projects", "list", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert json.loads(listed.stdout)[0]["name"] == "embedded"
    bad = subprocess.run(
        [exe, "learn", "stats", "--project", "zzz"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # A malformed id is a usage error (exit 2), reported in one line.
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    assert "'--project'" in bad.stderr


@pytest.mark.parametrize("backend_only", ["sqlite"])
def test_db_upgrade_command(cli, backend, backend_only):
    result = cli("db", "upgrade")
    assert result.code == 0 and "schema at revision" in result.out
    head = head_revision()
    assert cli("db", "current").out == f"database: {head}  code: {head}\n"


def test_projects_configure(cli, tmp_path):
    pid = cli("projects", "create", "--name", "cfg", "--policy", "thompson").out.strip()
    backlog = tmp_path / "backlog.txt"
    backlog.write_text("One\n\nTwo\n")
    out = cli(
        "projects",
        "configure",
        "--project",
        pid,
        "--auto-plan",
        "--auto-plan-count",
        "3",
        "--backlog-file",
        backlog,
        "--json",
    )
    assert out.code == 0, out.err
    data = json.loads(out.out)
    assert data["policy"] == "thompson" and data["auto_plan"] is True
    assert data["topic_backlog"] == ["One", "Two"] and data["auto_plan_count"] == 3
    text = cli("projects", "configure", "--project", pid, "--no-auto-plan")
    assert "auto-plan off" in text.out
    _one_line_error(cli("projects", "configure", "--project", pid, "--policy", "x"), "policy")
    _one_line_error(cli("projects", "create", "--name", "y", "--policy", "x"), "policy")


def test_plan_video_through_the_cli(cli, samples):
    idea = "A lone samurai walks into a burning village at dawn"
    out = cli("learn", "plan-video", "--idea", idea, "--json")
    assert out.code == 0, out.err
    plan = json.loads(out.out)
    assert len(plan["scenes"]) == 7 and plan["scenes"][0]["narration"].count("?") >= 1
    assert plan["recipe_hash"].startswith("4d9976c2a124")
    pid = cli("projects", "create", "--name", "pv").out.strip()
    cli("learn", "import-videos", "--project", pid, "--file", samples / "videos.csv")
    cli("learn", "backfill", "--project", pid)
    h = json.loads(cli("learn", "recipes", "--project", pid, "--json").out)[0]["recipe_hash"]
    by_hash = json.loads(
        cli(
            "learn",
            "plan-video",
            "--idea",
            idea,
            "--project",
            pid,
            "--recipe-hash",
            h[:12],
            "--json",
        ).out
    )
    assert by_hash["recipe_hash"] == h
    assert "Video plan" in cli("learn", "plan-video", "--idea", idea).out
    _one_line_error(
        cli("learn", "plan-video", "--idea", idea, "--project", pid, "--recipe-hash", "00000000"),
        "no recipe",
    )
    _one_line_error(
        cli("learn", "plan-video", "--idea", idea, "--scene-count", "12"), "scene_count"
    )
