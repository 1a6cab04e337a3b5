"""whether a verdict's pooled contrast was adjusted for the publication time

`experiments` gains `pooled_time_adjusted` (contract §7): true when the final look judged with
the contrast adjusted for the publication weekday and block of the day, false when a pooled
contrast was adjusted for the recipe fields alone; null for a verdict given without a pooled
contrast and for every verdict before this revision. Completed experiments keep their verdicts.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE on both databases (see 0006: SQLite adds a column in place).
    op.add_column("experiments", sa.Column("pooled_time_adjusted", sa.Boolean(), nullable=True))


def downgrade() -> None:
    op.drop_column("experiments", "pooled_time_adjusted")
