"""recipe estimates from the whole history: evidence sums, estimates, and two project settings

`recipes` gains the whole-history evidence of the additive model (contract §4): the rewarded
videos behind the recipe (`evidence_videos`) and the sums of their recency weights, weighted
rewards and weighted squared rewards (`evidence_weight`, `evidence_sum`, `evidence_sumsq`), and
the model's `estimate` with its 95% interval (`estimate_low`, `estimate_high`). The leaderboard
is ordered by estimate: `ix_recipes_ranked` is rebuilt on the new rank. A plan fits the model
from the recipes that have evidence, found through the partial index `ix_recipes_evidence`.

`recipe_models` holds each project's evidence in field space (the model's sufficient
statistics, a fixed size per catalogue), so a plan reads one row to fit the model.

`projects` gains `half_life_days` (how fast old evidence fades; null: never; 180 by default) and
`exploit_scope` (`catalogue`, the default, or `made`).

Every stored reward, stat and verdict stays as it is; the estimates appear at the next daily
recipe-stats run, and the next rewards run gives the videos of the history their rewards.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The values as of this revision (learning_loop.domain.statuses); a migration stays frozen.
SCOPES = ("catalogue", "made")
EVIDENCE = sa.text("evidence_videos > 0")
OLD_RANK: list[str | sa.TextClause] = [
    "project_id",
    sa.text("(avg_reward_score IS NULL)"),
    sa.text("avg_reward_score DESC"),
    sa.text("times_used DESC"),
    "recipe_hash",
]
NEW_RANK: list[str | sa.TextClause] = [
    "project_id",
    sa.text("(estimate IS NULL)"),
    sa.text("estimate DESC"),
    sa.text("evidence_videos DESC"),
    sa.text("times_used DESC"),
    "recipe_hash",
]


def upgrade() -> None:
    scope_check = f"exploit_scope IN ({', '.join(repr(v) for v in SCOPES)})"
    if op.get_bind().dialect.name == "sqlite":
        # In place (see 0007): a batch rebuild of `projects` would cascade its DELETE.
        for statement in (
            "ALTER TABLE projects ADD COLUMN half_life_days INTEGER DEFAULT 180",
            "ALTER TABLE projects ADD COLUMN exploit_scope VARCHAR(20) DEFAULT 'catalogue' "
            f"NOT NULL CONSTRAINT ck_projects_exploit_scope CHECK ({scope_check})",
        ):
            op.execute(statement)
    else:
        op.add_column("projects", sa.Column("half_life_days", sa.Integer(), server_default="180"))
        op.add_column(
            "projects",
            sa.Column(
                "exploit_scope", sa.String(length=20), nullable=False, server_default="catalogue"
            ),
        )
        op.create_check_constraint(op.f("ck_projects_exploit_scope"), "projects", scope_check)
    for name in ("evidence_as_of",):
        op.add_column("projects", sa.Column(name, sa.Date()))
    for name in ("evidence_window_days", "evidence_half_life_days"):
        op.add_column("projects", sa.Column(name, sa.Integer()))
    op.add_column(
        "recipes", sa.Column("evidence_videos", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column(
        "recipes", sa.Column("history_videos", sa.Integer(), nullable=False, server_default="0")
    )
    for name in ("history_weight", "history_sum", "history_sumsq"):
        op.add_column("recipes", sa.Column(name, sa.Float(), nullable=False, server_default="0"))
    for name in (
        "evidence_weight",
        "evidence_sum",
        "evidence_sumsq",
        "estimate",
        "estimate_low",
        "estimate_high",
    ):
        op.add_column("recipes", sa.Column(name, sa.Float()))
    op.drop_index("ix_recipes_ranked", table_name="recipes")
    op.create_index("ix_recipes_ranked", "recipes", NEW_RANK)
    op.create_index(
        "ix_recipes_evidence",
        "recipes",
        ["project_id"],
        sqlite_where=EVIDENCE,
        postgresql_where=EVIDENCE,
    )

    op.create_table(
        "recipe_models",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("presets", sa.JSON(), nullable=False),
        sa.Column("summary", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_recipe_models_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_recipe_models")),
    )
    op.create_table(
        "reward_backlog",
        sa.Column("video_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("video_id", name=op.f("pk_reward_backlog")),
    )
    op.create_index("ix_reward_backlog_project_id", "reward_backlog", ["project_id"])
    # Every video with a snapshot and no reward yet: the next daily run rewards those of the
    # history (the videos of its window it rewards anyway, and forgets here).
    op.execute(
        "INSERT INTO reward_backlog (video_id, project_id) "
        "SELECT v.id, v.project_id FROM video_jobs v "
        "WHERE EXISTS (SELECT 1 FROM metric_snapshots s WHERE s.video_id = v.id) "
        "AND NOT EXISTS (SELECT 1 FROM video_settled_rewards r WHERE r.video_id = v.id) "
        "AND NOT EXISTS (SELECT 1 FROM video_rewards r WHERE r.video_id = v.id)"
    )


def downgrade() -> None:
    op.drop_index("ix_reward_backlog_project_id", table_name="reward_backlog")
    op.drop_table("reward_backlog")
    op.drop_table("recipe_models")
    op.drop_index("ix_recipes_evidence", table_name="recipes")
    op.drop_index("ix_recipes_ranked", table_name="recipes")
    op.create_index("ix_recipes_ranked", "recipes", OLD_RANK)
    # Plain ALTER TABLE on both databases (see 0007): a batch rebuild of `recipes` would drop
    # the table the experiments and jobs refer to.
    for name in (
        "estimate_high",
        "estimate_low",
        "estimate",
        "history_sumsq",
        "history_sum",
        "history_weight",
        "history_videos",
        "evidence_sumsq",
        "evidence_sum",
        "evidence_weight",
        "evidence_videos",
    ):
        op.drop_column("recipes", name)
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_projects_exploit_scope"), "projects", type_="check")
    op.drop_column("projects", "exploit_scope")
    for name in ("evidence_half_life_days", "evidence_window_days", "evidence_as_of"):
        op.drop_column("projects", name)
    op.drop_column("projects", "half_life_days")
