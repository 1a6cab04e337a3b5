"""experiment verdicts from all the evidence: each verdict's pooled, adjusted contrast and its
allocation check

`experiments` gains the pooled contrast a verdict was judged with besides its arms (contract
§7): the variant value's effect less the baseline value's in the additive model of every
rewarded video (`pooled_difference`), its always-valid 95% interval (`pooled_ci_low`,
`pooled_ci_high`) and its anytime-valid p-value (`pooled_p_value`). A verdict the pooled
contrast decided has `decision_rule` "pooled" (early) or "pooled_look" (at the final look).
The allocation check's p-value (`allocation_p_value`: both arms had the same share of their
planned videos rewarded) is stored beside it.

Completed experiments keep their verdicts and get no pooled figures (they were not judged with
one). Running experiments need no change.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    "pooled_difference",
    "pooled_ci_low",
    "pooled_ci_high",
    "pooled_p_value",
    "allocation_p_value",
)


def upgrade() -> None:
    # Plain ALTER TABLE on both databases (see 0006: SQLite adds a column in place).
    for name in COLUMNS:
        op.add_column("experiments", sa.Column(name, sa.Float(), nullable=True))


def downgrade() -> None:
    for name in reversed(COLUMNS):
        op.drop_column("experiments", name)
