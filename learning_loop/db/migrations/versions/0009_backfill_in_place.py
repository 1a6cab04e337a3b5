"""a backfill rewrites no index: imported videos get their recipe in place

The backfill gives every imported video its `recipe_id`, nearly every row of `video_jobs` on an
onboarded project. On PostgreSQL an UPDATE that changes no indexed column, and finds room on
the row's own page, is a heap-only one: the new row version goes beside the old one and no
index gains an entry. Before this revision every backfilled row was a new version on a new page
with an entry in each of the table's indexes (about 55 us a row; a heap-only update is about 6).
So:

- `ix_video_jobs_recipe_id` goes. Its one lookup, the baseline arm of an experiment (exploit
  jobs of the baseline recipe published since the experiment started), is served by a partial
  index of the exploit jobs, `(project_id, recipe_hash, published_at)`; recipes are never
  deleted on their own (a project's go with its videos), so no foreign-key check needs it;
- the backfill sets `recipe_id` only: `recipe_hash` stays the planned jobs' key column (set when
  planned, held unique with the topic), and an imported video's hash is its recipe's;
- PostgreSQL fills the pages of `video_jobs` to 45% (`fillfactor = 45`), so every row of a
  page finds room for its backfilled version (a little larger than the old one: at 50% a few
  rows of a full page did not). The table ends no larger than before, when every row left a
  dead version on another page and an entry in every index;
- `metric_snapshots.project_id` loses its foreign key: the snapshot's video holds the project
  (`video_id` keeps its key), and the check cost about 4 us of every ingested snapshot.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 22:00:00
"""

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SNAPSHOT_PROJECT_FK = "fk_metric_snapshots_project_id_projects"


EXPLOIT = sa.text("generation_mode = 'exploit'")


@contextmanager
def _quiet_reflection() -> Iterator[None]:
    """The rebuild reflects the tables `metric_snapshots` refers to; SQLAlchemy warns that it
    cannot reflect the recipes' expression index, which the rebuild does not touch (and the
    warning would reach a new user's first command, which upgrades the embedded database)."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Skipped unsupported reflection of expression-based index"
        )
        yield


def upgrade() -> None:
    op.drop_index("ix_video_jobs_recipe_id", table_name="video_jobs")
    op.create_index(
        "ix_video_jobs_exploit_recipe",
        "video_jobs",
        ["project_id", "recipe_hash", "published_at"],
        sqlite_where=EXPLOIT,
        postgresql_where=EXPLOIT,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE video_jobs SET (fillfactor = 45)")
        op.drop_constraint(SNAPSHOT_PROJECT_FK, "metric_snapshots", type_="foreignkey")
    else:
        # SQLite drops a foreign key by rebuilding the table. Nothing references
        # `metric_snapshots`, so dropping its old copy deletes no other row.
        with (
            _quiet_reflection(),
            op.batch_alter_table("metric_snapshots", recreate="always") as batch_op,
        ):
            batch_op.drop_constraint(SNAPSHOT_PROJECT_FK, type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_foreign_key(
            SNAPSHOT_PROJECT_FK,
            "metric_snapshots",
            "projects",
            ["project_id"],
            ["id"],
            ondelete="CASCADE",
        )
        op.execute("ALTER TABLE video_jobs RESET (fillfactor)")
    else:
        with (
            _quiet_reflection(),
            op.batch_alter_table("metric_snapshots", recreate="always") as batch_op,
        ):
            batch_op.create_foreign_key(
                SNAPSHOT_PROJECT_FK, "projects", ["project_id"], ["id"], ondelete="CASCADE"
            )
    op.drop_index("ix_video_jobs_exploit_recipe", table_name="video_jobs")
    op.create_index("ix_video_jobs_recipe_id", "video_jobs", ["recipe_id"])
    # Rows backfilled since keep a null `recipe_hash`: their recipe is found by `recipe_id`.
