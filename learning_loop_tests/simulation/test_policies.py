"""The in-memory policy runner: determinism, the yardsticks, and that learning beats guessing."""

from __future__ import annotations

import numpy as np
import pytest

from learning_loop.domain.experiments import RULE_WELCH
from learning_loop.simulation import ChannelConfig
from learning_loop.simulation.policy_names import POLICIES, parse_policies
from learning_loop.simulation.regret import (
    compare,
    relative_regret,
    run_policy,
    simulate_regrets,
    summarise,
)


def test_parse_policies() -> None:
    assert parse_policies(None) == list(POLICIES)
    assert parse_policies(["oracle,seed", " Thompson ", "seed"]) == ["seed", "thompson", "oracle"]
    with pytest.raises(ValueError, match="unknown policy 'greedy'"):
        parse_policies(["seed,greedy"])


def test_run_policy_is_deterministic_per_seed() -> None:
    config = ChannelConfig(seed=3)
    for policy in ("seed", "thompson"):
        first = run_policy(policy, config, days=12, per_day=5, seed=1)
        assert first == run_policy(policy, config, days=12, per_day=5, seed=1)
        assert first > 0
    assert run_policy("seed", config, days=12, per_day=5, seed=1) != run_policy(
        "seed", config, days=12, per_day=5, seed=2
    )


def test_oracle_has_no_regret_and_random_is_worse_than_learning() -> None:
    regrets = simulate_regrets(POLICIES, seeds=4, days=60, per_day=5, workers=1)
    assert np.all(regrets["oracle"] == 0.0)
    assert regrets["random"].mean() > regrets["seed"].mean()
    assert regrets["random"].mean() > regrets["thompson"].mean()
    results = {r.policy: r for r in summarise(regrets, 60, 5)}
    assert results["random"].gap_closed == 0.0 and results["oracle"].gap_closed == 1.0
    assert results["seed"].regret_se > 0
    assert results["thompson"].gap_closed is not None and results["thompson"].gap_closed > 0


def test_results_do_not_depend_on_workers_or_chunking() -> None:
    one = simulate_regrets(["seed", "thompson"], seeds=[5, 6], days=8, per_day=3, workers=1)
    two = simulate_regrets(["thompson", "seed"], seeds=[6, 5], days=8, per_day=3, workers=2)
    assert one["seed"].tolist() == two["seed"][::-1].tolist()
    assert one["thompson"].tolist() == two["thompson"][::-1].tolist()


def test_compare_reports_the_requested_policies_with_the_gap() -> None:
    results = compare(["thompson"], seeds=2, days=5, per_day=2, workers=1)
    assert [r.policy for r in results] == ["thompson"]
    assert set(results[0].as_dict()) >= {"policy", "regret_mean", "regret_se", "gap_closed"}
    assert results[0].gap_closed is not None


def test_relative_regret() -> None:
    rel, se = relative_regret(np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0]))
    assert rel == pytest.approx(-0.5) and se == pytest.approx(0.0)


@pytest.mark.parametrize("bad", [{"days": 0}, {"per_day": 101}])
def test_bad_run_sizes(bad: dict[str, int]) -> None:
    args = {"days": 5, "per_day": 5} | bad
    with pytest.raises(ValueError):
        run_policy("seed", ChannelConfig(), seed=0, **args)


def test_experiment_counts_of_the_loop() -> None:
    from learning_loop.simulation.regret import LoopSettings, simulate_runs

    runs = simulate_runs(["seed", "random"], seeds=[1, 2], days=40, per_day=5, workers=1)
    seed = runs.experiments["seed"]
    assert seed.channels == 2
    assert seed.completed >= seed.decided >= seed.wrong >= 0
    assert seed.completed > 0
    assert len(seed.decision_days) == seed.decided
    assert all(1 <= d <= 40 for d in seed.decision_days)
    assert runs.experiments["random"].completed == 0  # a yardstick runs no experiment
    # The same loop with no true effects: every decision would be a false one. A 5% rule
    # decides 4 or more of these 23 completed experiments with probability about 3%; these
    # seeded channels decide 1. A rule whose final look spends 8 times its share decides 8.
    null = simulate_runs(
        ["seed"],
        seeds=[1, 2, 3, 4, 5, 6],
        days=40,
        per_day=5,
        channel=ChannelConfig(effect_sd=0.0),
        workers=1,
    )
    assert null.experiments["seed"].completed >= 20
    assert null.experiments["seed"].decided <= 3
    former = simulate_runs(
        ["seed"],
        seeds=[1, 2],
        days=40,
        per_day=5,
        workers=1,
        settings=LoopSettings(rule=RULE_WELCH),
    )
    assert former.experiments["seed"].completed > 0
    # Per channel in the summary, as the regret is.
    row = summarise(runs.regrets, 40, 5, runs.experiments)[0].as_dict()
    assert row["experiments_completed"] == seed.completed / 2
    assert row["experiments_wrong"] == seed.wrong / 2
