"""The seed's 70/30 policy (contract §5): exploit the top recipes, explore one-field experiments.

Supplies only the choice of recipes to the batch skeleton (`batch`). Pure and deterministic:
the same inputs and seed always give the same plan.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from learning_loop.domain.batch import (
    REASON_DUPLICATE_TOPIC,
    REASON_NO_CANDIDATE,
    BatchPlan,
    NewExperiment,
    PlannerSettings,
    RankedRecipe,
    Recommendation,
    RunningExperiment,
    SamplerState,
    SkippedTopic,
    UsedKeys,
    check_request,
    experiment_words,
    new_experiment_key,
    run_batch,
)
from learning_loop.domain.formatting import interval_text
from learning_loop.domain.recipe import RECIPE_FIELDS, Recipe, field_values, format_field_value
from learning_loop.domain.statuses import ExploitScope

__all__ = [
    "REASON_DUPLICATE_TOPIC",
    "REASON_NO_CANDIDATE",
    "BatchPlan",
    "NewExperiment",
    "PlannerSettings",
    "RankedRecipe",
    "Recommendation",
    "RunningExperiment",
    "SamplerState",
    "SkippedTopic",
    "explore_baseline",
    "explore_slot_count",
    "mutations",
    "nearest_recipes",
    "plan_batch",
    "ranked_depth",
    "top_recipes",
]


def top_recipes(ranked: Sequence[RankedRecipe]) -> list[RankedRecipe]:
    """The ranked recipes best first, one per recipe. Recipes with an estimate keep the order
    they come in among equal estimates (`estimates.rank_order` ranks them); recipes without one
    go by avg reward desc, times_used desc, recipe_hash asc; unscored ones are left out."""
    usable = [r for r in ranked if r.score is not None and not math.isnan(r.score)]
    usable.sort(
        key=lambda r: (
            -(r.score or 0.0),
            0 if r.estimate is not None else -r.times_used,
            "" if r.estimate is not None else r.recipe.recipe_hash,
        )
    )
    seen: set[str] = set()
    result: list[RankedRecipe] = []
    for entry in usable:
        if entry.recipe.recipe_hash not in seen:
            seen.add(entry.recipe.recipe_hash)
            result.append(entry)
    return result


def nearest_recipes(default: Recipe, presets: Sequence[str]) -> Iterator[Recipe]:
    """Every recipe of the catalogue, nearest to `default` first: the default, then the recipes
    one field away, then two... (fields and values in catalogue order). Lazy: a slot reads only
    as far as it needs."""
    values = [field_values(name, presets) for name in RECIPE_FIELDS]
    for distance in range(len(RECIPE_FIELDS) + 1):
        for changed in itertools.combinations(range(len(RECIPE_FIELDS)), distance):
            others = [
                [v for v in values[f] if v != getattr(default, RECIPE_FIELDS[f])] for f in changed
            ]
            for picked in itertools.product(*others):
                recipe = default
                for f, value in zip(changed, picked, strict=True):
                    recipe = recipe.with_field(RECIPE_FIELDS[f], value)
                yield recipe


def ranked_depth(top_k: int, taken_pairs: int, n: int) -> int:
    """How many of the best recipes a batch of `n` can reach: an exploit slot takes one of the
    `top_k` best, or the next best one its topic has not been made with; a topic has at most
    `taken_pairs` such pairs (plus the batch's own). A planner that reads this many of the
    ranked recipes, or all of them when there are fewer, plans what it would with all of them.
    """
    return top_k + taken_pairs + n + 1


def explore_baseline(ranked: Sequence[RankedRecipe], default: Recipe) -> Recipe:
    """The recipe new experiments change one field of: the top recipe, else the default."""
    top = top_recipes(ranked)
    return top[0].recipe if top else default


def explore_slot_count(n: int, rate: float, rng: random.Random) -> int:
    """floor(n * rate), plus one with probability equal to the fractional part."""
    expected = n * rate
    base = math.floor(expected)
    fraction = expected - base
    # Always draw, so the RNG stream does not depend on whether the fraction is zero.
    extra = 1 if rng.random() < fraction else 0
    return min(n, base + extra)


def mutations(baseline: Recipe, presets: Sequence[str]) -> list[tuple[str, object]]:
    """Every valid one-field change of the baseline, in field order then value order."""
    result: list[tuple[str, object]] = []
    for name in RECIPE_FIELDS:
        current = getattr(baseline, name)
        result.extend((name, value) for value in field_values(name, presets) if value != current)
    return result


@dataclass
class _Arm:
    """A running experiment during planning, existing or opened in this batch."""

    ref: str
    baseline: Recipe
    variant: Recipe
    variable_tested: str
    variant_value: str
    jobs: int


@dataclass
class _Choice:
    recipe: Recipe
    reason: str
    arm: _Arm | None = None
    new_mutation: tuple[str, object] | None = None

    @property
    def type(self) -> str:
        return "exploit" if self.arm is None and self.new_mutation is None else "explore"


class _SeedPolicy:
    """The seed's choices for the batch skeleton; `slot_types[i]` is slot i's "exploit" or
    "explore" (an explore slot falls back to exploit when no experiment can exist at all)."""

    def __init__(
        self,
        state: SamplerState,
        settings: PlannerSettings,
        rng: random.Random,
        slot_types: Sequence[str],
    ) -> None:
        self.settings = settings
        self.rng = rng
        self.slot_types = slot_types
        self.top = top_recipes(state.ranked)
        self.tested: set[tuple[str, str, str]] = set(state.tested)
        self.arms: list[_Arm] = [
            _Arm(
                ref=e.id,
                baseline=e.baseline,
                variant=e.variant,
                variable_tested=e.variable_tested,
                variant_value=e.variant_value,
                jobs=e.variant_jobs,
            )
            for e in state.running
        ]
        self.new_experiments: list[NewExperiment] = []
        self.exploit_made = 0
        self.explore_baseline = explore_baseline(self.top, settings.default_recipe)
        self.baseline_label = "the top recipe" if self.top else "the default recipe"

    # Exploit ------------------------------------------------------------------------------

    def exploit_candidates(self) -> Iterator[_Choice]:
        default = self.settings.default_recipe
        if not self.top:
            yield _Choice(default, "Default recipe: no rewarded recipe yet")
            if self.settings.exploit_scope == ExploitScope.CATALOGUE:
                for recipe in itertools.islice(
                    nearest_recipes(default, self.settings.presets), 1, None
                ):
                    changed = ", ".join(
                        f"{name}={format_field_value(name, getattr(recipe, name))}"
                        for name in default.differing_fields(recipe)
                    )
                    yield _Choice(
                        recipe,
                        f"Alternative: the default recipe with {changed} (no rewarded recipe "
                        "yet; the nearer recipes were already used with this topic)",
                    )
            return
        width = min(self.settings.top_k, len(self.top))
        first = self.exploit_made % width
        yield _Choice(self.top[first].recipe, self._top_reason(first, "Top recipe"))
        for index, entry in enumerate(self.top):
            if index != first:
                yield _Choice(
                    entry.recipe,
                    self._top_reason(index, "Alternative: recipe")
                    + f"; top recipe #{first + 1} was already used with this topic",
                )
        if all(entry.recipe != default for entry in self.top):
            yield _Choice(
                default, "Default recipe: every ranked recipe was already used with this topic"
            )

    def _top_reason(self, index: int, label: str) -> str:
        entry = self.top[index]
        if entry.estimate is None:
            uses = "use" if entry.times_used == 1 else "uses"
            return (
                f"{label} #{index + 1} (avg reward {entry.avg_reward_score:.3f}, "
                f"{entry.times_used} {uses})"
            )
        interval = interval_text(entry.estimate, entry.estimate_low, entry.estimate_high)
        if entry.rewarded_videos == 0:
            behind = "predicted from its fields, never made"
        else:
            word = "video" if entry.rewarded_videos == 1 else "videos"
            behind = f"{entry.rewarded_videos} rewarded {word}"
        return f"{label} #{index + 1} by estimate ({interval}, {behind})"

    # Explore ------------------------------------------------------------------------------

    def explore_possible(self) -> bool:
        return bool(self.arms) or self.settings.max_running_experiments > 0

    def explore_candidates(self) -> Iterator[_Choice]:
        min_samples = self.settings.min_samples
        # (A) experiments still short of their samples, oldest first (batch-opened ones last).
        for arm in self.arms:
            if arm.jobs < min_samples:
                yield _Choice(
                    arm.variant,
                    f"Explore: tests {arm.variable_tested}={arm.variant_value} against its "
                    f"baseline ({experiment_words(arm.ref)}, variant job {arm.jobs + 1} of "
                    f"{min_samples})",
                    arm=arm,
                )
        # (B) open a new experiment while under the cap.
        if len(self.arms) < self.settings.max_running_experiments:
            for name, value in self._ordered_mutations():
                yield _Choice(
                    self.explore_baseline.with_field(name, value),
                    f"Explore: tests {name}={format_field_value(name, value)} against "
                    f"{self.baseline_label}",
                    new_mutation=(name, value),
                )
        # (C) every experiment has its samples and the cap is reached: feed the thinnest arm.
        for arm in sorted(self.arms, key=lambda a: a.jobs):
            yield _Choice(
                arm.variant,
                f"Explore: tests {arm.variable_tested}={arm.variant_value} against its "
                f"baseline ({experiment_words(arm.ref)}, fewest variant jobs: {arm.jobs})",
                arm=arm,
            )

    def _ordered_mutations(self) -> list[tuple[str, object]]:
        baseline_hash = self.explore_baseline.recipe_hash
        running = {(a.baseline.recipe_hash, a.variable_tested, a.variant_value) for a in self.arms}
        fresh: list[tuple[str, object]] = []
        retried: list[tuple[str, object]] = []
        for name, value in mutations(self.explore_baseline, self.settings.presets):
            key = (baseline_hash, name, format_field_value(name, value))
            if key in running:
                continue
            (retried if key in self.tested else fresh).append((name, value))
        self.rng.shuffle(fresh)
        self.rng.shuffle(retried)
        return fresh + retried

    def open_experiment(self, mutation: tuple[str, object], variant: Recipe) -> _Arm:
        name, value = mutation
        baseline = self.explore_baseline
        created = NewExperiment(
            key=new_experiment_key(len(self.new_experiments) + 1),
            baseline=baseline,
            variant=variant,
            variable_tested=name,
            baseline_value=format_field_value(name, getattr(baseline, name)),
            variant_value=format_field_value(name, value),
        )
        self.new_experiments.append(created)
        self.tested.add((baseline.recipe_hash, name, created.variant_value))
        arm = _Arm(
            ref=created.key,
            baseline=baseline,
            variant=variant,
            variable_tested=name,
            variant_value=created.variant_value,
            jobs=0,
        )
        self.arms.append(arm)
        return arm

    # Slots --------------------------------------------------------------------------------

    def candidates(self, slot: int, topic_key: str | None) -> Iterator[tuple[str, _Choice]]:
        explore = self.slot_types[slot] == "explore" and self.explore_possible()
        choices = (
            itertools.chain(self.explore_candidates(), self._explore_fallback())
            if explore
            else self.exploit_candidates()
        )
        return ((choice.recipe.recipe_hash, choice) for choice in choices)

    def _explore_fallback(self) -> Iterator[_Choice]:
        """When no variant the explore slot may take is free for its topic, the slot takes an
        exploit recipe rather than losing the topic."""
        for choice in self.exploit_candidates():
            choice.reason += "; planned as exploit: no experiment's variant was free for this topic"
            yield choice

    def commit(self, choice: _Choice, topic: str | None, topic_key: str | None) -> Recommendation:
        experiment: str | None = None
        if choice.type == "explore":
            arm = choice.arm
            if choice.new_mutation is not None:
                arm = self.open_experiment(choice.new_mutation, choice.recipe)
                choice.reason += f" ({experiment_words(arm.ref)})"
            assert arm is not None
            arm.jobs += 1
            experiment = arm.ref
        else:
            self.exploit_made += 1
        return Recommendation(
            type=choice.type,
            recipe=choice.recipe,
            recipe_hash=choice.recipe.recipe_hash,
            topic=topic,
            topic_hash=topic_key,
            reason=choice.reason,
            experiment=experiment,
        )


def plan_batch(
    n: int,
    topics: Sequence[str] | None,
    state: SamplerState,
    settings: PlannerSettings,
    seed: int | None = None,
) -> BatchPlan:
    """Plan n recommendations (fewer if the topics run out) following contract §5.

    Explore slots fall back to exploit only when no experiment can exist at all
    (max_running_experiments is 0 and none is running).
    """
    check_request(n, topics, settings)
    rng = random.Random(seed)
    explore_slots = explore_slot_count(n, settings.explore_rate, rng)
    slot_types = ["explore"] * explore_slots + ["exploit"] * (n - explore_slots)
    rng.shuffle(slot_types)
    policy = _SeedPolicy(state, settings, rng, slot_types)
    return run_batch(n, topics, policy, UsedKeys(state.existing_keys))
