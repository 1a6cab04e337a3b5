"""The batch sampler (SPEC §5): exploit/explore slots, experiment assignment, duplicate prevention.

Pure and deterministic: the same inputs and seed always give the same plan.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from learning_loop.domain.recipe import (
    DEFAULT_PRESETS,
    DEFAULT_RECIPE,
    RECIPE_FIELDS,
    Recipe,
    field_values,
    format_field_value,
)
from learning_loop.domain.topics import InvalidTopic, clean_topic, topic_hash

N_MIN = 1
N_MAX = 100

REASON_DUPLICATE_TOPIC = "duplicate topic in the list"
REASON_NO_CANDIDATE = "every candidate recipe was already used with this topic"


@dataclass(frozen=True)
class RankedRecipe:
    recipe: Recipe
    avg_reward_score: float
    times_used: int


@dataclass(frozen=True)
class RunningExperiment:
    id: str
    baseline: Recipe
    variant: Recipe
    variable_tested: str
    variant_value: str
    variant_jobs: int


@dataclass(frozen=True)
class PlannerSettings:
    explore_rate: float = 0.3
    top_k: int = 3
    max_running_experiments: int = 3
    min_samples: int = 8
    presets: tuple[str, ...] = DEFAULT_PRESETS
    default_recipe: Recipe = DEFAULT_RECIPE

    def validate(self) -> None:
        rate = self.explore_rate
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise ValueError(f"explore_rate must be a number from 0 to 1; got {rate!r}")
        for name, minimum in (("top_k", 1), ("max_running_experiments", 0), ("min_samples", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
        if not self.presets:
            raise ValueError("presets must not be empty")
        field_values("preset", self.presets)


@dataclass(frozen=True)
class SamplerState:
    # recipes with a non-null avg, any order; the sampler sorts them
    ranked: Sequence[RankedRecipe]
    # oldest first
    running: Sequence[RunningExperiment]
    # (baseline_hash, variable_tested, variant_value) of every experiment ever opened
    tested: frozenset[tuple[str, str, str]]
    # (topic_hash, recipe_hash) already present in the project
    existing_keys: frozenset[tuple[str, str]]


@dataclass(frozen=True)
class NewExperiment:
    key: str  # "new-1", "new-2"... unique in the batch
    baseline: Recipe
    variant: Recipe
    variable_tested: str
    baseline_value: str
    variant_value: str


@dataclass(frozen=True)
class Recommendation:
    type: str  # "exploit" | "explore"
    recipe: Recipe
    recipe_hash: str
    topic: str | None
    topic_hash: str | None
    reason: str
    experiment: str | None  # existing experiment id or a NewExperiment.key
    # Probability with which the policy chose this recipe for this slot, for off-policy
    # evaluation; None when the policy does not compute it (the seed's plan_batch).
    probability: float | None = None


@dataclass(frozen=True)
class SkippedTopic:
    topic: str
    reason: str


@dataclass(frozen=True)
class BatchPlan:
    recommendations: list[Recommendation]
    skipped_topics: list[SkippedTopic]
    new_experiments: list[NewExperiment]
    requested: int
    note: str | None  # why the batch is smaller than requested, else None

    @property
    def exploit_count(self) -> int:
        return sum(1 for r in self.recommendations if r.type == "exploit")

    @property
    def explore_count(self) -> int:
        return sum(1 for r in self.recommendations if r.type == "explore")


def top_recipes(ranked: Sequence[RankedRecipe]) -> list[RankedRecipe]:
    """Rewarded recipes by avg reward desc, times_used desc, recipe_hash asc; one per recipe."""
    usable = [
        r for r in ranked if r.avg_reward_score is not None and not math.isnan(r.avg_reward_score)
    ]
    usable.sort(key=lambda r: (-r.avg_reward_score, -r.times_used, r.recipe.recipe_hash))
    seen: set[str] = set()
    result: list[RankedRecipe] = []
    for entry in usable:
        if entry.recipe.recipe_hash not in seen:
            seen.add(entry.recipe.recipe_hash)
            result.append(entry)
    return result


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


class _Planner:
    def __init__(self, state: SamplerState, settings: PlannerSettings, rng: random.Random) -> None:
        self.settings = settings
        self.rng = rng
        self.top = top_recipes(state.ranked)
        self.existing_keys = state.existing_keys
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
        self.batch_keys: set[tuple[str, str]] = set()
        self.exploit_made = 0
        if self.top:
            self.explore_baseline = self.top[0].recipe
            self.baseline_label = "the top recipe"
        else:
            self.explore_baseline = settings.default_recipe
            self.baseline_label = "the default recipe"

    def is_free(self, topic_key: str | None, recipe: Recipe) -> bool:
        if topic_key is None:
            return True
        key = (topic_key, recipe.recipe_hash)
        return key not in self.existing_keys and key not in self.batch_keys

    # Exploit ------------------------------------------------------------------------------

    def exploit_candidates(self) -> Iterator[_Choice]:
        default = self.settings.default_recipe
        if not self.top:
            yield _Choice(default, "Default recipe: no rewarded recipe yet")
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
        uses = "use" if entry.times_used == 1 else "uses"
        return (
            f"{label} #{index + 1} (avg reward {entry.avg_reward_score:.3f}, "
            f"{entry.times_used} {uses})"
        )

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
                    f"baseline (experiment {arm.ref}, variant job {arm.jobs + 1} of "
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
                f"baseline (experiment {arm.ref}, fewest variant jobs: {arm.jobs})",
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
            key=f"new-{len(self.new_experiments) + 1}",
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

    def fill(self, slot: str, topic: str | None, topic_key: str | None) -> Recommendation | None:
        """The recommendation for this slot and topic, or None if every candidate is taken."""
        candidates = self.explore_candidates() if slot == "explore" else self.exploit_candidates()
        for choice in candidates:
            if not self.is_free(topic_key, choice.recipe):
                continue
            experiment: str | None = None
            if slot == "explore":
                arm = choice.arm
                if choice.new_mutation is not None:
                    arm = self.open_experiment(choice.new_mutation, choice.recipe)
                    choice.reason += f" (new experiment {arm.ref})"
                assert arm is not None
                arm.jobs += 1
                experiment = arm.ref
            else:
                self.exploit_made += 1
            if topic_key is not None:
                self.batch_keys.add((topic_key, choice.recipe.recipe_hash))
            return Recommendation(
                type=slot,
                recipe=choice.recipe,
                recipe_hash=choice.recipe.recipe_hash,
                topic=topic,
                topic_hash=topic_key,
                reason=choice.reason,
                experiment=experiment,
            )
        return None


def admit_topic(raw: str, seen: set[str], skipped: list[SkippedTopic]) -> tuple[str, str] | None:
    """The cleaned topic and its hash, or None (recorded in `skipped`) for an invalid topic or
    one already seen in this batch's list."""
    try:
        text = clean_topic(raw)
        key = topic_hash(text)
    except InvalidTopic as exc:
        skipped.append(SkippedTopic(topic=str(raw), reason=f"invalid topic: {exc}"))
        return None
    if key in seen:
        skipped.append(SkippedTopic(topic=raw, reason=REASON_DUPLICATE_TOPIC))
        return None
    seen.add(key)
    return text, key


