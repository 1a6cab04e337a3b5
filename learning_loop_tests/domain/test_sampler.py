"""Batch sampler rules (contract §5) on hand-built states."""

import random
from collections import Counter

import pytest

from learning_loop.domain.recipe import DEFAULT_PRESETS, DEFAULT_RECIPE, RECIPE_FIELDS, Recipe
from learning_loop.domain.sampler import (
    REASON_DUPLICATE_TOPIC,
    REASON_NO_CANDIDATE,
    BatchPlan,
    PlannerSettings,
    RankedRecipe,
    RunningExperiment,
    SamplerState,
    explore_slot_count,
    mutations,
    nearest_recipes,
    plan_batch,
    top_recipes,
)
from learning_loop.domain.statuses import ExploitScope
from learning_loop.domain.topics import topic_hash

EXPLOIT_ONLY = PlannerSettings(explore_rate=0.0)
# The cap tests below are written for three experiments at once (the default is 6).
EXPLORE_ONLY = PlannerSettings(explore_rate=1.0, max_running_experiments=3)


def _recipe(hook: str, scenes: int = 7) -> Recipe:
    return DEFAULT_RECIPE.with_field("hook_type", hook).with_field("scene_count", scenes)


R1, R2, R3, R4, R5 = (_recipe(h) for h in ("story", "visual", "mystery", "contrast", "statement"))
RANKED = [
    RankedRecipe(R3, 0.60, 4),
    RankedRecipe(R1, 0.90, 2),
    RankedRecipe(R5, 0.10, 9),
    RankedRecipe(R2, 0.75, 1),
    RankedRecipe(R4, 0.50, 3),
]


def _state(
    ranked: list[RankedRecipe] | None = None,
    running: list[RunningExperiment] | None = None,
    tested: set[tuple[str, str, str]] | None = None,
    existing: set[tuple[str, str]] | None = None,
) -> SamplerState:
    return SamplerState(
        ranked=ranked or [],
        running=running or [],
        tested=frozenset(tested or set()),
        existing_keys=frozenset(existing or set()),
    )


def _experiment(
    exp_id: str, baseline: Recipe, field: str, value: object, jobs: int
) -> RunningExperiment:
    return RunningExperiment(
        id=exp_id,
        baseline=baseline,
        variant=baseline.with_field(field, value),
        variable_tested=field,
        variant_value=str(value),
        variant_jobs=jobs,
    )


def test_top_recipes_order_with_ties() -> None:
    a, b, c = _recipe("story", 5), _recipe("story", 6), _recipe("story", 8)
    ranked = [RankedRecipe(a, 0.5, 1), RankedRecipe(b, 0.5, 3), RankedRecipe(c, 0.5, 1)]
    ordered = [r.recipe for r in top_recipes(ranked)]
    first_tie = sorted([a, c], key=lambda r: r.recipe_hash)
    assert ordered == [b, *first_tie]
    assert [r.recipe for r in top_recipes(RANKED)] == [R1, R2, R3, R4, R5]


@pytest.mark.parametrize(
    ("n", "rate", "expected"),
    [(10, 0.0, 0), (10, 1.0, 10), (10, 0.5, 5), (4, 0.25, 1), (1, 0.0, 0)],
)
def test_explore_slot_count_whole_numbers(n: int, rate: float, expected: int) -> None:
    for seed in range(20):
        assert explore_slot_count(n, rate, random.Random(seed)) == expected


def test_explore_slot_count_fraction() -> None:
    counts = Counter(explore_slot_count(5, 0.3, random.Random(s)) for s in range(2000))
    assert set(counts) == {1, 2}
    assert counts[2] / 2000 == pytest.approx(0.5, abs=0.05)


