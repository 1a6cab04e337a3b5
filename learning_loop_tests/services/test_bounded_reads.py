"""A page of recipes and a preview read as much from a 20,000-video project as from a small one.

A preview fits the model from the project's stored evidence summary: one row, whatever the
videos and recipes behind it.

The project is written with bulk inserts (its shape is what imports, stats and planning make:
scored recipes, published videos with topics and current rewards, running experiments with
their jobs). Each read is measured by the statements it issues and by the work the database
does for them: on PostgreSQL the rows every plan node handled (`EXPLAIN ANALYZE` of each
statement), on SQLite the virtual machine's instructions (a progress handler). A regression to
a whole-project load makes the large project's figures grow with its size and fails here.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, insert, text

from learning_loop.db.engine import Database, make_engine
from learning_loop.db.models import Experiment, VideoJob, VideoReward
from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.db.reward_history import ensure_partition, register_date
from learning_loop.domain.recipe import ENDING_TYPES, HOOK_TYPES, SCENE_COUNTS, Recipe
from learning_loop.domain.topics import topic_hash
from learning_loop.services import planning, recipes
from learning_loop.services.projects import ProjectSettings, create_project

DAY = dt.date(2026, 9, 1)
PRESETS = ("DARK_DYSTOPIAN_ANIME", "VIBRANT_MOTION_GRAPHICS")
SMALL = (150, 120)  # videos, recipes
LARGE = (20_000, 2_000)
TOPICS = [f"Topic {i}" for i in (3, 41, 97, 120, 133, 149, 7000, 19_999)]


def _recipes(count: int) -> list[Recipe]:
    buckets = ("slow", "medium", "fast"), ("sparse", "medium", "dense")
    combos = itertools.product(PRESETS, HOOK_TYPES, SCENE_COUNTS, *buckets, ENDING_TYPES)
    return [Recipe(*c) for c in itertools.islice(combos, count)]


def _build(db: Database, videos: int, recipe_count: int) -> uuid.UUID:
    """A project of `videos` published videos over `recipe_count` scored recipes."""
    pid = create_project(db, f"p{videos}", ProjectSettings(presets=list(PRESETS))).id
    now = dt.datetime(2026, 9, 1, 12, tzinfo=dt.UTC)
    pool = _recipes(recipe_count)
    recipe_rows = [
        {
            "id": uuid.uuid4(),
            "project_id": pid,
            **r.to_dict(),
            "recipe_hash": r.recipe_hash,
            "times_used": 1 + i % 7,
            "avg_reward_score": (i * 7919 % 1000) / 1000,
            "best_reward_score": 1.0,
            "rewarded_videos": 1 + i % 7,
            "stats_as_of": DAY,
            "created_at": now,
        }
        for i, r in enumerate(pool)
    ]
    jobs, rewards = [], []
    for i in range(videos):
        recipe = recipe_rows[i % recipe_count]
        vid = uuid.uuid4()
        jobs.append(
            {
                "id": vid,
                "project_id": pid,
                "recipe_id": recipe["id"],
                "recipe_hash": recipe["recipe_hash"],
                "generation_mode": "manual",
                "external_id": f"yt_{i}",
                "topic": f"Topic {i}",
                "topic_hash": topic_hash(f"Topic {i}"),
                "status": "published",
                "published_at": now - dt.timedelta(minutes=i),
                "created_at": now - dt.timedelta(minutes=i),
            }
        )
        rewards.append(
            {
                "video_id": vid,
                "reward_date": DAY,
                "project_id": pid,
                "recipe_id": recipe["id"],
                "engagement": 0.05,
                "pct_avg_view_duration": 0.5,
                "pct_views_6h": 0.5,
                "pct_engagement": 0.5,
                "reward": 0.5,
                "window_size": videos,
            }
        )
    experiments = [
        {
            "id": uuid.uuid4(),
            "project_id": pid,
            "baseline_recipe_id": recipe_rows[k]["id"],
            "variant_recipe_id": recipe_rows[k + 1]["id"],
            "variable_tested": "ending_type",
            "baseline_value": recipe_rows[k]["ending_type"],
            "variant_value": recipe_rows[k + 1]["ending_type"],
            "status": "running",
            "started_at": now,
        }
        for k in (0, 2)
    ]
    with db.transaction() as session:
        session.execute(insert(RecipeRow), recipe_rows)
        session.execute(insert(Experiment), experiments)
        for part in range(0, len(jobs), 5000):
            session.execute(insert(VideoJob), jobs[part : part + 5000])
    if db.dialect == "postgresql":
        ensure_partition(db, DAY)
    with db.transaction() as session:
        register_date(session, DAY, now)
        for part in range(0, len(rewards), 5000):
            session.execute(insert(VideoReward), rewards[part : part + 5000])
    # What the daily stats run leaves: every recipe's estimate, the project's evidence summary.
    recipes.compute_recipe_stats(db, DAY, None, [pid])
    if db.dialect == "postgresql":
        with db.transaction() as session:
            session.execute(text("ANALYZE"))
    return pid


@dataclass
class Work:
    counting: bool = False
    statements: int = 0
    units: int = 0  # PostgreSQL: rows handled by plan nodes; SQLite: VM instructions / 100
    log: list[str] = field(default_factory=list)


def _plan_rows(plan: dict[str, Any]) -> int:
    rows = int(plan.get("Actual Rows", 0)) * int(plan.get("Actual Loops", 1))
    return rows + sum(_plan_rows(child) for child in plan.get("Plans", []))


def _count(url: str, run: Callable[[Database], object]) -> Work:
    """The statements `run` issues on a Database of its own, and the database's work for them
    (the second call: the first opens the connection and fills the caches)."""
    engine = make_engine(url)
    work = Work()
    if engine.dialect.name == "sqlite":

        def tick() -> int:
            work.units += work.counting
            return 0  # go on

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.set_progress_handler(tick, 100)

    @event.listens_for(engine, "before_cursor_execute")
    def _before(_conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if not work.counting or not statement.lstrip().upper().startswith("SELECT"):
            return
        work.statements += 1
        work.log.append(" ".join(statement.split())[:160])
        if engine.dialect.name == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params)
            (plan,) = cursor.fetchone()[0]
            work.units += _plan_rows(plan["Plan"])

    db = Database(engine)
    try:
        run(db)
        work.counting = True
        run(db)
        work.counting = False
    finally:
        db.dispose()
    return work


def _reads(database_url: str) -> dict[str, dict[str, Work]]:
    setup = Database(make_engine(database_url))
    try:
        small = _build(setup, *SMALL)
        large = _build(setup, *LARGE)
    finally:
        setup.dispose()
    out: dict[str, dict[str, Work]] = {}
    for name, pid in (("small", small), ("large", large)):
        out[name] = {
            "recipes": _count(database_url, lambda db, p=pid: recipes.list_recipes(db, p, 101)),
            "preview": _count(
                database_url, lambda db, p=pid: planning.preview(db, p, 5, TOPICS, seed=1)
            ),
        }
    return out


def test_a_page_and_a_preview_cost_the_same_for_150_and_20000_videos(database_url: str) -> None:
    reads = _reads(database_url)
    detail = json.dumps(
        {
            size: {what: [w.statements, w.units] for what, w in works.items()}
            for size, works in reads.items()
        }
    )
    for what in ("recipes", "preview"):
        small, large = reads["small"][what], reads["large"][what]
        # The same statements whatever the size, and only a few.
        assert large.statements == small.statements <= 8, (what, large.log, detail)
        # The database's work: bounded, not growing with the 20,000 videos or 2,000 recipes.
        if database_url.startswith("postgresql"):
            assert large.units <= 600, (what, detail)
        else:
            assert large.units <= 2 * small.units + 50, (what, detail)


def test_the_bound_would_catch_a_whole_project_load(database_url: str) -> None:
    """The measure itself: reading every recipe of the large project shows as large work."""
    setup = Database(make_engine(database_url))
    try:
        large = _build(setup, *LARGE)
    finally:
        setup.dispose()
    page = _count(database_url, lambda db: recipes.list_recipes(db, large, 101))
    whole = _count(database_url, lambda db: recipes.list_recipes(db, large))
    assert whole.units > 5 * page.units
    if database_url.startswith("postgresql"):
        assert whole.units >= LARGE[1]
