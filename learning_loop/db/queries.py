"""Queries shared by the services: recipes get-or-create, chunks, per-date and per-project
locks."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Row, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from learning_loop.db.engine import Database
from learning_loop.db.models import Recipe as RecipeRow
from learning_loop.domain.recipe import Recipe

# An experiment's two recipes, aliased once: building aliases per query costs CPU per request.
BASELINE_RECIPE = aliased(RecipeRow, name="baseline_recipe")
VARIANT_RECIPE = aliased(RecipeRow, name="variant_recipe")


# Options of a bulk UPDATE or DELETE through a Session: the session is not synchronized with
# the rows touched. Otherwise SQLAlchemy fetches every touched row's key (RETURNING) to update
# objects that no bulk statement's caller holds: it took most of the recipe-stats step.
BULK: dict[str, Any] = {"execution_options": {"synchronize_session": False}}


def dialect_insert(session: Session, table: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def ensure_recipes(
    session: Session, project_id: uuid.UUID, recipes: Iterable[Recipe]
) -> dict[str, RecipeRow]:
    """The project's rows for these recipes, creating the missing ones.

    ON CONFLICT DO NOTHING lets two writers add the same recipe at once without either failing.
    """
    wanted = {r.recipe_hash: r for r in recipes}
    if not wanted:
        return {}
    rows = [
        {
            "id": uuid.uuid4(),
            "project_id": project_id,
            "recipe_hash": h,
            "times_used": 0,
            "rewarded_videos": 0,
            "created_at": dt.datetime.now(dt.UTC),
            **r.to_dict(),
        }
        for h, r in wanted.items()
    ]
    existing = set(
        session.scalars(
            select(RecipeRow.recipe_hash).where(
                RecipeRow.project_id == project_id, RecipeRow.recipe_hash.in_(list(wanted))
            )
        )
    )
    missing = [row for row in rows if row["recipe_hash"] not in existing]
    if missing:
        stmt = dialect_insert(session, RecipeRow.__table__).on_conflict_do_nothing(
            index_elements=["project_id", "recipe_hash"]
        )
        session.execute(stmt, missing)
    found = session.scalars(
        select(RecipeRow).where(
            RecipeRow.project_id == project_id, RecipeRow.recipe_hash.in_(list(wanted))
        )
    )
    return {row.recipe_hash: row for row in found}


def recipe_of(row: RecipeRow | Row[Any]) -> Recipe:
    """The domain recipe of a `recipes` row (an ORM object or a row holding its six fields)."""
    return Recipe(
        row.preset,
        row.hook_type,
        row.scene_count,
        row.narration_wpm_bucket,
        row.caption_density_bucket,
        row.ending_type,
    )


def chunks(items: Sequence[Any], size: int = 5000) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# Lock classes of `lock_date`: one per derived table that a daily run rewrites whole.
REWARDS_LOCK = 1
RECIPE_STATS_LOCK = 2


def lock_date(session: Session, lock_class: int, day: dt.date) -> None:
    """Queue the writers of one date's rows of one table until this transaction ends.

    A run deletes a date's rows and inserts them again; two such transactions at once on
    PostgreSQL would both insert (READ COMMITTED), one failing on the unique key or leaving
    twice the rows. SQLite needs nothing: a writer holds the database's lock from BEGIN.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:c, :d)"), {"c": lock_class, "d": day.toordinal()}
        )


# Lock classes of `lock_project`: one per kind of writer that queues within a project.
IMPORTS_LOCK = 3
PLANNING_LOCK = 4


def lock_project(session: Session, lock_class: int, project_id: uuid.UUID) -> None:
    """Queue the writers of one kind (`lock_class`) in one project until this transaction
    ends. The key is 31 bits of the project id: two projects that share one merely wait for
    each other. SQLite needs nothing (see `lock_date`)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:c, :k)"),
            {"c": lock_class, "k": project_id.int & 0x7FFFFFFF},
        )


def lock_project_imports(session: Session, project_id: uuid.UUID) -> None:
    """Queue the imports, metric ingests and backfills of one project until this transaction
    ends, so each judges the rows the one before it committed.

    Two imports of the same file at once on PostgreSQL would both find its videos new, and the
    second would fail on the unique key when the first commits; in turn, the second finds them
    stored and counts them as unchanged.
    """
    lock_project(session, IMPORTS_LOCK, project_id)


# A write this large changes a table's shape enough that plans made on the statistics from
# before it can be many times slower (bench/RESULTS.md, "Steady state").
BULK_WRITE_ROWS = 1000


def refresh_statistics(db: Database, table: str, written: int) -> None:
    """After a bulk write to `table`, fresh planner statistics (PostgreSQL; SQLite plans
    without them). ANALYZE samples a bounded number of rows and blocks no reader or writer.
    Autovacuum would get there too, later, and only where it is switched on."""
    if written >= BULK_WRITE_ROWS and db.dialect == "postgresql":
        with db.transaction() as session:
            session.execute(text(f"ANALYZE {table}"))
