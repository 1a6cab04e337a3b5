"""recorded changes of project settings

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "project_setting_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("setting", sa.String(length=40), nullable=False),
        sa.Column("old_value", sa.JSON(), nullable=False),
        sa.Column("new_value", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_setting_changes_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_setting_changes")),
    )
    with op.batch_alter_table("project_setting_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_project_setting_changes_project_id_changed_at"),
            ["project_id", "changed_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("project_setting_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_setting_changes_project_id_changed_at"))
    op.drop_table("project_setting_changes")
