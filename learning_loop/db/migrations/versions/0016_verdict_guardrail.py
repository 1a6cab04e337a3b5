"""a guardrail on experiment verdicts: the project's setting, and each verdict's guardrail

`projects` gains `guardrail`: the reward component a variant's win must not significantly hurt
(contract §7): `engagement` (the default, for every project already stored),
`avg_view_duration`, `views_6h`, or `none`.

`experiments` gains the guardrail a verdict was judged with (`guardrail`, the project's setting
at the verdict) and its one-sided p-value (`guardrail_p_value`, when the verdict would have
named the variant). Completed experiments keep their verdicts and get neither (they were judged
without one). Running experiments need no change.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The values as of this revision (learning_loop.domain.statuses); a migration stays frozen.
GUARDRAILS = ("engagement", "avg_view_duration", "views_6h", "none")


def upgrade() -> None:
    check = f"guardrail IN ({', '.join(repr(v) for v in GUARDRAILS)})"
    if op.get_bind().dialect.name == "sqlite":
        # In place (see 0007): a batch rebuild of `projects` would cascade its DELETE.
        op.execute(
            "ALTER TABLE projects ADD COLUMN guardrail VARCHAR(20) DEFAULT 'engagement' "
            f"NOT NULL CONSTRAINT ck_projects_guardrail CHECK ({check})"
        )
    else:
        op.add_column(
            "projects",
            sa.Column(
                "guardrail", sa.String(length=20), nullable=False, server_default="engagement"
            ),
        )
        op.create_check_constraint(op.f("ck_projects_guardrail"), "projects", check)
    # Plain ALTER TABLE on both databases (see 0006: SQLite adds a column in place).
    op.add_column("experiments", sa.Column("guardrail", sa.String(length=20), nullable=True))
    op.add_column("experiments", sa.Column("guardrail_p_value", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("experiments", "guardrail_p_value")
    op.drop_column("experiments", "guardrail")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_projects_guardrail"), "projects", type_="check")
    op.drop_column("projects", "guardrail")