def finish_batch(
    n: int,
    recommendations: list[Recommendation],
    skipped: list[SkippedTopic],
    new_experiments: list[NewExperiment],
    topics_given: int,
) -> BatchPlan:
    """The plan, with a note saying why it is smaller than requested when it is."""
    note = None
    if len(recommendations) < n:
        usable = len(recommendations)
        topic_word = "topic" if usable == 1 else "topics"
        note = (
            f"{usable} of {n} requested: only {usable} usable {topic_word} "
            f"({topics_given} given, {len(skipped)} skipped)"
        )
    return BatchPlan(
        recommendations=recommendations,
        skipped_topics=skipped,
        new_experiments=new_experiments,
        requested=n,
        note=note,
    )


def _check_n(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or not N_MIN <= n <= N_MAX:
        raise ValueError(f"n must be an integer from {N_MIN} to {N_MAX}; got {n!r}")


def plan_batch(
    n: int,
    topics: Sequence[str] | None,
    state: SamplerState,
    settings: PlannerSettings,
    seed: int | None = None,
) -> BatchPlan:
    """Plan n recommendations (fewer if the topics run out) following SPEC §5.

    Explore slots fall back to exploit only when no experiment can exist at all
    (max_running_experiments is 0 and none is running).
    """
    _check_n(n)
    settings.validate()
    if isinstance(topics, str):
        raise ValueError("topics must be a list of topics, not a single string")
    rng = random.Random(seed)
    explore_slots = explore_slot_count(n, settings.explore_rate, rng)
    slots = ["explore"] * explore_slots + ["exploit"] * (n - explore_slots)
    rng.shuffle(slots)

    planner = _Planner(state, settings, rng)
    recommendations: list[Recommendation] = []
    skipped: list[SkippedTopic] = []
    topic_list = list(topics) if topics else []
    next_topic = 0
    seen_topics: set[str] = set()
    out_of_topics = False

    for slot in slots:
        if slot == "explore" and not planner.explore_possible():
            slot = "exploit"
        if not topic_list:
            made = planner.fill(slot, None, None)
            assert made is not None  # without a topic the first candidate is always free
            recommendations.append(made)
            continue
        while True:
            if next_topic >= len(topic_list):
                out_of_topics = True
                break
            raw = topic_list[next_topic]
            next_topic += 1
            admitted = admit_topic(raw, seen_topics, skipped)
            if admitted is None:
                continue
            text, key = admitted
            made = planner.fill(slot, text, key)
            if made is None:
                skipped.append(SkippedTopic(topic=raw, reason=REASON_NO_CANDIDATE))
                continue
            recommendations.append(made)
            break
        if out_of_topics:
            break

    return finish_batch(n, recommendations, skipped, planner.new_experiments, len(topic_list))
