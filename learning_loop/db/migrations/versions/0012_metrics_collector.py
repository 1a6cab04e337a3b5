"""the metrics collector: platform connections, each video's marks, the quota ledger, and
snapshots that say where they came from and what they do not know yet

- `platform_connections`: a project's connection to a platform (YouTube first), its channel,
  its credential encrypted with the deployment's key, and whether the platform still accepts it.
- `collected_videos`: where each published video of a connected project stands in the
  collector's marks (1 h ... 28 days after publication), its next due time, and its 6-hour views.
- `platform_quota`: the quota units the deployment spent per platform per UTC day.
- `metric_snapshots` gains `source` (`file`, `api` or `collector`; existing rows are `file`,
  as nothing told them apart before) and `views_6h_basis` (`reported`, `observed` or
  `interpolated`; existing rows are `reported`). `views_6h` and `avg_view_duration_s` may now
  be null: a collector's poll before the 6-hour mark, or one that the platform's analytics
  have not reached yet. The reward reads only complete snapshots (contract §12).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 19:00:00
"""

import warnings
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The values as of this revision (learning_loop.domain.statuses); a migration stays frozen.
SOURCES = ("file", "api", "collector")
BASES = ("reported", "observed", "interpolated")
CONNECTION_STATUSES = ("connected", "broken")
COLLECTION_STATES = ("polling", "done", "gone")


def _one_of(column: str, values: Sequence[str]) -> sa.CheckConstraint:
    allowed = ", ".join(repr(v) for v in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=column)


def upgrade() -> None:
    op.create_table(
        "platform_connections",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("channel_id", sa.String(200), nullable=False),
        sa.Column("channel_title", sa.Text(), nullable=False),
        sa.Column("credential", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.Column("connected_at", sa.DateTime(), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_platform_connections_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "platform", name=op.f("pk_platform_connections")),
        _one_of("status", CONNECTION_STATUSES),
    )
    op.create_table(
        "collected_videos",
        sa.Column("video_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("next_mark", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("marks_missed", sa.Integer(), nullable=False),
        sa.Column("last_polled_at", sa.DateTime(), nullable=True),
        sa.Column("before_6h_at", sa.DateTime(), nullable=True),
        sa.Column("before_6h_views", sa.BigInteger(), nullable=True),
        sa.Column("views_6h", sa.BigInteger(), nullable=True),
        sa.Column("views_6h_basis", sa.String(12), nullable=True),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["video_id"],
            ["video_jobs.id"],
            name=op.f("fk_collected_videos_video_id_video_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("video_id", name=op.f("pk_collected_videos")),
        _one_of("state", COLLECTION_STATES),
        _one_of("views_6h_basis", BASES),
    )
    op.create_index(
        "ix_collected_videos_due",
        "collected_videos",
        ["due_at"],
        sqlite_where=sa.text("state = 'polling'"),
        postgresql_where=sa.text("state = 'polling'"),
    )
    op.create_index(
        "ix_collected_videos_project_id_state", "collected_videos", ["project_id", "state"]
    )
    op.create_table(
        "platform_quota",
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("platform", "day", name=op.f("pk_platform_quota")),
    )
    _snapshots_upgrade()


def _snapshots_upgrade() -> None:
    source = sa.Column("source", sa.String(10), nullable=False, server_default="file")
    basis = sa.Column("views_6h_basis", sa.String(12), nullable=True)
    if op.get_bind().dialect.name == "postgresql":
        # A column with a constant default is added without rewriting the table.
        op.add_column("metric_snapshots", source)
        op.add_column("metric_snapshots", basis)
        op.execute("UPDATE metric_snapshots SET views_6h_basis = 'reported'")
        op.alter_column("metric_snapshots", "views_6h", nullable=True)
        op.alter_column("metric_snapshots", "avg_view_duration_s", nullable=True)
        op.create_check_constraint("source", "metric_snapshots", _one_of("source", SOURCES).sqltext)
        op.create_check_constraint(
            "views_6h_basis", "metric_snapshots", _one_of("views_6h_basis", BASES).sqltext
        )
        return
    # SQLite relaxes NOT NULL by rebuilding the table; nothing references `metric_snapshots`.
    with (
        warnings.catch_warnings(),
        op.batch_alter_table("metric_snapshots", recreate="always") as batch_op,
    ):
        warnings.filterwarnings(
            "ignore", message="Skipped unsupported reflection of expression-based index"
        )
        batch_op.add_column(source)
        batch_op.add_column(basis)
        batch_op.alter_column("views_6h", existing_type=sa.BigInteger(), nullable=True)
        batch_op.alter_column("avg_view_duration_s", existing_type=sa.Float(), nullable=True)
        batch_op.create_check_constraint("source", _one_of("source", SOURCES).sqltext)
        batch_op.create_check_constraint("views_6h_basis", _one_of("views_6h_basis", BASES).sqltext)
    op.execute("UPDATE metric_snapshots SET views_6h_basis = 'reported'")


def downgrade() -> None:
    # Snapshots that are not complete cannot go back to NOT NULL columns.
    op.execute("DELETE FROM metric_snapshots WHERE views_6h IS NULL OR avg_view_duration_s IS NULL")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("ck_metric_snapshots_views_6h_basis"), "metric_snapshots")
        op.drop_constraint(op.f("ck_metric_snapshots_source"), "metric_snapshots")
        op.alter_column("metric_snapshots", "avg_view_duration_s", nullable=False)
        op.alter_column("metric_snapshots", "views_6h", nullable=False)
        op.drop_column("metric_snapshots", "views_6h_basis")
        op.drop_column("metric_snapshots", "source")
    else:
        with (
            warnings.catch_warnings(),
            op.batch_alter_table("metric_snapshots", recreate="always") as batch_op,
        ):
            warnings.filterwarnings(
                "ignore", message="Skipped unsupported reflection of expression-based index"
            )
            batch_op.drop_constraint(op.f("ck_metric_snapshots_views_6h_basis"), type_="check")
            batch_op.drop_constraint(op.f("ck_metric_snapshots_source"), type_="check")
            batch_op.alter_column("avg_view_duration_s", existing_type=sa.Float(), nullable=False)
            batch_op.alter_column("views_6h", existing_type=sa.BigInteger(), nullable=False)
            batch_op.drop_column("views_6h_basis")
            batch_op.drop_column("source")
    op.drop_table("platform_quota")
    op.drop_index("ix_collected_videos_project_id_state", table_name="collected_videos")
    op.drop_index("ix_collected_videos_due", table_name="collected_videos")
    op.drop_table("collected_videos")
    op.drop_table("platform_connections")
