"""`projects create/configure/show` with every setting, through the in-process CLI."""

import json

from learning_loop_tests.cli.test_cli import _one_line_error

EVERY_SETTING = (
    "--presets",
    "A_STYLE,B_STYLE",
    "--reward-weights",
    "0.6,0.4,0",
    "--window-days",
    "7",
    "--explore-rate",
    "0.5",
    "--top-k",
    "2",
    "--max-running-experiments",
    "1",
    "--min-samples",
    "4",
    "--max-days",
    "10",
    "--alpha",
    "0.1",
    "--default-recipe",
    "B_STYLE/story/8/fast/dense/loop",
    "--target-duration-s",
    "30",
    "--policy",
    "thompson",
    "--planner-backend",
    "openai",
    "--half-life-days",
    "never",
    "--exploit-scope",
    "made",
    "--guardrail",
    "views_6h",
)


def test_create_with_every_setting_then_show(cli):
    created = cli("projects", "create", "--name", "custom", *EVERY_SETTING)
    assert created.code == 0, created.err
    pid = created.out.strip()
    doc = json.loads(cli("projects", "show", "--project", pid, "--json").out)
    assert doc == {
        "id": pid,
        "name": "custom",
        "presets": ["A_STYLE", "B_STYLE"],
        "reward_weights": {"avg_view_duration": 0.6, "views_6h": 0.4, "engagement": 0.0},
        "window_days": 7,
        "explore_rate": 0.5,
        "top_k": 2,
        "max_running_experiments": 1,
        "min_samples": 4,
        "max_days": 10,
        "alpha": 0.1,
        "default_recipe": {
            "preset": "B_STYLE",
            "hook_type": "story",
            "scene_count": 8,
            "narration_wpm_bucket": "fast",
            "caption_density_bucket": "dense",
            "ending_type": "loop",
        },
        "target_duration_s": 30.0,
        "policy": "thompson",
        "auto_plan": False,
        "auto_plan_count": 5,
        "planner_backend": "openai",
        "half_life_days": None,
        "exploit_scope": "made",
        "guardrail": "views_6h",
        "changes": [],
        "connection": None,
    }
    text = cli("projects", "show", "--project", pid)
    assert text.code == 0, text.err
    for needle in ("A_STYLE, B_STYLE", "0.6,0.4,0", "B_STYLE/story/8/fast/dense/loop", "Changes"):
        assert needle in text.out


def test_configure_every_setting_is_recorded_and_shown(cli):
    pid = cli("projects", "create", "--name", "p").out.strip()
    done = cli("projects", "configure", "--project", pid, *EVERY_SETTING, "--json")
    assert done.code == 0, done.err
    added = cli(
        "projects",
        "configure",
        "--project",
        pid,
        "--presets",
        "DARK_DYSTOPIAN_ANIME",
        "--default-recipe",
        "DARK_DYSTOPIAN_ANIME/question/7/medium/medium/cliffhanger",
    )
    assert added.code == 0, added.err
    more = cli(
        "projects", "configure", "--project", pid, "--add-preset", "New_1", "--add-preset", "N2"
    )
    assert more.code == 0, more.err
    cli("projects", "configure", "--project", pid, "--remove-preset", "N2")
    doc = json.loads(cli("projects", "show", "--project", pid, "--json").out)
    assert doc["presets"] == ["DARK_DYSTOPIAN_ANIME", "New_1"]
    assert doc["window_days"] == 7 and doc["alpha"] == 0.1 and doc["policy"] == "thompson"
    changed = [(c["setting"], c["old_value"], c["new_value"]) for c in doc["changes"]]
    assert ("window_days", 30, 7) in changed
    assert ("alpha", 0.05, 0.1) in changed
    assert ("policy", "seed", "thompson") in changed
    assert ("planner_backend", "template", "openai") in changed
    assert ("half_life_days", 180, None) in changed
    assert ("exploit_scope", "catalogue", "made") in changed
    assert ("guardrail", "engagement", "views_6h") in changed
    assert changed[-1] == (
        "presets",
        ["DARK_DYSTOPIAN_ANIME", "New_1", "N2"],
        ["DARK_DYSTOPIAN_ANIME", "New_1"],
    )
    assert len({c["setting"] for c in doc["changes"]}) == 16  # every setting but auto-planning
    text = cli("projects", "show", "--project", pid).out
    assert "window_days" in text and "thompson" in text