def test_mutations_of_default_recipe() -> None:
    result = mutations(DEFAULT_RECIPE, DEFAULT_PRESETS)
    assert result[0] == ("preset", "VIBRANT_MOTION_GRAPHICS")
    assert ("scene_count", 7) not in result
    assert [v for f, v in result if f == "scene_count"] == [5, 6, 8, 9, 10]
    # 1 preset + 5 hooks + 5 scene counts + 2 wpm + 2 density + 3 endings
    assert len(result) == 18
    assert result == mutations(DEFAULT_RECIPE, DEFAULT_PRESETS)


def test_cold_start() -> None:
    plan = plan_batch(10, None, _state(), PlannerSettings(explore_rate=0.5), seed=3)
    assert len(plan.recommendations) == 10 and plan.note is None
    assert (plan.exploit_count, plan.explore_count) == (5, 5)
    for rec in plan.recommendations:
        assert rec.topic is None and rec.topic_hash is None
        if rec.type == "exploit":
            assert rec.recipe == DEFAULT_RECIPE and rec.experiment is None
            assert rec.reason == "Default recipe: no rewarded recipe yet"
    assert len(plan.new_experiments) == 1
    new = plan.new_experiments[0]
    assert new.key == "new-1" and new.baseline == DEFAULT_RECIPE
    assert new.baseline.differing_fields(new.variant) == [new.variable_tested]
    assert new.baseline_value == str(getattr(DEFAULT_RECIPE, new.variable_tested))
    explores = [r for r in plan.recommendations if r.type == "explore"]
    assert all(r.experiment == "new-1" and r.recipe == new.variant for r in explores)


def test_round_robin_over_top_three() -> None:
    plan = plan_batch(7, None, _state(RANKED), EXPLOIT_ONLY, seed=1)
    assert [r.recipe for r in plan.recommendations] == [R1, R2, R3, R1, R2, R3, R1]
    assert plan.recommendations[0].reason.startswith("Top recipe #1 (avg reward 0.900")
    assert plan.recommendations[0].recipe_hash == R1.recipe_hash


def test_round_robin_width_follows_top_k_and_short_lists() -> None:
    plan = plan_batch(4, None, _state(RANKED), PlannerSettings(explore_rate=0, top_k=2))
    assert [r.recipe for r in plan.recommendations] == [R1, R2, R1, R2]
    plan = plan_batch(3, None, _state(RANKED[:1]), EXPLOIT_ONLY)
    assert [r.recipe for r in plan.recommendations] == [R3, R3, R3]


def test_existing_key_makes_exploit_take_an_alternative() -> None:
    t = topic_hash("Cats")
    plan = plan_batch(
        2, ["Cats", "Dogs"], _state(RANKED, existing={(t, R1.recipe_hash)}), EXPLOIT_ONLY
    )
    first, second = plan.recommendations
    assert (first.topic, first.recipe) == ("Cats", R2)
    assert first.reason.startswith("Alternative: recipe #2")
    # the round-robin counter advanced once, so the next exploit starts from top #2
    assert (second.topic, second.recipe) == ("Dogs", R2)
    assert plan.skipped_topics == []


def test_alternatives_then_default_then_skip_and_report() -> None:
    t = topic_hash("cats")
    taken = {(t, r.recipe.recipe_hash) for r in RANKED}
    plan = plan_batch(1, ["cats"], _state(RANKED, existing=taken), EXPLOIT_ONLY)
    assert plan.recommendations[0].recipe == DEFAULT_RECIPE
    assert plan.recommendations[0].reason.startswith("Default recipe")

    taken.add((t, DEFAULT_RECIPE.recipe_hash))
    plan = plan_batch(1, ["  CATS ", "birds"], _state(RANKED, existing=taken), EXPLOIT_ONLY)
    assert [s.topic for s in plan.skipped_topics] == ["  CATS "]
    assert plan.skipped_topics[0].reason == REASON_NO_CANDIDATE
    assert [r.topic for r in plan.recommendations] == ["birds"]
    assert plan.note is None


