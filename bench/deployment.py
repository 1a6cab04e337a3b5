"""The synthetic deployment the benchmarks load: its rows, how they are written, its databases.

`deployment_frames` builds every table's rows with numpy (projects, recipes, 150 published videos
per project over the 30 days before `AS_OF`, two metric snapshots per video at +6 h and +72 h, a
running experiment per project); `load` writes them into a database whose schema is current;
`fresh_database` and `drop_database` give each benchmark a database of its own.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from learning_loop.db.engine import make_engine
from learning_loop.domain.recipe import DEFAULT_PRESETS, RECIPE_FIELDS, Recipe, field_values

AS_OF = dt.date(2026, 10, 30)
PG_SERVER = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
RECIPES_PER_PROJECT = 20
VIDEOS_PER_PROJECT = 150
GENERATION_MODES = ("exploit", "explore", "manual")
GENERATION_WEIGHTS = (0.6, 0.25, 0.15)
SNAPSHOT_HOURS = (6, 72)


# ---------------------------------------------------------------------------------------------
# The synthetic deployment


def _all_recipes() -> list[Recipe]:
    values = [field_values(f, DEFAULT_PRESETS) for f in RECIPE_FIELDS]
    grid = np.array(np.meshgrid(*[np.arange(len(v)) for v in values], indexing="ij"))
    combos = grid.reshape(len(values), -1).T
    return [Recipe(*(values[i][c] for i, c in enumerate(combo))) for combo in combos]


def _uuid_hex(rng: np.random.Generator, n: int) -> list[uuid.UUID]:
    raw = rng.bytes(16 * n)
    return [uuid.UUID(bytes=raw[16 * i : 16 * i + 16], version=4) for i in range(n)]


def snapshot_frame(
    rng: np.random.Generator,
    project_ids: Sequence[Any] | pd.Series,
    video_ids: Sequence[uuid.UUID],
    published: Any,
    first_id: int,
) -> pd.DataFrame:
    """The videos' metric snapshots, one per `SNAPSHOT_HOURS` after publication, with ids from
    `first_id` on (`published`: the videos' publication times, datetime64)."""
    n = len(video_ids)
    snaps = []
    quality = rng.normal(0, 0.3, n)
    for i, hours in enumerate(SNAPSHOT_HOURS):
        views = np.floor(np.exp(8 + quality + rng.normal(0, 0.8, n)) * (hours / 72) ** 0.3)
        snaps.append(
            pd.DataFrame(
                {
                    "id": np.arange(i * n, (i + 1) * n) + first_id,
                    "project_id": project_ids,
                    "video_id": video_ids,
                    "captured_at": published + pd.Timedelta(hours=hours),
                    "views": views.astype(np.int64),
                    "views_6h": np.floor(views * 0.3).astype(np.int64),
                    "avg_view_duration_s": np.round(45 / (1 + np.exp(-quality)), 2),
                    "likes": np.floor(views * 0.04).astype(np.int64),
                    "comments": np.floor(views * 0.004).astype(np.int64),
                }
            )
        )
    return pd.concat(snaps, ignore_index=True)


def deployment_frames(projects: int, seed: int = 1) -> dict[str, pd.DataFrame]:
    """Every table's rows, built with numpy: the shapes the services would write."""
    rng = np.random.default_rng(seed)
    catalogue = _all_recipes()
    hashes = [r.recipe_hash for r in catalogue]
    now = dt.datetime(2026, 10, 1, tzinfo=dt.UTC).replace(tzinfo=None)
    project_ids = _uuid_hex(rng, projects)
    default = json.dumps(catalogue[0].to_dict())
    presets = json.dumps(list(DEFAULT_PRESETS))
    frames: dict[str, pd.DataFrame] = {}
    frames["projects"] = pd.DataFrame(
        {
            "id": project_ids,
            "name": [f"bench-{i}" for i in range(projects)],
            "created_at": now,
            "weight_avg_view_duration": 0.5,
            "weight_views_6h": 0.3,
            "weight_engagement": 0.2,
            "window_days": 30,
            "explore_rate": 0.3,
            "top_k": 3,
            "max_running_experiments": 3,
            "min_samples": 8,
            "max_days": 28,
            "alpha": 0.05,
            "default_recipe": default,
            "presets": presets,
            "target_duration_s": 45.0,
            "policy": "seed",
            "auto_plan": False,
            "auto_plan_count": 5,
            "topic_backlog": "[]",
        }
    )
    n_recipes = projects * RECIPES_PER_PROJECT
    recipe_ids = _uuid_hex(rng, n_recipes)
    picks = np.concatenate(
        [rng.choice(len(catalogue), RECIPES_PER_PROJECT, replace=False) for _ in range(projects)]
    )
    recipe_project = np.repeat(np.arange(projects), RECIPES_PER_PROJECT)
    recipe_rows = {f: [getattr(catalogue[k], f) for k in picks] for f in RECIPE_FIELDS}
    frames["recipes"] = pd.DataFrame(
        {
            "id": recipe_ids,
            "project_id": [project_ids[p] for p in recipe_project],
            **recipe_rows,
            "recipe_hash": [hashes[k] for k in picks],
            "times_used": 0,  # counted below, once the videos are drawn
            "avg_reward_score": None,
            "best_reward_score": None,
            "rewarded_videos": 0,
            "stats_as_of": None,
            "created_at": now,
        }
    )
    n_videos = projects * VIDEOS_PER_PROJECT
    video_ids = _uuid_hex(rng, n_videos)
    video_project = np.repeat(np.arange(projects), VIDEOS_PER_PROJECT)
    recipe_slot = rng.integers(0, RECIPES_PER_PROJECT, n_videos)
    video_recipe = video_project * RECIPES_PER_PROJECT + recipe_slot
    window_start = dt.datetime.combine(AS_OF - dt.timedelta(days=29), dt.time())
    published = window_start + pd.to_timedelta(
        rng.integers(0, 30 * 86400 - 4 * 3600, n_videos), "s"
    )
    modes = rng.choice(np.array(GENERATION_MODES), n_videos, p=list(GENERATION_WEIGHTS))
    experiment_ids = _uuid_hex(rng, projects)
    # The first 8 explore videos of each project belong to its running experiment.
    explore_rank = pd.Series(modes == "explore").groupby(video_project).cumsum().to_numpy()
    linked = (modes == "explore") & (explore_rank <= 8)
    frames["video_jobs"] = pd.DataFrame(
        {
            "id": video_ids,
            "project_id": [project_ids[p] for p in video_project],
            "recipe_id": [recipe_ids[r] for r in video_recipe],
            "recipe_hash": [hashes[picks[r]] for r in video_recipe],
            "experiment_id": [
                experiment_ids[p] if link else None
                for p, link in zip(video_project, linked, strict=True)
            ],
            "generation_mode": modes,
            "batch_id": None,
            "batch_position": None,
            "topic": None,
            "topic_hash": None,
            "status": "published",
            "external_id": [f"x{i}" for i in range(n_videos)],
            "published_at": published,
            "created_at": published,
        }
    )
    # What the product keeps in `recipes.times_used`: the video jobs ever made with it.
    frames["recipes"]["times_used"] = np.bincount(video_recipe, minlength=n_recipes)
    frames["experiments"] = pd.DataFrame(
        {
            "id": experiment_ids,
            "project_id": project_ids,
            "baseline_recipe_id": [recipe_ids[p * RECIPES_PER_PROJECT] for p in range(projects)],
            "variant_recipe_id": [recipe_ids[p * RECIPES_PER_PROJECT + 1] for p in range(projects)],
            "variable_tested": "hook_type",
            "baseline_value": "question",
            "variant_value": "story",
            "status": "running",
            "started_at": window_start,
        }
    )
    frames["metric_snapshots"] = snapshot_frame(
        rng, frames["video_jobs"]["project_id"], video_ids, published, first_id=1
    )
    return frames


def _sqlite_column(series: pd.Series) -> list[Any]:
    """Values as SQLAlchemy stores them in SQLite: UUIDs as hex, datetimes as text."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return list(series.dt.strftime("%Y-%m-%d %H:%M:%S.%f"))
    if pd.api.types.is_bool_dtype(series):
        return [int(v) for v in series]
    if pd.api.types.is_integer_dtype(series) or pd.api.types.is_float_dtype(series):
        return series.tolist()
    return [
        v.hex if isinstance(v, uuid.UUID) else (None if v is None or v != v else v) for v in series
    ]


LOAD_ORDER = ("projects", "recipes", "experiments", "video_jobs", "metric_snapshots")


def insert_frames(
    engine: Engine, frames: dict[str, pd.DataFrame], tables: Sequence[str], *, analyze: bool
) -> None:
    """Append the frames of `tables`, in that order, in one transaction: COPY on PostgreSQL,
    one executemany INSERT per table on SQLite. `analyze` refreshes the planner's statistics."""
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            for table in tables:
                frame = frames[table]
                if frame.empty:
                    continue
                buf = io.StringIO()
                frame.to_csv(buf, index=False, header=False, na_rep="\\N")
                buf.seek(0)
                cols = ", ".join(frame.columns)
                cur.copy_expert(
                    f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buf
                )
            raw.commit()
            if analyze:
                cur.execute("ANALYZE")
                raw.commit()
        finally:
            raw.close()
    else:
        with engine.begin() as conn:
            for table in tables:
                frame = frames[table]
                if frame.empty:
                    continue
                columns = [_sqlite_column(frame[c]) for c in frame.columns]
                rows = list(zip(*columns, strict=True))
                marks = ", ".join("?" for _ in frame.columns)
                conn.exec_driver_sql(
                    f"INSERT INTO {table} ({', '.join(frame.columns)}) VALUES ({marks})", rows
                )
            if analyze:
                conn.exec_driver_sql("ANALYZE")


def load(url: str, frames: dict[str, pd.DataFrame]) -> None:
    engine = make_engine(url)
    insert_frames(engine, frames, LOAD_ORDER, analyze=True)
    engine.dispose()


# ---------------------------------------------------------------------------------------------
# Databases


def fresh_database(kind: str, workdir: Path, name: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / (name + '.db')}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)


def drop_database(kind: str, url: str) -> None:
    if kind != "postgresql":
        return
    name = make_url(url).database
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