def test_bad_settings_are_one_line_errors_and_write_nothing(cli):
    pid = cli("projects", "create", "--name", "p").out.strip()
    before = cli("projects", "show", "--project", pid, "--json").out
    cases = [
        (("--reward-weights", "0.5,0.5,0.5"), "sum to 1"),
        (("--reward-weights", "-0.2,0.6,0.6"), ">= 0"),
        (("--reward-weights", "0.5,0.5"), "W1,W2,W3"),
        (("--explore-rate", "2"), "explore_rate must be within 0..1"),
        (("--half-life-days", "3"), "half_life_days must be within 7..3650"),
        (("--half-life-days", "soon"), "half_life_days must be a whole number of days or 'never'"),
        (("--exploit-scope", "all"), "exploit-scope"),
        (
            ("--guardrail", "reach"),
            "Invalid value for '--guardrail': 'reach' is not one of 'engagement', "
            "'avg_view_duration', 'views_6h', 'none'.",
        ),
        (("--top-k", "0"), "top_k must be within 1..100"),
        (("--alpha", "0.7"), "alpha must be within (0, 0.5]"),
        (("--default-recipe", "NOPE/question/7/medium/medium/loop"), "not in the preset"),
        (("--default-recipe", "x/y"), "PRESET/HOOK/SCENES"),
        (("--remove-preset", "DARK_DYSTOPIAN_ANIME"), "default recipe"),
        (("--presets", ""), "at least one"),
        (("--add-preset", "bad-name"), "letters, digits and _"),
    ]
    for args, needle in cases:
        _one_line_error(cli("projects", "configure", "--project", pid, *args), needle)
    assert cli("projects", "show", "--project", pid, "--json").out == before
    _one_line_error(cli("projects", "create", "--name", "w", "--window-days", "0"), "window_days")
    assert len(json.loads(cli("projects", "list", "--json").out)) == 1


def test_import_error_names_the_command_that_adds_the_preset(cli, tmp_path):
    pid = cli("projects", "create", "--name", "p").out.strip()
    rows = tmp_path / "videos.csv"
    rows.write_text(
        "external_id,topic,published_at,preset,hook_type,scene_count,"
        "narration_wpm,caption_density,ending_type\n"
        "a,b,2026-01-01,My_Style,question,7,140,0.4,loop\n"
    )
    _one_line_error(
        cli("learn", "import-videos", "--project", pid, "--file", rows),
        f"preset My_Style is not in the project's catalogue (DARK_DYSTOPIAN_ANIME, "
        f"VIBRANT_MOTION_GRAPHICS); add it with: shorts-engine projects configure "
        f"--project {pid} --add-preset My_Style",
    )
    assert cli("projects", "configure", "--project", pid, "--add-preset", "My_Style").code == 0
    imported = cli("learn", "import-videos", "--project", pid, "--file", rows)
    assert imported.code == 0 and "imported 1 video(s)" in imported.out


FIVE_PRESETS = (
    "NOIR_INK",
    "DARK_DYSTOPIAN_ANIME",
    "VIBRANT_MOTION_GRAPHICS",
    "Retro_VHS",
    "clay3d",
)


def test_a_five_preset_channel_is_onboarded_with_the_readme_commands(cli, samples, tmp_path):
    """The README's onboarding: create with the channel's catalogue and weights, import, stats."""
    lines = (samples / "videos.csv").read_text().splitlines()
    header, rows = lines[0], lines[1:]
    column = header.split(",").index("preset")
    videos = tmp_path / "videos.csv"
    rewritten = []
    for k, row in enumerate(rows):
        cells = row.split(",")
        cells[column] = FIVE_PRESETS[k % len(FIVE_PRESETS)]
        rewritten.append(",".join(cells))
    videos.write_text("\n".join([header, *rewritten]) + "\n")

    created = cli(
        "projects", "create", "--name", "five-styles", "--presets", ",".join(FIVE_PRESETS),
        "--default-recipe", "NOIR_INK/question/7/medium/medium/cliffhanger",
        "--reward-weights", "0.5,0.2,0.3", "--window-days", "45",
    )  # fmt: skip
    assert created.code == 0, created.err
    pid = created.out.strip()
    for step in (
        ("learn", "import-videos", "--project", pid, "--file", videos),
        ("learn", "backfill", "--project", pid),
        ("learn", "ingest-metrics", "--project", pid, "--file", samples / "metrics.csv"),
        ("learn", "update-stats", "--project", pid, "--as-of", "2026-10-30"),
    ):
        done = cli(*step)
        assert done.code == 0, (step, done.err)
    again = cli("learn", "import-videos", "--project", pid, "--file", videos)
    assert again.out.strip() == f"imported 0 video(s), {len(rows)} already present"

    recipes = json.loads(cli("learn", "recipes", "--project", pid, "--json").out)
    assert {r["preset"] for r in recipes} == set(FIVE_PRESETS)
    assert sum(r["times_used"] for r in recipes) == len(rows), recipes[0]
    shown = json.loads(cli("projects", "show", "--project", pid, "--json").out)
    assert shown["presets"] == list(FIVE_PRESETS)
    assert shown["reward_weights"] == {"avg_view_duration": 0.5, "views_6h": 0.2, "engagement": 0.3}
    assert shown["window_days"] == 45
