"""`shorts-engine projects`: create, list, configure and show projects."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from learning_loop.cli import collect
from learning_loop.cli.common import JsonOpt, ProjectOpt, database, read_lines
from learning_loop.cli.output import fmt, print_json, print_table
from learning_loop.domain.statuses import ExploitScope, PlannerBackend, Policy

if TYPE_CHECKING:  # the commands import the services when they run (docs/decisions.md)
    from learning_loop.services.projects import SettingsChange
    from learning_loop.services.views import ProjectSettingsView

app = typer.Typer(help="Projects (channels) the loop learns for.", no_args_is_help=True)
app.command("connect-youtube")(collect.connect_youtube)
app.command("disconnect-youtube")(collect.disconnect_youtube)


PolicyOpt = Annotated[
    Policy | None,
    typer.Option("--policy", help="seed (70% exploit / 30% explore, default) or thompson."),
]


PresetsOpt = Annotated[
    str | None,
    typer.Option("--presets", metavar="A,B,C", help="The whole preset catalogue, comma-separated."),
]
WeightsOpt = Annotated[
    str | None,
    typer.Option(
        "--reward-weights",
        metavar="W1,W2,W3",
        help="Weights of avg view duration, views in 6 h and engagement (>= 0, sum 1).",
    ),
]
WindowOpt = Annotated[
    int | None, typer.Option("--window-days", help="Reward and stats window, 1..3650 days.")
]
ExploreOpt = Annotated[
    float | None, typer.Option("--explore-rate", help="Share of explore jobs, 0..1.")
]
TopKOpt = Annotated[int | None, typer.Option("--top-k", help="Recipes exploited, 1..100.")]
MaxRunningOpt = Annotated[
    int | None,
    typer.Option("--max-running-experiments", help="Experiments running at once, 1..100."),
]
MinSamplesOpt = Annotated[
    int | None, typer.Option("--min-samples", help="Videos per arm before a decision, 2..10000.")
]
MaxDaysOpt = Annotated[
    int | None, typer.Option("--max-days", help="Days an experiment may run, 1..3650.")
]
AlphaOpt = Annotated[
    float | None, typer.Option("--alpha", help="Significance level of the test, (0, 0.5].")
]
DefaultRecipeOpt = Annotated[
    str | None,
    typer.Option(
        "--default-recipe",
        metavar="PRESET/HOOK/SCENES/WPM_BUCKET/DENSITY_BUCKET/ENDING",
        help="The recipe planned when there is no history.",
    ),
]
TargetOpt = Annotated[
    float | None, typer.Option("--target-duration-s", help="Target video length, 1..600 s.")
]
PlannerBackendOpt = Annotated[
    PlannerBackend | None,
    typer.Option(
        "--planner-backend",
        help="Who writes the jobs' video plans: template (offline, at planning, default) or "
        "openai (after planning, by video_plans; LEARNING_LOOP_LLM_* settings).",
    ),
]
HalfLifeOpt = Annotated[
    str | None,
    typer.Option(
        "--half-life-days",
        metavar="DAYS|never",
        help="How fast old evidence fades in the recipe estimates: 7..3650 days, or never.",
    ),
]
ExploitScopeOpt = Annotated[
    ExploitScope | None,
    typer.Option(
        "--exploit-scope",
        help="Recipes exploit slots may take: catalogue (every recipe by estimate, default) or "
        "made (only recipes with a rewarded video).",
    ),
]


def _change(
    *,
    presets: str | None,
    reward_weights: str | None,
    window_days: int | None,
    explore_rate: float | None,
    top_k: int | None,
    max_running_experiments: int | None,
    min_samples: int | None,
    max_days: int | None,
    alpha: float | None,
    default_recipe: str | None,
    target_duration_s: float | None,
    policy: Policy | None,
    planner_backend: PlannerBackend | None = None,
    half_life_days: str | None = None,
    exploit_scope: ExploitScope | None = None,
    add_presets: list[str] | None = None,
    remove_presets: list[str] | None = None,
) -> SettingsChange:
    from learning_loop.services.projects import (
        SettingsChange,
        parse_presets,
        parse_recipe,
        parse_weights,
    )

    return SettingsChange(
        presets=parse_presets(presets) if presets is not None else None,
        weights=parse_weights(reward_weights) if reward_weights is not None else None,
        window_days=window_days,
        explore_rate=explore_rate,
        top_k=top_k,
        max_running_experiments=max_running_experiments,
        min_samples=min_samples,
        max_days=max_days,
        alpha=alpha,
        default_recipe=parse_recipe(default_recipe) if default_recipe is not None else None,
        target_duration_s=target_duration_s,
        policy=policy,
        planner_backend=planner_backend,
        half_life_days=half_life_days,
        exploit_scope=exploit_scope,
        add_presets=tuple(add_presets or ()),
        remove_presets=tuple(remove_presets or ()),
    )


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="A unique project name.")],
    policy: PolicyOpt = None,
    presets: PresetsOpt = None,
    reward_weights: WeightsOpt = None,
    window_days: WindowOpt = None,
    explore_rate: ExploreOpt = None,
    top_k: TopKOpt = None,
    max_running_experiments: MaxRunningOpt = None,
    min_samples: MinSamplesOpt = None,
    max_days: MaxDaysOpt = None,
    alpha: AlphaOpt = None,
    default_recipe: DefaultRecipeOpt = None,
    target_duration_s: TargetOpt = None,
    planner_backend: PlannerBackendOpt = None,
    half_life_days: HalfLifeOpt = None,
    exploit_scope: ExploitScopeOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Create a project (contract defaults for every setting not given) and print its id."""
    from learning_loop.services.projects import ProjectSettings, create_project, merge_settings

    change = _change(
        presets=presets,
        reward_weights=reward_weights,
        window_days=window_days,
        explore_rate=explore_rate,
        top_k=top_k,
        max_running_experiments=max_running_experiments,
        min_samples=min_samples,
        max_days=max_days,
        alpha=alpha,
        default_recipe=default_recipe,
        target_duration_s=target_duration_s,
        policy=policy,
        planner_backend=planner_backend,
        half_life_days=half_life_days,
        exploit_scope=exploit_scope,
    )
    settings = merge_settings(ProjectSettings(), change)
    project = create_project(database(), name, settings)
    if json_:
        print_json(project)
    else:
        typer.echo(str(project.id))


