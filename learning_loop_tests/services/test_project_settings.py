"""Every project setting: validation, changes and their record, and their effect on the stats."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from learning_loop.db.models import Project, ProjectSettingChange
from learning_loop.domain.recipe import Recipe
from learning_loop.domain.rewards import RewardWeights
from learning_loop.errors import InvalidInput
from learning_loop.services import planning
from learning_loop.services.ingest import backfill_recipes, import_videos, ingest_metrics
from learning_loop.services.projects import (
    ProjectSettings,
    SettingsChange,
    configure_project,
    create_project,
    merge_settings,
    show_settings,
)
from learning_loop.services.recipes import compute_recipe_stats, list_recipes
from learning_loop.services.rewards import compute_rewards_for_date
from learning_loop_tests.factories import T0, metric_row, numbered, video_row

B_RECIPE = Recipe("B_STYLE", "question", 7, "medium", "medium", "cliffhanger")


def test_create_with_every_setting_and_show(db):
    settings = merge_settings(
        ProjectSettings(),
        SettingsChange(
            presets=("A_STYLE", "B_STYLE"),
            weights=RewardWeights(0.6, 0.4, 0.0),
            window_days=7,
            explore_rate=0.5,
            top_k=2,
            max_running_experiments=1,
            min_samples=4,
            max_days=10,
            alpha=0.1,
            default_recipe=B_RECIPE,
            target_duration_s=30.0,
        ),
    )
    pid = create_project(db, "custom", settings).id
    doc = show_settings(db, pid).model_dump(mode="json")
    assert doc["presets"] == ["A_STYLE", "B_STYLE"]
    assert doc["reward_weights"] == {"avg_view_duration": 0.6, "views_6h": 0.4, "engagement": 0.0}
    assert (doc["window_days"], doc["explore_rate"], doc["top_k"]) == (7, 0.5, 2)
    assert (doc["max_running_experiments"], doc["min_samples"], doc["max_days"]) == (1, 4, 10)
    assert (doc["alpha"], doc["target_duration_s"], doc["policy"]) == (0.1, 30.0, "seed")
    assert doc["default_recipe"]["preset"] == "B_STYLE"
    assert (doc["auto_plan"], doc["auto_plan_count"], doc["changes"]) == (False, 5, [])


@pytest.mark.parametrize(
    ("change", "field", "mentions"),
    [
        (SettingsChange(weights=RewardWeights(-0.1, 0.6, 0.5)), "reward_weights", ">= 0"),
        (SettingsChange(weights=RewardWeights(0.5, 0.5, 0.5)), "reward_weights", "sum to 1"),
        (SettingsChange(explore_rate=1.5), "explore_rate", "0..1"),
        (SettingsChange(explore_rate=-0.1), "explore_rate", "0..1"),
        (SettingsChange(window_days=0), "window_days", "1..3650"),
        (SettingsChange(top_k=0), "top_k", "1..100"),
        (SettingsChange(max_running_experiments=0), "max_running_experiments", "1..100"),
        (SettingsChange(min_samples=0), "min_samples", "2..10000"),
        (SettingsChange(max_days=0), "max_days", "1..3650"),
        (SettingsChange(alpha=0.0), "alpha", "(0, 0.5]"),
        (SettingsChange(alpha=0.6), "alpha", "(0, 0.5]"),
        (SettingsChange(target_duration_s=0.0), "target_duration_s", "1..600"),
        (SettingsChange(default_recipe=B_RECIPE), "default_recipe", "B_STYLE"),
        (SettingsChange(presets=()), "presets", "at least one"),
        (SettingsChange(presets=("bad-name",)), "presets", "letters, digits"),
        (SettingsChange(add_presets=("x y",)), "add_preset", "letters, digits"),
        (SettingsChange(remove_presets=("NOPE",)), "remove_preset", "NOPE"),
        (
            SettingsChange(remove_presets=("DARK_DYSTOPIAN_ANIME",)),
            "remove_preset",
            "default recipe",
        ),
    ],
)
def test_a_rejected_change_names_the_setting_and_writes_nothing(db, change, field, mentions):
    pid = create_project(db, "p").id
    before = show_settings(db, pid)
    with pytest.raises(InvalidInput) as info:
        configure_project(db, pid, change=change)
    assert info.value.field == field
    assert mentions in info.value.message
    assert show_settings(db, pid) == before
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(ProjectSettingChange)) == 0


def test_changes_are_recorded_with_old_and_new_values(db):
    pid = create_project(db, "p").id
    configure_project(
        db,
        pid,
        change=SettingsChange(
            add_presets=("Mixed_Case_1",), window_days=14, weights=RewardWeights(0.2, 0.3, 0.5)
        ),
    )
    configure_project(db, pid, change=SettingsChange(window_days=14))  # no change, no record
    configure_project(db, pid, change=SettingsChange(remove_presets=("Mixed_Case_1",)))
    doc = show_settings(db, pid)
    assert [(c.setting, c.old_value, c.new_value) for c in doc.changes] == [
        (
            "presets",
            ["DARK_DYSTOPIAN_ANIME", "VIBRANT_MOTION_GRAPHICS"],
            ["DARK_DYSTOPIAN_ANIME", "VIBRANT_MOTION_GRAPHICS", "Mixed_Case_1"],
        ),
        (
            "reward_weights",
            {"avg_view_duration": 0.5, "views_6h": 0.3, "engagement": 0.2},
            {"avg_view_duration": 0.2, "views_6h": 0.3, "engagement": 0.5},
        ),
        ("window_days", 30, 14),
        (
            "presets",
            ["DARK_DYSTOPIAN_ANIME", "VIBRANT_MOTION_GRAPHICS", "Mixed_Case_1"],
            ["DARK_DYSTOPIAN_ANIME", "VIBRANT_MOTION_GRAPHICS"],
        ),
    ]
    assert all(c.changed_at.tzinfo is not None for c in doc.changes)
    assert doc.changes[0].changed_at <= doc.changes[-1].changed_at


def test_a_preset_of_a_running_experiment_cannot_be_removed(db):
    settings = ProjectSettings(explore_rate=1.0, presets=("DARK_DYSTOPIAN_ANIME", "B_STYLE"))
    pid = create_project(db, "ab", settings).id
    planning.plan_and_write(db, pid, 1, ["only"], seed=1)
    change = SettingsChange(default_recipe=B_RECIPE, remove_presets=("DARK_DYSTOPIAN_ANIME",))
    with pytest.raises(InvalidInput, match="running experiment") as info:
        configure_project(db, pid, change=change)
    assert info.value.field == "remove_preset"
    assert show_settings(db, pid).presets == ["DARK_DYSTOPIAN_ANIME", "B_STYLE"]


def test_an_import_names_the_missing_preset_and_the_command(db):
    pid = create_project(db, "p").id
    with pytest.raises(InvalidInput) as info:
        import_videos(db, pid, numbered([video_row(0, preset="New_Style")]))
    message = str(info.value.message) + str(getattr(info.value, "details", ""))
    assert "New_Style" in message
    assert f"shorts-engine projects configure --project {pid} --add-preset New_Style" in message
    configure_project(db, pid, change=SettingsChange(add_presets=("New_Style",)))
    assert import_videos(db, pid, numbered([video_row(0, preset="New_Style")])).imported == 1


DAY = dt.date(2026, 10, 9)  # video i is published on 2026-10-(1+i) 12:00 UTC


def _hand_channel(db, name, settings):
    pid = create_project(db, name, settings).id
    videos = [video_row(0), video_row(6), video_row(7), video_row(8, scene_count=8)]
    import_videos(db, pid, numbered(videos))
    backfill_recipes(db, pid)
    six_h = dt.timedelta(hours=6)
    metrics = [
        metric_row("v0", T0 + six_h, avg_view_duration_s=40.0, views_6h=250),
        metric_row("v6", T0 + dt.timedelta(days=6) + six_h, avg_view_duration_s=10.0, views_6h=300),
        metric_row("v7", T0 + dt.timedelta(days=7) + six_h, avg_view_duration_s=20.0, views_6h=100),
        metric_row("v8", T0 + dt.timedelta(days=8) + six_h, avg_view_duration_s=30.0, views_6h=200),
    ]
    ingest_metrics(db, pid, numbered(metrics))
    return pid


def test_custom_weights_and_window_give_the_hand_worked_rewards_and_stats(db):
    custom = _hand_channel(
        db, "custom", ProjectSettings(weights=RewardWeights(0.6, 0.4, 0.0), window_days=7)
    )
    default = _hand_channel(db, "default", ProjectSettings())
    compute_rewards_for_date(db, DAY)
    compute_recipe_stats(db, DAY, None)  # each project's own window

    # custom: the 7-day window of 2026-10-09 holds v6, v7, v8 (v0 is older). Mid-rank
    # percentiles over 3 videos are 1/6, 3/6, 5/6; engagement weighs nothing.
    #   v6: 0.6 * 1/6 + 0.4 * 5/6 = 2.6/6;  v7: 0.6 * 3/6 + 0.4 * 1/6 = 2.2/6;
    #   v8: 0.6 * 5/6 + 0.4 * 3/6 = 4.2/6.
    with db.read() as session:
        from learning_loop.db.models import VideoJob, VideoReward

        got = dict(
            session.execute(
                select(VideoJob.external_id, VideoReward.reward)
                .join(VideoReward, VideoReward.video_id == VideoJob.id)
                .where(VideoReward.project_id == custom, VideoReward.reward_date == DAY)
            ).all()
        )
        windows = dict(session.execute(select(Project.name, Project.window_days)).all())
    assert windows == {"custom": 7, "default": 30}
    assert got == pytest.approx({"v6": 2.6 / 6, "v7": 2.2 / 6, "v8": 4.2 / 6}, abs=1e-12)

    # The default recipe (7 scenes) holds v6 and v7, the 8-scene recipe v8.
    stats = {r.scene_count: r for r in list_recipes(db, custom)}
    assert stats[7].rewarded_videos == 2 and stats[7].times_used == 3
    assert stats[7].avg_reward_score == pytest.approx(4.8 / 12, abs=1e-12)
    assert stats[7].best_reward_score == pytest.approx(2.6 / 6, abs=1e-12)
    assert stats[8].rewarded_videos == 1
    assert stats[8].avg_reward_score == pytest.approx(4.2 / 6, abs=1e-12)

    # default: a 30-day window holds all four videos, so v0 counts too.
    assert {r.scene_count: r.rewarded_videos for r in list_recipes(db, default)} == {7: 3, 8: 1}


def test_a_window_change_applies_to_dates_evaluated_after_it(db):
    pid = _hand_channel(db, "p", ProjectSettings())
    compute_rewards_for_date(db, DAY)
    compute_recipe_stats(db, DAY, None)
    assert {r.scene_count: r.rewarded_videos for r in list_recipes(db, pid)} == {7: 3, 8: 1}
    configure_project(db, pid, change=SettingsChange(window_days=7))
    compute_rewards_for_date(db, DAY)
    compute_recipe_stats(db, DAY, None)
    assert {r.scene_count: r.rewarded_videos for r in list_recipes(db, pid)} == {7: 2, 8: 1}


def test_planning_honours_the_catalogue_explore_rate_limits_and_default_recipe(db):
    catalogue = ("A_STYLE", "B_STYLE", "C_STYLE")
    settings = ProjectSettings(
        presets=catalogue, default_recipe=B_RECIPE, explore_rate=1.0, max_running_experiments=1
    )
    pid = create_project(db, "planned", settings).id
    varied_presets: set[str] = set()
    for seed in range(40):
        recs = planning.preview(db, pid, 4, [f"t{k}" for k in range(4)], seed=seed).recommendations
        assert {r.type for r in recs} == {"explore"}  # explore_rate 1.0
        assert len({r.experiment for r in recs}) == 1  # max_running_experiments 1
        for r in recs:
            fields = r.recipe.model_dump()
            changed = {k for k, v in fields.items() if v != getattr(B_RECIPE, k)}
            assert len(changed) == 1, fields  # one variable away from the default recipe
            varied_presets.add(fields["preset"])
    # Every preset variation comes from the project's own catalogue, never the defaults.
    assert varied_presets == set(catalogue)
