"""recipes count their videos planned and published (each count with one meaning)

`recipes` gains `planned_videos` (the jobs the planner made with the recipe: exploit and
explore) and `published_videos` (its published jobs, imported ones included), filled from
`video_jobs`. Planning, publishing and the backfill keep them; a listing reads them as stored,
so its cost does not grow with the project's videos.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for name in ("planned_videos", "published_videos"):
        op.add_column("recipes", sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    # One pass over the jobs, grouped by recipe (both databases read UPDATE ... FROM).
    op.execute(
        """
        UPDATE recipes SET planned_videos = counted.planned, published_videos = counted.published
        FROM (
            SELECT recipe_id,
                   sum(CASE WHEN generation_mode IN ('exploit', 'explore') THEN 1 ELSE 0 END)
                       AS planned,
                   sum(CASE WHEN status = 'published' THEN 1 ELSE 0 END) AS published
            FROM video_jobs WHERE recipe_id IS NOT NULL GROUP BY recipe_id
        ) AS counted
        WHERE recipes.id = counted.recipe_id
        """
    )


def downgrade() -> None:
    # Plain ALTER TABLE on both databases (see 0010): a batch rebuild of `recipes` would drop
    # the table the experiments and jobs refer to.
    op.drop_column("recipes", "published_videos")
    op.drop_column("recipes", "planned_videos")