@app.command("list")
def list_(json_: JsonOpt = False) -> None:
    """List projects."""
    from learning_loop.services.projects import list_projects

    projects = list_projects(database())
    if json_:
        print_json(projects)
        return
    print_table(
        "Projects",
        ["id", "name", "created", "window", "explore", "presets"],
        [
            (
                p.id,
                p.name,
                p.created_at.strftime("%Y-%m-%d %H:%M"),
                p.window_days,
                p.explore_rate,
                ", ".join(p.presets),
            )
            for p in projects
        ],
    )


@app.command("configure")
def configure(
    project: ProjectOpt,
    policy: PolicyOpt = None,
    presets: PresetsOpt = None,
    add_preset: Annotated[
        list[str] | None,
        typer.Option("--add-preset", help="Add a preset to the catalogue (repeatable)."),
    ] = None,
    remove_preset: Annotated[
        list[str] | None,
        typer.Option("--remove-preset", help="Remove a preset from the catalogue (repeatable)."),
    ] = None,
    reward_weights: WeightsOpt = None,
    window_days: WindowOpt = None,
    explore_rate: ExploreOpt = None,
    top_k: TopKOpt = None,
    max_running_experiments: MaxRunningOpt = None,
    min_samples: MinSamplesOpt = None,
    max_days: MaxDaysOpt = None,
    alpha: AlphaOpt = None,
    default_recipe: DefaultRecipeOpt = None,
    target_duration_s: TargetOpt = None,
    planner_backend: PlannerBackendOpt = None,
    half_life_days: HalfLifeOpt = None,
    exploit_scope: ExploitScopeOpt = None,
    auto_plan: Annotated[
        bool | None,
        typer.Option("--auto-plan/--no-auto-plan", help="Plan a batch every night (02:00 UTC)."),
    ] = None,
    auto_plan_count: Annotated[
        int | None, typer.Option("--auto-plan-count", help="Batch size of the nightly plan.")
    ] = None,
    backlog_file: Annotated[
        Path | None,
        typer.Option("--backlog-file", help="Replace the topic backlog: one topic per line."),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Change any of a project's settings and its nightly auto-planning."""
    from learning_loop.services.projects import configure_project

    change = _change(
        presets=presets,
        reward_weights=reward_weights,
        window_days=window_days,
        explore_rate=explore_rate,
        top_k=top_k,
        max_running_experiments=max_running_experiments,
        min_samples=min_samples,
        max_days=max_days,
        alpha=alpha,
        default_recipe=default_recipe,
        target_duration_s=target_duration_s,
        policy=policy,
        planner_backend=planner_backend,
        half_life_days=half_life_days,
        exploit_scope=exploit_scope,
        add_presets=add_preset,
        remove_presets=remove_preset,
    )
    backlog = read_lines(backlog_file, "backlog_file") if backlog_file else None
    p = configure_project(
        database(),
        project,
        change=change,
        auto_plan=auto_plan,
        auto_plan_count=auto_plan_count,
        topic_backlog=backlog,
    )
    if json_:
        print_json(p)
    else:
        typer.echo(
            f"project {p.name}: policy {p.policy}, auto-plan "
            f"{'on' if p.auto_plan else 'off'} ({p.auto_plan_count} a night), "
            f"{len(p.topic_backlog)} topic(s) in the backlog"
        )


def recipe_text(view: ProjectSettingsView) -> str:
    r = view.default_recipe
    return "/".join(
        str(v)
        for v in (
            r.preset,
            r.hook_type,
            r.scene_count,
            r.narration_wpm_bucket,
            r.caption_density_bucket,
            r.ending_type,
        )
    )


@app.command("show")
def show(project: ProjectOpt, json_: JsonOpt = False) -> None:
    """Print every setting of a project and the recorded changes."""
    from learning_loop.services.projects import show_settings

    v = show_settings(database(), project)
    if json_:
        print_json(v)
        return
    w = v.reward_weights
    rows: list[tuple[str, object]] = [
        ("id", v.id),
        ("name", v.name),
        ("presets", ", ".join(v.presets)),
        ("reward_weights", f"{w.avg_view_duration:g},{w.views_6h:g},{w.engagement:g}"),
        ("window_days", v.window_days),
        ("explore_rate", f"{v.explore_rate:g}"),
        ("top_k", v.top_k),
        ("max_running_experiments", v.max_running_experiments),
        ("min_samples", v.min_samples),
        ("max_days", v.max_days),
        ("alpha", f"{v.alpha:g}"),
        ("default_recipe", recipe_text(v)),
        ("target_duration_s", f"{v.target_duration_s:g}"),
        ("policy", v.policy.value),
        ("planner_backend", v.planner_backend.value),
        ("half_life_days", "never" if v.half_life_days is None else v.half_life_days),
        ("exploit_scope", v.exploit_scope.value),
        ("auto_plan", "on" if v.auto_plan else "off"),
        ("auto_plan_count", v.auto_plan_count),
        ("youtube", collect.connection_text(v.connection)),
    ]
    print_table(f"Project {v.name}", ["setting", "value"], rows)
    print_table(
        "Changes",
        ["when (UTC)", "setting", "old", "new"],
        [
            (
                c.changed_at.strftime("%Y-%m-%d %H:%M:%S"),
                c.setting,
                _value(c.old_value),
                _value(c.new_value),
            )
            for c in v.changes
        ],
    )


def _value(value: object) -> str:
    if isinstance(value, dict):
        return (
            "/".join(str(x) for x in value.values())
            if "preset" in value
            else ",".join(fmt(x) for x in value.values())
        )
    if isinstance(value, list):
        return ",".join(str(x) for x in value)
    return f"{value:g}" if isinstance(value, float) else fmt(value)
