"""the experiment and batch indexes of video jobs hold only the jobs that have one

Imported history, usually nearly every row of `video_jobs`, has neither an experiment nor a
batch: indexing its NULLs cost every bulk import and every backfill two index entries per
video, and no query looks them up (the lookups are `experiment_id = ?` and `batch_id = ?`, and
the foreign keys' checks the same).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("experiment_id", "batch_id")


def upgrade() -> None:
    for column in COLUMNS:
        name = f"ix_video_jobs_{column}"
        held = sa.text(f"{column} IS NOT NULL")
        op.drop_index(name, table_name="video_jobs")
        op.create_index(name, "video_jobs", [column], sqlite_where=held, postgresql_where=held)


def downgrade() -> None:
    for column in COLUMNS:
        name = f"ix_video_jobs_{column}"
        op.drop_index(name, table_name="video_jobs")
        op.create_index(name, "video_jobs", [column])
