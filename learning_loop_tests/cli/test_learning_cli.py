"""Learning from every video, through the CLI as a new user runs it: an old history onboarded
with the seed's commands, estimates in the leaderboard, insights, and a topic used with the top
recipes."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

from learning_loop.domain.recipe import RECIPE_FIELDS, Recipe

# More than 30 days after the sample channel's last video (2026-10-31): the whole sample is
# history, outside the seed's 30-day window.
LATER = "2026-12-06"
WPM = {"slow": 100, "medium": 140, "fast": 180}
DENSITY = {"sparse": 0.2, "medium": 0.45, "dense": 0.8}


def _onboard(cli, samples: Path, *settings: str) -> str:
    pid = cli("projects", "create", "--name", "old channel", *settings).out.strip()
    for step in (
        ("learn", "import-videos", "--project", pid, "--file", samples / "videos.csv"),
        ("learn", "backfill", "--project", pid),
        ("learn", "ingest-metrics", "--project", pid, "--file", samples / "metrics.csv"),
    ):
        done = cli(*step)
        assert done.code == 0, done.err
    return pid


def test_the_seed_commands_reward_an_old_history_and_estimate_every_recipe(cli, samples):
    pid = _onboard(cli, samples)
    run = cli("learn", "update-stats", "--project", pid, "--days", "30", "--as-of", LATER)
    assert run.code == 0, run.err
    # Nothing of the sample is in the window; every video is rewarded all the same.
    assert "60 video(s) rewarded in all, 0 of them published in the project's 30-day" in run.out
    assert "6 of 6 recipe(s) estimated, 0 with a window avg over 30 days" in run.out
    videos = json.loads(cli("learn", "videos", "--project", pid, "--json").out)
    assert len(videos) == 60 and all(v["reward"] is not None for v in videos)
    for v in videos:
        # The reward of its own window: the last 30-day window that holds it.
        published = dt.datetime.fromisoformat(v["published_at"]).date()
        assert v["reward_date"] == (published + dt.timedelta(days=29)).isoformat()
    recipes = json.loads(cli("learn", "recipes", "--project", pid, "--json").out)
    assert recipes and all(r["estimate"] is not None for r in recipes)
    assert sum(r["evidence_videos"] for r in recipes) == 60
    assert all(r["avg_reward_score"] is None for r in recipes)  # the window's raw stats
    table = cli("learn", "recipes", "--project", pid)
    assert "estimate [95%]" in table.out and "window avg" in table.out
    assert f"{recipes[0]['estimate']:.3f} [{recipes[0]['estimate_low']:.3f}," in table.out
    stats = json.loads(cli("learn", "stats", "--project", pid, "--json").out)
    assert stats["best_recipe"]["recipe_hash"] == recipes[0]["recipe_hash"]
    assert stats["best_recipe"]["estimate"] == recipes[0]["estimate"]
    # The next night finds nothing more to reward from the history, and changes nothing.
    again = cli("learn", "update-stats", "--project", pid, "--as-of", LATER, "--json")
    assert json.loads(again.out)["history_rewarded"] == 60
    assert json.loads(cli("learn", "videos", "--project", pid, "--json").out) == videos
    preview = json.loads(cli("learn", "recommend", "--project", pid, "--json").out)
    exploit = [r for r in preview["recommendations"] if r["type"] == "exploit"]
    assert exploit and all(" by estimate (" in r["reason"] for r in exploit)


def test_insights_answer_which_value_works(cli, samples):
    pid = _onboard(cli, samples)
    assert cli("learn", "update-stats", "--project", pid, "--as-of", LATER).code == 0
    doc = json.loads(cli("learn", "insights", "--project", pid, "--json").out)
    assert doc["project_id"] == pid and doc["as_of"] == LATER and doc["videos"] == 60
    assert [f["field"] for f in doc["fields"]] == list(RECIPE_FIELDS)
    for f in doc["fields"]:
        assert abs(sum(v["p_best"] for v in f["values"]) - 1) < 1e-9
        assert sum(v["videos"] for v in f["values"]) == 60
    scenes = next(f for f in doc["fields"] if f["field"] == "scene_count")
    assert scenes["reference"] == 7 and [v["value"] for v in scenes["values"]] == list(range(5, 11))
    text = cli("learn", "insights", "--project", pid)
    assert text.code == 0 and "60 rewarded video(s) as of 2026-12-06" in text.out
    for f in doc["fields"]:
        assert f["summary"] in text.out
    unknown = cli("learn", "insights", "--project", "00000000-0000-0000-0000-000000000000")
    assert unknown.code != 0 and len(unknown.err.strip().splitlines()) == 1


def test_a_topic_made_with_the_top_recipes_takes_the_next_best(cli, samples, tmp_path):
    pid = _onboard(cli, samples, "--explore-rate", "0")
    assert cli("learn", "update-stats", "--project", pid, "--as-of", LATER).code == 0
    preview = json.loads(cli("learn", "recommend", "--project", pid, "--count", "4", "--json").out)
    top = [r["recipe"] for r in preview["recommendations"][:3]]
    # The channel has made "Cats" with each of the top three recipes.
    rows = tmp_path / "cats.csv"
    with rows.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            ["external_id", "topic", "published_at", "preset", "hook_type", "scene_count"]
            + ["narration_wpm", "caption_density", "ending_type"]
        )
        for k, r in enumerate(top):
            writer.writerow(
                [f"cats_{k}", "Cats", "2026-11-01T10:00:00Z", r["preset"], r["hook_type"]]
                + [r["scene_count"], WPM[r["narration_wpm_bucket"]]]
                + [DENSITY[r["caption_density_bucket"]], r["ending_type"]]
            )
    assert cli("learn", "import-videos", "--project", pid, "--file", rows).code == 0
    assert cli("learn", "backfill", "--project", pid).code == 0
    topics = tmp_path / "topics.txt"
    topics.write_text("Cats\n")
    shown = json.loads(
        cli("learn", "recommend", "--project", pid, "--topics-file", topics, "--json").out
    )
    (rec,) = shown["recommendations"]
    assert rec["topic"] == "Cats" and rec["recipe"] not in top
    assert rec["reason"].startswith("Alternative: recipe #")
    assert rec["reason"].endswith("was already used with this topic")
    planned = cli(
        "learn", "plan-next", "--project", pid, "--topics-file", topics, "--count", "1", "--wait"
    )
    assert planned.code == 0, planned.err
    jobs = json.loads(
        cli("learn", "videos", "--project", pid, "--json").out,
    )
    made = [j for j in jobs if j["topic"] == "Cats" and j["generation_mode"] == "exploit"]
    assert len(made) == 1 and Recipe(**made[0]["recipe"]).to_dict() == rec["recipe"]


def test_days_is_the_raw_averages_window_and_defaults_to_the_projects(cli, samples):
    """Issue #29, point 4: `--days` means one thing, the window of `window avg`, and the line
    says which window the rewards used (the project's, always)."""
    pid = _onboard(cli, samples, "--window-days", "45")
    own = cli("learn", "update-stats", "--project", pid, "--as-of", "2026-11-10")
    assert own.code == 0, own.err
    assert "published in the project's 45-day window" in own.out
    assert "with a window avg over 45 days" in own.out
    wide = cli("learn", "update-stats", "--project", pid, "--as-of", "2026-11-10", "--days", "90")
    assert wide.code == 0, wide.err
    assert "published in the project's 45-day window" in wide.out
    assert "6 with a window avg over 90 days" in wide.out
    as_json = cli("learn", "update-stats", "--project", pid, "--as-of", "2026-11-10", "--json")
    assert json.loads(as_json.out)["days"] == 45


def test_the_preview_is_the_plan_that_follows(cli, samples, tmp_path):
    """Issue #29, point 1: with no --seed, `recommend` shows the batch `plan-next` then plans,
    new experiments included, and its reasons never name a placeholder."""
    pid = _onboard(cli, samples)
    assert cli("learn", "update-stats", "--project", pid, "--as-of", LATER).code == 0
    topics = tmp_path / "topics.txt"
    topics.write_text("".join(f"topic number {i}\n" for i in range(10)))
    for _ in range(3):  # three batches in a row: each preview is its batch
        shown = cli(
            "learn",
            "recommend",
            "--project",
            pid,
            "--count",
            "10",
            "--topics-file",
            topics,
            "--json",
        )
        assert shown.code == 0, shown.err
        preview = json.loads(shown.out)["recommendations"]
        assert {r["type"] for r in preview} == {"exploit", "explore"}
        for r in preview:
            assert "new-" not in r["reason"] and "new-" not in str(r["experiment"])
            if r["new_experiment"]:
                assert r["experiment"] is None and "a new experiment" in r["reason"]
        planned = cli(
            "learn",
            "plan-next",
            "--project",
            pid,
            "--count",
            "10",
            "--topics-file",
            topics,
            "--wait",
            "--json",
        )
        assert planned.code == 0, planned.err
        jobs = json.loads(planned.out)["jobs"]
        assert [(j["generation_mode"], j["topic"], j["recipe_hash"]) for j in jobs] == [
            (r["type"], r["topic"], r["recipe_hash"]) for r in preview
        ]
        # The preview's running experiments are the plan's; its new ones were opened by it.
        for r, j in zip(preview, jobs, strict=True):
            if r["experiment"] is not None:
                assert j["experiment_id"] == r["experiment"]
            assert (j["experiment_id"] is not None) == (r["type"] == "explore")


def test_a_recipe_counts_its_videos_planned_published_and_rewarded(cli, samples, tmp_path):
    """Issue #29, point 3: three counts, each with one meaning, in the table and the JSON."""
    pid = _onboard(cli, samples)
    assert cli("learn", "update-stats", "--project", pid, "--as-of", LATER).code == 0
    before = {
        r["recipe_hash"]: r
        for r in json.loads(cli("learn", "recipes", "--project", pid, "--json").out)
    }
    for r in before.values():  # imported history: published and rewarded, never planned
        assert r["planned_videos"] == 0
        assert r["published_videos"] == r["evidence_videos"] == r["times_used"] > 0
    topics = tmp_path / "topics.txt"
    topics.write_text("one topic\nanother topic\n")
    planned = cli(
        "learn",
        "plan-next",
        "--project",
        pid,
        "--topics-file",
        topics,
        "--count",
        "2",
        "--wait",
        "--json",
    )
    jobs = json.loads(planned.out)["jobs"]
    done = cli(
        "learn", "publish", "--project", pid, "--job", jobs[0]["id"], "--external-id", "yt-9"
    )
    assert done.code == 0, done.err
    after = {
        r["recipe_hash"]: r
        for r in json.loads(cli("learn", "recipes", "--project", pid, "--json").out)
    }
    made = [j["recipe_hash"] for j in jobs]
    for h, r in after.items():
        old = before.get(h, {"planned_videos": 0, "published_videos": 0, "evidence_videos": 0})
        assert r["planned_videos"] == old["planned_videos"] + made.count(h)
        assert r["published_videos"] == old["published_videos"] + (h == made[0])
        assert r["evidence_videos"] == old["evidence_videos"]  # no reward yet
    table = cli("learn", "recipes", "--project", pid).out
    assert all(word in table for word in ("planned", "published", "rewarded", "window avg"))
    assert " used " not in table
