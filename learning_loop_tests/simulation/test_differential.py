"""The simulator runs the product's rules: its loop and the real loop (database, Dagster runs,
as the demo drives them) make the same choices, day after day, on a small channel, and reach the
same verdicts: with `min_samples` 2 experiments reach their final look within the days, and the
channel's weekday pull makes that look judge on the contrast adjusted for the publication time."""

from __future__ import annotations

from learning_loop.cli import common
from learning_loop.domain.batch import PlannerSettings
from learning_loop.domain.experiments import RULE_FIXED_LOOK, RULE_POOLED_FINAL
from learning_loop.domain.recipe import Recipe
from learning_loop.services.experiments import list_experiments
from learning_loop.services.ingest import ingest_metrics
from learning_loop.services.projects import ProjectSettings, create_project
from learning_loop.services.runs import (
    evaluate_experiments_spec,
    run_plan_request,
    update_stats_spec,
)
from learning_loop.services.video_jobs import publish_job
from learning_loop.simulation import ChannelConfig, SimulatedChannel
from learning_loop.simulation.channel import METRIC_NAMES
from learning_loop.simulation.loop import Loop, LoopSettings, learn_day, moment

DAYS = 8
PER_DAY = 5
MIN_SAMPLES = 2


def test_the_simulator_and_the_real_loop_choose_the_same_recipes(cli_env):
    channel = SimulatedChannel(ChannelConfig(seed=5, weekday_sd=0.6))
    recipes = channel.all_recipes()
    settings = LoopSettings(planner=PlannerSettings(min_samples=MIN_SAMPLES))
    loop = Loop(channel, recipes, "seed", seed=5, days=DAYS, per_day=PER_DAY, settings=settings)
    seeds: list[int] = []
    draw = loop.next_plan_seed

    def recorded() -> int:
        seeds.append(draw())
        return seeds[-1]

    loop.next_plan_seed = recorded  # type: ignore[method-assign]
    db, launcher = common.database(), common.launcher()
    pid = create_project(db, "differential", ProjectSettings(min_samples=MIN_SAMPLES)).id
    exploited: set[Recipe] = set()
    for day in range(DAYS):
        start = loop.count
        plan = loop.plan_and_publish(day)
        # Planned when the simulator plans, published when it publishes.
        morning = moment(int(loop.created[start]))
        date = morning.date()
        request, info = run_plan_request(
            db, launcher, pid, PER_DAY, None, seeds[-1], source="demo", planned_at=morning
        )
        assert info.success and request.jobs is not None, info.error
        real = [
            (job.generation_mode.value, Recipe.from_dict(job.recipe.model_dump()))
            for job in request.jobs
            if job.recipe is not None
        ]
        simulated = [(r.type, r.recipe) for r in plan.recommendations]
        assert real == simulated, day
        exploited.update(r for kind, r in real if kind == "exploit")
        # The same experiments, fed alike.
        found = {e.id: e for e in list_experiments(db, pid)}
        for k, job in enumerate(request.jobs):
            number = int(loop.experiment_of[start + k])
            if number < 0:
                assert job.experiment_id is None, day
                continue
            mine = loop.experiments[number]
            theirs = found[job.experiment_id]
            assert (
                recipes[mine.baseline].recipe_hash,
                mine.variable_tested,
                mine.variant_value,
            ) == (theirs.baseline_recipe_hash, theirs.variable_tested, theirs.variant_value)
        # Measured at 11 pm with the simulator's own metrics.
        rows = []
        for k, job in enumerate(request.jobs):
            i = start + k
            at = moment(int(loop.published[i]))
            external_id = f"d{day}-{k}"
            publish_job(db, pid, job.id, external_id, at)
            row = {name: loop.metrics[name][i].item() for name in METRIC_NAMES}
            rows.append(
                {
                    "external_id": external_id,
                    "captured_at": at.replace(hour=23).isoformat(),
                    **row,
                }
            )
        ingest_metrics(db, pid, list(enumerate(rows, start=1)))
        for spec in (
            update_stats_spec(db, pid, date, 30),
            evaluate_experiments_spec(db, pid, date),
        ):
            assert launcher.run(spec).success
        learn_day([loop], day)
    # The same verdicts, by the same rule (the arms', or the pooled evidence's).
    verdicts = {
        (e.baseline_recipe_hash, e.variable_tested, e.variant_value): (
            e.winner,
            e.decision_rule,
            None if e.pooled_difference is None else round(e.pooled_difference, 9),
        )
        for e in list_experiments(db, pid)
    }
    assert verdicts == {
        (recipes[e.baseline].recipe_hash, e.variable_tested, e.variant_value): (
            e.winner,
            e.rule,
            None if e.pooled_difference is None else round(e.pooled_difference, 9),
        )
        for e in loop.experiments
    }
    final = [v for v in verdicts.values() if v[1] in (RULE_FIXED_LOOK, RULE_POOLED_FINAL)]
    assert final and all(v[2] is not None for v in final)
    # Both learnt: exploit moved off the default recipe, and experiments were opened.
    assert len(seeds) == DAYS and len(verdicts) >= 2 and len(exploited) > 1