def test_smaller_batch_note() -> None:
    plan = plan_batch(5, ["a", "b", "c"], _state(RANKED), PlannerSettings(), seed=0)
    assert len(plan.recommendations) == 3
    assert plan.requested == 5
    assert plan.note is not None and plan.note.startswith("3 of 5 requested: only 3 usable")
    assert [r.topic for r in plan.recommendations] == ["a", "b", "c"]


def test_duplicate_topics_in_the_list() -> None:
    plan = plan_batch(3, ["Foo", " foo  ", "Bar", "FOO"], _state(RANKED), EXPLOIT_ONLY)
    assert [r.topic for r in plan.recommendations] == ["Foo", "Bar"]
    assert [(s.topic, s.reason) for s in plan.skipped_topics] == [
        (" foo  ", REASON_DUPLICATE_TOPIC),
        ("FOO", REASON_DUPLICATE_TOPIC),
    ]
    assert plan.note is not None and plan.note.startswith("2 of 3 requested")
    assert plan.recommendations[0].topic_hash == topic_hash("foo")


def test_invalid_topics_are_skipped_and_reported() -> None:
    plan = plan_batch(1, ["   ", "ok"], _state(RANKED), EXPLOIT_ONLY)
    assert [r.topic for r in plan.recommendations] == ["ok"]
    assert plan.skipped_topics[0].reason.startswith("invalid topic")


def test_topics_are_used_in_order_and_leftovers_untouched() -> None:
    plan = plan_batch(2, ["x", "y", "z"], _state(RANKED), PlannerSettings(), seed=9)
    assert [r.topic for r in plan.recommendations] == ["x", "y"]
    assert plan.note is None and plan.skipped_topics == []


@pytest.mark.parametrize("n", [0, 101, -1, True, 5.0, "5"])
def test_n_out_of_range(n: object) -> None:
    with pytest.raises(ValueError, match="n must"):
        plan_batch(n, None, _state(), PlannerSettings())  # type: ignore[arg-type]


def test_single_string_topics_rejected() -> None:
    with pytest.raises(ValueError, match="topics"):
        plan_batch(1, "abc", _state(), PlannerSettings())


def test_running_experiments_reach_min_samples_before_new_ones() -> None:
    old = _experiment("exp-old", R1, "ending_type", "loop", 6)
    young = _experiment("exp-young", R1, "scene_count", 9, 7)
    plan = plan_batch(6, None, _state(RANKED, [old, young]), EXPLORE_ONLY, seed=5)
    refs = [r.experiment for r in plan.recommendations]
    assert refs == ["exp-old", "exp-old", "exp-young", "new-1", "new-1", "new-1"]
    assert plan.recommendations[0].recipe == old.variant
    assert len(plan.new_experiments) == 1
    assert plan.new_experiments[0].baseline == R1  # the best top recipe
    assert "variant job 7 of 8" in plan.recommendations[0].reason


def test_cap_respected_and_fewest_jobs_fallback() -> None:
    full = [
        _experiment("e1", R1, "ending_type", "loop", 9),
        _experiment("e2", R1, "scene_count", 9, 8),
        _experiment("e3", R2, "hook_type", "question", 8),
    ]
    plan = plan_batch(6, None, _state(RANKED, full), EXPLORE_ONLY, seed=2)
    assert plan.new_experiments == []
    # e2 and e3 tie at 8 (oldest first), then the counts even out
    assert [r.experiment for r in plan.recommendations] == ["e2", "e3", "e1", "e2", "e3", "e1"]
    assert all("fewest variant jobs" in r.reason for r in plan.recommendations)


def test_one_free_slot_opens_exactly_one_experiment() -> None:
    running = [
        _experiment("e1", R1, "ending_type", "loop", 8),
        _experiment("e2", R1, "scene_count", 9, 8),
    ]
    plan = plan_batch(20, None, _state(RANKED, running), EXPLORE_ONLY, seed=4)
    assert len(plan.new_experiments) == 1
    refs = Counter(r.experiment for r in plan.recommendations)
    assert refs["new-1"] >= 8


