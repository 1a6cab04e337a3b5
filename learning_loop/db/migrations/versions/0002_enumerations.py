"""statuses and modes held by CHECK constraints

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 18:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The values as of this revision (learning_loop.domain.statuses); a migration stays frozen.
ALLOWED: dict[str, dict[str, tuple[str, ...]]] = {
    "projects": {"policy": ("seed", "thompson")},
    "experiments": {
        "status": ("running", "completed"),
        "winner": ("baseline", "variant", "inconclusive"),
    },
    "plan_requests": {"status": ("pending", "running", "succeeded", "failed")},
    "video_jobs": {
        "generation_mode": ("exploit", "explore", "manual"),
        "status": ("queued", "published", "failed"),
    },
}


def upgrade() -> None:
    # Batch mode: SQLite adds a constraint by rebuilding the table.
    for table, columns in ALLOWED.items():
        with op.batch_alter_table(table) as batch_op:
            for column, values in columns.items():
                allowed = ", ".join(f"'{v}'" for v in values)
                batch_op.create_check_constraint(
                    op.f(f"ck_{table}_{column}"), f"{column} IN ({allowed})"
                )


def downgrade() -> None:
    for table, columns in ALLOWED.items():
        with op.batch_alter_table(table) as batch_op:
            for column in columns:
                batch_op.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")
