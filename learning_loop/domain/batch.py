"""The batch skeleton every planning policy shares (contract §5): the plan dataclasses, the input
checks, the topic admission loop with duplicate prevention, and the final plan.

A policy (the seed's 70/30 in `sampler`, Thompson sampling in `thompson`) supplies only its
choice: for each slot, the candidate recipes in order of preference, and the recommendation for
the one taken. Pure: the skeleton draws no random numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from learning_loop.domain.recipe import DEFAULT_PRESETS, DEFAULT_RECIPE, Recipe, field_values
from learning_loop.domain.statuses import ExploitScope
from learning_loop.domain.topics import InvalidTopic, clean_topic, topic_hash

MIN_BATCH_SIZE = 1
MAX_BATCH_SIZE = 100

REASON_DUPLICATE_TOPIC = "duplicate topic in the list"
REASON_NO_CANDIDATE = "every candidate recipe was already used with this topic"


@dataclass(frozen=True)
class RankedRecipe:
    """A recipe as the planners rank it: by `estimate` (the model's expected reward, with its
    95% interval) where there is one, else by the raw `avg_reward_score`."""

    recipe: Recipe
    avg_reward_score: float | None
    times_used: int
    estimate: float | None = None
    estimate_low: float | None = None
    estimate_high: float | None = None
    rewarded_videos: int = 0

    @property
    def score(self) -> float | None:
        return self.estimate if self.estimate is not None else self.avg_reward_score


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
    max_running_experiments: int = 6
    min_samples: int = 8
    presets: tuple[str, ...] = DEFAULT_PRESETS
    default_recipe: Recipe = DEFAULT_RECIPE
    exploit_scope: ExploitScope = ExploitScope.CATALOGUE

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
    # the best recipes with a non-null avg, any order (the sampler sorts them): all of them, or
    # at least `sampler.ranked_depth` of them
    ranked: Sequence[RankedRecipe]
    # oldest first
    running: Sequence[RunningExperiment]
    # (baseline_hash, variable_tested, variant_value) of every experiment ever opened on the
    # explore baseline (`sampler.explore_baseline`), the only ones a policy looks up
    tested: frozenset[tuple[str, str, str]]
    # (topic_hash, recipe_hash) already present in the project
    existing_keys: frozenset[tuple[str, str]]


NEW_EXPERIMENT = "new-"


def new_experiment_key(opened: int) -> str:
    """The key of a batch's `opened`-th new experiment: it stands for the experiment's id
    until the batch is written, and is never shown."""
    return f"{NEW_EXPERIMENT}{opened}"


def is_new_experiment(ref: str | None) -> bool:
    return ref is not None and ref.startswith(NEW_EXPERIMENT)


def experiment_words(ref: str) -> str:
    """How a reason names an experiment: by its id, or plainly as a new one (a preview writes
    nothing, so a new experiment has no id to show)."""
    return "a new experiment" if is_new_experiment(ref) else f"experiment {ref}"


@dataclass(frozen=True)
class NewExperiment:
    key: str  # new_experiment_key(1), (2)...: unique in the batch
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


class UsedKeys:
    """The (topic_hash, recipe_hash) pairs already taken: in the project or earlier in the batch."""

    def __init__(self, existing: frozenset[tuple[str, str]]) -> None:
        self.existing = existing
        self.batch: set[tuple[str, str]] = set()

    def is_free(self, topic_key: str | None, recipe_hash: str) -> bool:
        if topic_key is None:
            return True
        key = (topic_key, recipe_hash)
        return key not in self.existing and key not in self.batch

    def take(self, topic_key: str | None, recipe_hash: str) -> None:
        if topic_key is not None:
            self.batch.add((topic_key, recipe_hash))

    def used_with(self, topic_key: str | None) -> set[str]:
        """Hashes of the recipes already taken for this topic (none without a topic)."""
        if topic_key is None:
            return set()
        hashes = {h for t, h in self.existing if t == topic_key}
        hashes.update(h for t, h in self.batch if t == topic_key)
        return hashes


Choice = TypeVar("Choice")


class Policy(Protocol[Choice]):
    """What a planning policy supplies to the skeleton: its choices, slot by slot."""

    new_experiments: list[NewExperiment]

    def candidates(self, slot: int, topic_key: str | None) -> Iterable[tuple[str, Choice]]:
        """(recipe_hash, choice) for slot 0..n-1, best first; read lazily up to the first free
        one, so a policy may defer work (and random draws) to later candidates."""
        ...

    def commit(self, choice: Choice, topic: str | None, topic_key: str | None) -> Recommendation:
        """The recommendation for the choice taken (opening or feeding its experiment)."""
        ...


def check_request(n: int, topics: Sequence[str] | None, settings: PlannerSettings) -> None:
    """Raise ValueError unless n is within 1..MAX_BATCH_SIZE, settings valid, topics a list."""
    if isinstance(n, bool) or not isinstance(n, int) or not MIN_BATCH_SIZE <= n <= MAX_BATCH_SIZE:
        raise ValueError(
            f"n must be an integer from {MIN_BATCH_SIZE} to {MAX_BATCH_SIZE}; got {n!r}"
        )
    settings.validate()
    if isinstance(topics, str):
        raise ValueError("topics must be a list of topics, not a single string")


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


def _fill(
    policy: Policy[Choice], used: UsedKeys, slot: int, topic: str | None, topic_key: str | None
) -> Recommendation | None:
    """The policy's first candidate still free for this topic, committed; None if none is."""
    for recipe_hash, choice in policy.candidates(slot, topic_key):
        if used.is_free(topic_key, recipe_hash):
            made = policy.commit(choice, topic, topic_key)
            used.take(topic_key, recipe_hash)
            return made
    return None


def run_batch(
    n: int, topics: Sequence[str] | None, policy: Policy[Choice], used: UsedKeys
) -> BatchPlan:
    """Fill n slots with the policy's choices, one topic per slot in list order (fewer slots if
    the topics run out): invalid and repeated topics, and topics every candidate of which is
    already used with them, are skipped with a reason."""
    recommendations: list[Recommendation] = []
    skipped: list[SkippedTopic] = []
    topic_list = list(topics) if topics else []
    next_topic = 0
    seen_topics: set[str] = set()
    for slot in range(n):
        if not topic_list:
            made = _fill(policy, used, slot, None, None)
            assert made is not None  # without a topic the first candidate is always free
            recommendations.append(made)
            continue
        made = None
        while made is None and next_topic < len(topic_list):
            raw = topic_list[next_topic]
            next_topic += 1
            admitted = admit_topic(raw, seen_topics, skipped)
            if admitted is None:
                continue
            text, key = admitted
            made = _fill(policy, used, slot, text, key)
            if made is None:
                skipped.append(SkippedTopic(topic=raw, reason=REASON_NO_CANDIDATE))
        if made is None:
            break
        recommendations.append(made)
    return finish_batch(n, recommendations, skipped, policy.new_experiments, len(topic_list))