def test_no_second_running_experiment_with_same_mutation() -> None:
    running = [_experiment("e1", R1, "hook_type", "question", 8)]
    for seed in range(40):
        plan = plan_batch(
            3,
            None,
            _state(RANKED, running),
            PlannerSettings(explore_rate=1, min_samples=1, max_running_experiments=3),
            seed,
        )
        opened = {(e.variable_tested, e.variant_value) for e in plan.new_experiments}
        assert ("hook_type", "question") not in opened
        assert len(opened) == len(plan.new_experiments) == 2


def test_untested_mutations_are_preferred() -> None:
    all_mutations = mutations(R1, DEFAULT_PRESETS)
    untested = ("narration_wpm_bucket", "fast")
    tested = {(R1.recipe_hash, f, str(v)) for f, v in all_mutations if (f, v) != untested}
    for seed in range(10):
        plan = plan_batch(1, None, _state(RANKED, tested=tested), EXPLORE_ONLY, seed)
        new = plan.new_experiments[0]
        assert (new.variable_tested, new.variant_value) == untested


def test_explore_with_taken_variant_key_moves_on() -> None:
    exp = _experiment("e1", R1, "ending_type", "loop", 0)
    t = topic_hash("owls")
    plan = plan_batch(
        1,
        ["owls"],
        _state(RANKED, [exp], existing={(t, exp.variant.recipe_hash)}),
        EXPLORE_ONLY,
        seed=1,
    )
    rec = plan.recommendations[0]
    assert rec.experiment == "new-1" and rec.recipe != exp.variant
    assert R1.differing_fields(rec.recipe) == [plan.new_experiments[0].variable_tested]


def test_explore_without_possible_experiment_falls_back_to_exploit() -> None:
    settings = PlannerSettings(explore_rate=1.0, max_running_experiments=0)
    plan = plan_batch(3, None, _state(RANKED), settings)
    assert plan.exploit_count == 3 and plan.new_experiments == []


def test_same_seed_same_plan() -> None:
    running = [_experiment("e1", R1, "ending_type", "loop", 3)]
    state = _state(RANKED, running, existing={(topic_hash("t1"), R1.recipe_hash)})
    topics = [f"t{i}" for i in range(30)]
    settings = PlannerSettings(explore_rate=0.45, min_samples=2)
    first: BatchPlan = plan_batch(25, topics, state, settings, seed=42)
    assert plan_batch(25, topics, state, settings, seed=42) == first
    others = [plan_batch(25, topics, state, settings, seed=s) for s in range(5)]
    assert any(other != first for other in others)


def test_reason_and_hash_fields() -> None:
    plan = plan_batch(30, None, _state(RANKED), PlannerSettings(), seed=11)
    for rec in plan.recommendations:
        assert rec.recipe_hash == rec.recipe.recipe_hash
        assert rec.reason
        assert set(rec.recipe.to_dict()) == set(RECIPE_FIELDS)


# Ranking by estimate (contract §5 with the amendment of 2026-12-06) -------------------------


def _estimated(recipe: Recipe, estimate: float, videos: int) -> RankedRecipe:
    return RankedRecipe(
        recipe,
        None,
        0,
        estimate=estimate,
        estimate_low=estimate - 0.1,
        estimate_high=estimate + 0.1,
        rewarded_videos=videos,
    )


BY_ESTIMATE = [
    _estimated(R2, 0.80, 12),
    _estimated(R1, 0.70, 0),  # never made: predicted from its fields
    _estimated(R3, 0.60, 4),
    _estimated(R4, 0.55, 2),
    _estimated(R5, 0.50, 1),
]


