"""video plans made after planning: each job's plan state, and each project's planner backend

`video_jobs` gains `plan_status` (`pending`, `ready` or `failed`; null for imported history,
which has no plan to make), `plan_error` (the last failure, one line) and `plan_attempts`
(failed attempts so far). `projects` gains `planner_backend` (`template`, the default, or
`openai`).

Backfill: a planned job that already holds a plan got it from the template backend inside the
planning transaction, and that plan passed the validator then, so it is `ready`; a planned job
without a plan (none is written today, but a hand-edited row may lack it) is `pending`, so the
next `video_plans` run makes it. Imported (manual) jobs keep a null state.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The values as of this revision (learning_loop.domain.statuses); a migration stays frozen.
PLAN_STATUSES = ("pending", "ready", "failed")
BACKENDS = ("template", "openai")


def _one_of(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # In place, with the CHECKs on the new columns: a batch rebuild of `projects` or
        # `video_jobs` would DROP the old table, and with foreign keys on, SQLite's implicit
        # DELETE would cascade to every row that references it.
        for statement in (
            "ALTER TABLE video_jobs ADD COLUMN plan_status VARCHAR(10) CONSTRAINT "
            f"ck_video_jobs_plan_status CHECK ({_one_of('plan_status', PLAN_STATUSES)})",
            "ALTER TABLE video_jobs ADD COLUMN plan_error TEXT",
            "ALTER TABLE video_jobs ADD COLUMN plan_attempts INTEGER DEFAULT 0 NOT NULL",
            "ALTER TABLE projects ADD COLUMN planner_backend VARCHAR(20) DEFAULT 'template' "
            "NOT NULL CONSTRAINT ck_projects_planner_backend "
            f"CHECK ({_one_of('planner_backend', BACKENDS)})",
        ):
            op.execute(statement)
    else:
        op.add_column("video_jobs", sa.Column("plan_status", sa.String(length=10)))
        op.add_column("video_jobs", sa.Column("plan_error", sa.Text()))
        op.add_column(
            "video_jobs",
            sa.Column("plan_attempts", sa.Integer(), nullable=False, server_default="0"),
        )
        op.create_check_constraint(
            op.f("ck_video_jobs_plan_status"),
            "video_jobs",
            _one_of("plan_status", PLAN_STATUSES),
        )
        op.add_column(
            "projects",
            sa.Column(
                "planner_backend", sa.String(length=20), nullable=False, server_default="template"
            ),
        )
        op.create_check_constraint(
            op.f("ck_projects_planner_backend"),
            "projects",
            _one_of("planner_backend", BACKENDS),
        )
    # The jobs whose plans are still to be made, found per project from a partial index
    # (imported history and ready jobs, nearly every row, are not in it).
    due = sa.text(f"plan_status IN ({', '.join(repr(v) for v in PLAN_STATUSES if v != 'ready')})")
    op.create_index(
        op.f("ix_video_jobs_project_id_plan_status"),
        "video_jobs",
        ["project_id", "plan_status"],
        sqlite_where=due,
        postgresql_where=due,
    )
    jobs = sa.table(
        "video_jobs",
        sa.column("generation_mode", sa.String()),
        sa.column("plan", sa.JSON()),
        sa.column("plan_status", sa.String()),
    )
    planned = jobs.c.generation_mode.in_(("exploit", "explore"))
    bind = op.get_bind()
    bind.execute(jobs.update().where(planned, jobs.c.plan.is_not(None)).values(plan_status="ready"))
    bind.execute(jobs.update().where(planned, jobs.c.plan.is_(None)).values(plan_status="pending"))


def downgrade() -> None:
    # Plain ALTER TABLE on both databases (SQLite drops a column with its own CHECK in place).
    op.drop_index(op.f("ix_video_jobs_project_id_plan_status"), table_name="video_jobs")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_projects_planner_backend"), "projects", type_="check")
        op.drop_constraint(op.f("ck_video_jobs_plan_status"), "video_jobs", type_="check")
    op.drop_column("projects", "planner_backend")
    op.drop_column("video_jobs", "plan_attempts")
    op.drop_column("video_jobs", "plan_error")
    op.drop_column("video_jobs", "plan_status")
