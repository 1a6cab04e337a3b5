"""The guardrail of a verdict (contract §7, issue #26 point 4): a variant that wins on reward but
significantly hurts the project's guardrail component is not declared the winner. The rule's
p-value is checked against scipy; the service's verdicts end to end on both databases."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import numpy as np
import pytest
from scipy import stats
from sqlalchemy import select

from learning_loop.db.engine import Database
from learning_loop.db.models import VideoReward
from learning_loop.domain.experiments import Verdict
from learning_loop.domain.guardrail import GuardrailArms, guard, harm_p_value, state_text
from learning_loop.domain.statuses import Guardrail
from learning_loop.services import planning
from learning_loop.services.experiments import evaluate_experiments, list_experiments
from learning_loop.services.ingest import ingest_metrics
from learning_loop.services.projects import ProjectSettings, create_project
from learning_loop.services.rewards import compute_rewards_for_date
from learning_loop.services.video_jobs import list_videos, publish_job
from learning_loop_tests.factories import metric_row, numbered


@pytest.mark.parametrize("seed", range(6))
def test_the_harm_p_value_is_scipys_one_sided_welch(seed):
    rng = np.random.default_rng(seed)
    baseline = rng.normal(0.5, 0.2, 3 + seed * 4)
    variant = rng.normal(0.5 - 0.05 * seed, 0.1 + 0.05 * seed, 2 + seed * 3)
    expected = stats.ttest_ind(variant, baseline, equal_var=False, alternative="less").pvalue
    assert harm_p_value(baseline, variant) == pytest.approx(expected, rel=1e-9, abs=1e-15)
    # The other way round: a variant above the baseline is far from hurting it.
    flipped = stats.ttest_ind(baseline, variant, equal_var=False, alternative="less").pvalue
    assert harm_p_value(variant, baseline) == pytest.approx(flipped, rel=1e-9, abs=1e-15)


def test_the_harm_p_value_of_small_or_constant_arms():
    assert harm_p_value([0.5], [0.1, 0.2]) is None
    assert harm_p_value([0.5, 0.5], [0.2, 0.2]) == 0.0
    assert harm_p_value([0.5, 0.5], [0.7, 0.7]) == 1.0
    assert harm_p_value([0.5, 0.5], [0.5, 0.5]) == 0.5


def _verdict(winner: str) -> Verdict:
    return Verdict(winner, "significant", 0.4, 0.6, 8, 8, 0.2, 0.1, 0.3, 0.001)


HURT = GuardrailArms(Guardrail.ENGAGEMENT, [0.6, 0.7, 0.8, 0.65], [0.1, 0.2, 0.15, 0.12])


def test_a_hurt_guardrail_holds_the_variants_win_back():
    held = guard(_verdict("variant"), HURT, 0.05)
    assert (held.winner, held.reason, held.guardrail) == ("inconclusive", "guardrail", "engagement")
    assert held.guardrail_p_value == pytest.approx(
        stats.ttest_ind(HURT.variant, HURT.baseline, equal_var=False, alternative="less").pvalue
    )
    assert held.p_value == 0.001 and held.difference == 0.2  # the arms' figures stay
    assert state_text(held.guardrail, held.guardrail_p_value, held.reason).startswith(
        "engagement: hurt, p="
    )


def test_the_guardrail_never_gives_a_win_nor_takes_the_baselines():
    for winner in ("baseline", "inconclusive"):
        kept = guard(_verdict(winner), HURT, 0.05)
        assert (kept.winner, kept.reason, kept.guardrail_p_value) == (winner, "significant", None)
        assert kept.guardrail == "engagement"
    not_hurt = GuardrailArms(Guardrail.VIEWS_6H, HURT.variant, HURT.baseline)
    won = guard(_verdict("variant"), not_hurt, 0.05)
    assert won.winner == "variant" and won.guardrail_p_value is not None
    assert won.guardrail_p_value > 0.5
    off = guard(_verdict("variant"), GuardrailArms(Guardrail.NONE), 0.05)
    assert (off.winner, off.guardrail, off.guardrail_p_value) == ("variant", "none", None)
    assert guard(_verdict("variant"), None, 0.05) == _verdict("variant")
    too_few = GuardrailArms(Guardrail.ENGAGEMENT, [0.9], [0.1])
    assert guard(_verdict("variant"), too_few, 0.05).winner == "variant"


def better_on_reward_worse_on_engagement(db: Database, pid: uuid.UUID) -> dt.date:
    """A planned batch published and measured: the variant arms' videos have the longest views
    and most views at 6 h (the reward's heavier components) and no likes or comments; the
    others the reverse. Returns the date to evaluate."""
    out = planning.plan_and_write(db, pid, 16, [f"t-{i}" for i in range(16)], seed=5)
    now = dt.datetime.now(dt.UTC)
    snaps = []
    for i, job in enumerate(out.jobs):
        published = now + dt.timedelta(seconds=1)
        publish_job(db, pid, job.id, f"ext-{i}", published)
        variant = job.experiment_id is not None
        snaps.append(
            metric_row(
                f"ext-{i}",
                published + dt.timedelta(seconds=30),
                views=1000 + 7 * i,
                views_6h=(900 if variant else 100) + 3 * i,
                avg_view_duration_s=(40 if variant else 10) + 0.1 * i,
                likes=0 if variant else 60 + i,
                comments=0 if variant else 6,
            )
        )
    ingest_metrics(db, pid, numbered(snaps))
    day = (now + dt.timedelta(minutes=1)).date()
    compute_rewards_for_date(db, day)
    return day


def _engagement(db: Database, pid: uuid.UUID) -> dict[uuid.UUID, float]:
    with db.read() as s:
        rows = s.execute(
            select(VideoReward.video_id, VideoReward.pct_engagement).where(
                VideoReward.project_id == pid
            )
        )
        return {vid: float(p) for vid, p in rows}


# scipy warns of the variant arms' equal values (no likes or comments: one percentile).
@pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")
def test_a_variant_that_hurts_engagement_is_not_the_winner(db, cli):
    pid = create_project(db, "guarded", ProjectSettings(min_samples=3, explore_rate=0.5)).id
    day = better_on_reward_worse_on_engagement(db, pid)
    late = day + dt.timedelta(days=40)  # past every deadline: each verdict is due
    result = evaluate_experiments(db, late)
    completed = list_experiments(db, pid, "completed")
    assert completed and len(completed) == result.completed
    held = [e for e in completed if e.reason == "guardrail"]
    assert held, [(e.winner, e.reason) for e in completed]
    assert all(e.winner != "variant" for e in completed)
    pct = _engagement(db, pid)
    videos = list_videos(db, pid)
    for exp in held:
        assert exp.winner == "inconclusive" and exp.guardrail == "engagement"
        variant = [pct[v.id] for v in videos if v.experiment_id == exp.id]
        baseline = [
            pct[v.id]
            for v in videos
            if v.generation_mode == "exploit" and v.recipe_hash == exp.baseline_recipe_hash
        ]
        expected = stats.ttest_ind(variant, baseline, equal_var=False, alternative="less")
        assert exp.guardrail_p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-15)
        assert exp.guardrail_p_value < 0.05
        assert exp.difference is not None and exp.difference > 0  # it won on reward
    decision = next(d for d in result.decisions if d.experiment_id == held[0].id)
    assert decision.reason == "guardrail" and decision.guardrail == "engagement"
    rows = json.loads(cli("learn", "experiments", "--project", str(pid), "--json").out)
    shown = {r["id"]: r for r in rows}[str(held[0].id)]
    assert (shown["winner"], shown["reason"], shown["guardrail"]) == (
        "inconclusive",
        "guardrail",
        "engagement",
    )
    assert shown["guardrail_p_value"] == pytest.approx(held[0].guardrail_p_value)
    table = cli("learn", "experiments", "--project", str(pid)).out
    for words in ("guardrail", "(guardrail)", "engagement:", "hurt,", "p="):  # cells wrap
        assert words in table


def test_without_a_guardrail_the_same_data_gives_the_variant(db):
    settings = ProjectSettings(min_samples=3, explore_rate=0.5, guardrail=Guardrail.NONE)
    pid = create_project(db, "unguarded", settings).id
    day = better_on_reward_worse_on_engagement(db, pid)
    evaluate_experiments(db, day + dt.timedelta(days=40))
    completed = list_experiments(db, pid, "completed")
    assert any(e.winner == "variant" for e in completed), [(e.winner, e.reason) for e in completed]
    assert all(e.guardrail == "none" and e.guardrail_p_value is None for e in completed)
    assert all(e.reason != "guardrail" for e in completed)