def test_exploit_takes_the_top_recipes_by_estimate_and_says_so():
    plan = plan_batch(3, None, _state(BY_ESTIMATE), EXPLOIT_ONLY, seed=1)
    assert [r.recipe for r in plan.recommendations] == [R2, R1, R3]
    first, second, _ = (r.reason for r in plan.recommendations)
    assert first == "Top recipe #1 by estimate (0.800 [0.700, 0.900], 12 rewarded videos)"
    assert second.endswith("predicted from its fields, never made)")
    # Estimates, not raw averages: an entry's average does not move it.
    assert [r.recipe for r in top_recipes(BY_ESTIMATE)] == [R2, R1, R3, R4, R5]


def test_a_topic_used_with_the_top_recipes_takes_the_next_by_estimate():
    used = {(topic_hash("cats"), r.recipe_hash) for r in (R2, R1, R3)}
    plan = plan_batch(1, ["cats"], _state(BY_ESTIMATE, existing=used), EXPLOIT_ONLY, seed=1)
    (rec,) = plan.recommendations
    assert rec.recipe == R4 and plan.skipped_topics == []
    assert rec.reason.startswith("Alternative: recipe #4 by estimate (0.550")
    assert rec.reason.endswith("top recipe #1 was already used with this topic")


def test_an_explore_slot_whose_variants_are_all_used_takes_an_exploit_recipe():
    settings = PlannerSettings(explore_rate=1.0, max_running_experiments=1)
    running = [_experiment("e1", R2, "ending_type", "loop", 8)]
    used = {(topic_hash("cats"), R2.with_field("ending_type", "loop").recipe_hash)}
    state = _state(BY_ESTIMATE, running=running, existing=used)
    plan = plan_batch(1, ["cats"], state, settings, seed=1)
    (rec,) = plan.recommendations
    assert rec.type == "exploit" and rec.recipe == R2 and rec.experiment is None
    assert "no experiment's variant was free for this topic" in rec.reason


def test_at_cold_start_a_used_topic_takes_the_nearest_recipe_and_made_only_skips_it():
    used = {(topic_hash("cats"), DEFAULT_RECIPE.recipe_hash)}
    plan = plan_batch(1, ["cats"], _state(existing=used), EXPLOIT_ONLY, seed=1)
    (rec,) = plan.recommendations
    assert len(DEFAULT_RECIPE.differing_fields(rec.recipe)) == 1
    assert rec.reason.startswith("Alternative: the default recipe with preset=")
    made_only = PlannerSettings(explore_rate=0.0, exploit_scope=ExploitScope.MADE)
    skipped = plan_batch(1, ["cats"], _state(existing=used), made_only, seed=1)
    assert skipped.recommendations == [] and skipped.skipped_topics[0].topic == "cats"


def test_nearest_recipes_walk_the_whole_catalogue_from_the_default():
    walked = list(nearest_recipes(DEFAULT_RECIPE, DEFAULT_PRESETS))
    assert walked[0] == DEFAULT_RECIPE and len(walked) == len(set(walked)) == 2 * 6 * 6 * 3 * 3 * 4
    distances = [len(DEFAULT_RECIPE.differing_fields(r)) for r in walked]
    assert distances == sorted(distances)


def test_a_topic_is_skipped_only_when_the_whole_catalogue_is_used_with_it():
    every = {
        (topic_hash("cats"), r.recipe_hash)
        for r in nearest_recipes(DEFAULT_RECIPE, DEFAULT_PRESETS)
    }
    last = list(nearest_recipes(DEFAULT_RECIPE, DEFAULT_PRESETS))[-1]
    almost = every - {(topic_hash("cats"), last.recipe_hash)}
    plan = plan_batch(1, ["cats"], _state(existing=frozenset(almost)), EXPLOIT_ONLY, seed=1)
    assert [r.recipe for r in plan.recommendations] == [last]
    plan = plan_batch(1, ["cats"], _state(existing=frozenset(every)), EXPLOIT_ONLY, seed=1)
    assert plan.recommendations == [] and plan.skipped_topics[0].reason == REASON_NO_CANDIDATE
