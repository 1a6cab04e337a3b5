"""indexes for reads whose cost does not grow with the project

Recipes in rank order (average reward with the unrewarded last, times used, hash), experiments
and video jobs in their listing order, and experiments by baseline: a page, the top recipes
and a preview read a bounded number of index entries.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_recipes_ranked",
        "recipes",
        [
            "project_id",
            sa.text("(avg_reward_score IS NULL)"),
            sa.text("avg_reward_score DESC"),
            sa.text("times_used DESC"),
            "recipe_hash",
        ],
    )
    op.create_index(
        "ix_experiments_project_id_started_at_id", "experiments", ["project_id", "started_at", "id"]
    )
    op.create_index("ix_experiments_baseline_recipe_id", "experiments", ["baseline_recipe_id"])
    op.create_index(
        "ix_video_jobs_listing",
        "video_jobs",
        ["project_id", "created_at", "batch_position", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_video_jobs_listing", table_name="video_jobs")
    op.drop_index("ix_experiments_baseline_recipe_id", table_name="experiments")
    op.drop_index("ix_experiments_project_id_started_at_id", table_name="experiments")
    op.drop_index("ix_recipes_ranked", table_name="recipes")
