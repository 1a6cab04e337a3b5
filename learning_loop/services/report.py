"""The project report: what the loop learned, as a self-contained HTML page."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from html import escape
from typing import Any

from sqlalchemy import select

from learning_loop.db.engine import Database
from learning_loop.db.models import PlannedBatch, VideoJob
from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.db.queries import current_rewards
from learning_loop.reporting.svg import interval_chart, line_chart, stacked_bars
from learning_loop.services.experiments import experiment_views
from learning_loop.services.projects import get_project

LEADERBOARD_ROWS = 15

# After load, count the charts that drew something; the browser test reads these attributes.
RENDER_CHECK = """
<script>
window.addEventListener("load", function () {
  var charts = document.querySelectorAll("svg.chart");
  var drawn = 0;
  charts.forEach(function (svg) {
    var marks = svg.querySelectorAll(".mark");
    var box = svg.getBoundingClientRect();
    if (marks.length > 0 && box.width > 0 && box.height > 0) { drawn += 1; }
  });
  document.body.setAttribute("data-charts-total", String(charts.length));
  document.body.setAttribute("data-charts-rendered", String(drawn));
});
</script>
"""

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 820px; color: #222; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
.sub { color: #666; margin-top: 0; }
.cards { display: flex; gap: 1rem; flex-wrap: wrap; }
.card { border: 1px solid #ddd; border-radius: 8px; padding: 0.6rem 1rem; min-width: 130px; }
.card b { display: block; font-size: 1.4rem; }
p.note { color: #555; font-size: 0.92rem; }
"""


def _label(r: RecipeRow) -> str:
    preset = "".join(word[0] for word in r.preset.split("_") if word)
    return (
        f"{preset} · {r.hook_type} · {r.scene_count} · {r.narration_wpm_bucket} · "
        f"{r.caption_density_bucket} · {r.ending_type}"
    )


def _interval(values: list[float]) -> tuple[float, float, float]:
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, mean, mean
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    half = 1.96 * sd / math.sqrt(len(values))
    return mean, mean - half, mean + half


def report_data(db: Database, project_id: Any) -> dict[str, Any]:
    with db.read() as session:
        project = get_project(session, project_id)
        current = current_rewards(db.dialect, None, [project.id])
        videos = session.execute(
            select(
                VideoJob.generation_mode,
                VideoJob.published_at,
                VideoJob.recipe_id,
                current.c.reward,
            )
            .join(current, current.c.video_id == VideoJob.id)
            .where(VideoJob.project_id == project.id)
        ).all()
        recipes = {
            r.id: r
            for r in session.scalars(select(RecipeRow).where(RecipeRow.project_id == project.id))
        }
        batches = list(
            session.scalars(
                select(PlannedBatch)
                .where(PlannedBatch.project_id == project.id)
                .order_by(PlannedBatch.created_at, PlannedBatch.id)
            )
        )
        experiments = experiment_views(session, project.id)
        name = project.name
    daily: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    by_recipe: dict[Any, list[float]] = defaultdict(list)
    for mode, published_at, recipe_id, reward in videos:
        if published_at is not None:
            daily[published_at.date().isoformat()][mode].append(reward)
        if recipe_id is not None:
            by_recipe[recipe_id].append(reward)
    days = sorted(daily)
    leaderboard = sorted(
        ((recipes[rid], *_interval(vals), len(vals)) for rid, vals in by_recipe.items()),
        key=lambda row: (-row[1], row[0].recipe_hash),
    )[:LEADERBOARD_ROWS]
    return {
        "project": name,
        "generated_at": dt.datetime.now(dt.UTC),
        "videos_rewarded": len(videos),
        "days": days,
        "daily": {
            mode: [
                (sum(daily[d][mode]) / len(daily[d][mode])) if daily[d][mode] else None
                for d in days
            ]
            for mode in ("exploit", "explore", "manual")
            if any(daily[d][mode] for d in days)
        },
        "leaderboard": [
            (f"{_label(r)} (n={n})", mean, lo, hi) for r, mean, lo, hi, n in leaderboard
        ],
        "experiments": [
            (
                f"{e.variable_tested}: {e.baseline_value} → {e.variant_value} ({e.winner})",
                e.difference,
                e.ci_low,
                e.ci_high,
            )
            for e in experiments
            if e.status == "completed" and e.difference is not None and e.ci_low is not None
        ],
        "running": sum(1 for e in experiments if e.status == "running"),
        "completed": sum(1 for e in experiments if e.status == "completed"),
        "batches": [(b.batch_date.isoformat(), b.exploit_count, b.explore_count) for b in batches],
    }


def render_report(data: dict[str, Any]) -> str:
    batches = data["batches"]
    cards = [
        ("videos with a reward", data["videos_rewarded"]),
        ("batches planned", len(batches)),
        ("experiments running", data["running"]),
        ("experiments decided", data["completed"]),
    ]
    charts = [
        (
            "Average reward per day",
            "By publication day: exploit (proven recipes) against explore "
            "(one-variable variations).",
            line_chart("reward-per-day", "Average reward per day", data["days"], data["daily"]),
        ),
        (
            "Recipe leaderboard",
            "Mean current reward per recipe with its 95% confidence "
            "interval (normal approximation).",
            interval_chart(
                "leaderboard",
                "Recipe leaderboard",
                data["leaderboard"],
                (0.0, 1.0),
                empty="No recipe has a reward yet.",
            ),
        ),
        (
            "Experiments",
            "Difference of mean reward, variant minus baseline, with its 95% "
            "Welch interval; an interval clear of zero is a significant verdict.",
            interval_chart(
                "experiments",
                "Experiments",
                data["experiments"],
                zero_line=True,
                empty="No experiment has a verdict yet.",
            ),
        ),
        (
            "Explore / exploit mix per batch",
            "Jobs planned per batch by mode.",
            stacked_bars(
                "mix",
                "Explore / exploit mix",
                [b[0] for b in batches],
                {"exploit": [b[1] for b in batches], "explore": [b[2] for b in batches]},
            ),
        ),
    ]
    body = [
        f"<h1>Learning Loop: {escape(data['project'])}</h1>",
        f'<p class="sub">Generated {data["generated_at"]:%Y-%m-%d %H:%M} UTC</p>',
        '<div class="cards">'
        + "".join(f'<div class="card"><b>{v}</b>{escape(k)}</div>' for k, v in cards)
        + "</div>",
    ]
    for title, note, svg in charts:
        body.append(f'<h2>{escape(title)}</h2><p class="note">{escape(note)}</p>{svg}')
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Learning Loop report: {escape(data['project'])}</title>"
        f"<style>{STYLE}</style></head><body>{''.join(body)}{RENDER_CHECK}</body></html>"
    )


def project_report(db: Database, project_id: Any) -> str:
    return render_report(report_data(db, project_id))
