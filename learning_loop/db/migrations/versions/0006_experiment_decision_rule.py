"""experiments decided by the always-valid rule: the rule of each verdict and its minimum
detectable effect

Completed experiments keep their verdicts: they are marked as decided by the former rule
("welch", one Welch t-test at min_samples) and get the minimum detectable effect of that test,
read back from their stored 95% interval. Running experiments need no change: from this
revision on, the evaluation decides them by the new rule (contract §7, docs/decisions.md).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 04:00:00
"""

from collections.abc import Sequence
from statistics import NormalDist

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_POWER = 0.8
_CI_LEVEL = 0.95


def upgrade() -> None:
    # Plain ALTER TABLE on both databases (SQLite adds and drops a column in place, so the
    # video jobs' foreign key to experiments never sees the table rebuilt).
    op.add_column("experiments", sa.Column("decision_rule", sa.String(length=20), nullable=True))
    op.add_column("experiments", sa.Column("mde", sa.Float(), nullable=True))
    bind = op.get_bind()
    experiments = sa.table(
        "experiments",
        sa.column("project_id", sa.Uuid()),
        sa.column("status", sa.String()),
        sa.column("decision_rule", sa.String()),
        sa.column("mde", sa.Float()),
        sa.column("ci_low", sa.Float()),
        sa.column("ci_high", sa.Float()),
    )
    projects = sa.table("projects", sa.column("id", sa.Uuid()), sa.column("alpha", sa.Float()))
    bind.execute(
        experiments.update()
        .where(experiments.c.status == "completed")
        .values(decision_rule="welch")
    )
    # mde = se * (z(1 - alpha/2) + z(power)), se = the interval's half-width / z(0.975); one
    # UPDATE per distinct alpha (a handful), computed in the database.
    z = NormalDist()
    ci_z = z.inv_cdf(0.5 + _CI_LEVEL / 2.0)
    for (alpha,) in bind.execute(sa.select(projects.c.alpha).distinct()).all():
        if alpha is None or not 0.0 < float(alpha) < 1.0:
            continue
        factor = (z.inv_cdf(1.0 - float(alpha) / 2.0) + z.inv_cdf(_POWER)) / (2.0 * ci_z)
        in_project = sa.select(projects.c.id).where(projects.c.alpha == alpha)
        bind.execute(
            experiments.update()
            .where(
                experiments.c.status == "completed",
                experiments.c.ci_low.is_not(None),
                experiments.c.ci_high.is_not(None),
                experiments.c.project_id.in_(in_project),
            )
            .values(mde=(experiments.c.ci_high - experiments.c.ci_low) * factor)
        )


def downgrade() -> None:
    op.drop_column("experiments", "mde")
    op.drop_column("experiments", "decision_rule")
