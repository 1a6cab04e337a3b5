"""bounded reward history: daily rows for the newest days, settled rewards for the rest

`video_rewards` gains `recipe_id` (the video's recipe when the date was evaluated), is keyed by
(reward_date, video_id) so a date's rows sit together (SQLite: without a rowid), and keeps
the dates of the newest 7 days (the default of LEARNING_LOOP_REWARD_HISTORY_DAYS), listed in the
new `reward_dates`. Each video's newest reward among the older dates moves to the new
`video_settled_rewards`; the older daily rows and their recipe_daily_stats rows go. Every
video's current reward, every recipe's stats and every verdict stay as they were. On PostgreSQL
`video_rewards` becomes a table partitioned by date, one partition per date.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 22:00:00
"""

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HISTORY_DAYS = 7
VALUE_COLUMNS = (
    "engagement",
    "pct_avg_view_duration",
    "pct_views_6h",
    "pct_engagement",
    "reward",
    "window_size",
)
ROW_COLUMNS = ("video_id", "reward_date", "project_id", "recipe_id", *VALUE_COLUMNS)


def _reward_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("video_id", sa.Uuid(), nullable=False),
        sa.Column("reward_date", sa.Date(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("recipe_id", sa.Uuid(), nullable=True),
        sa.Column("engagement", sa.Float(), nullable=False),
        sa.Column("pct_avg_view_duration", sa.Float(), nullable=False),
        sa.Column("pct_views_6h", sa.Float(), nullable=False),
        sa.Column("pct_engagement", sa.Float(), nullable=False),
        sa.Column("reward", sa.Float(), nullable=False),
        sa.Column("window_size", sa.Integer(), nullable=False),
    ]


def _create_side_tables() -> None:
    op.create_table(
        "video_settled_rewards",
        *_reward_columns(),
        sa.PrimaryKeyConstraint("video_id", name=op.f("pk_video_settled_rewards")),
    )
    op.create_index(
        op.f("ix_video_settled_rewards_project_id_reward_date"),
        "video_settled_rewards",
        ["project_id", "reward_date"],
    )
    op.create_table(
        "reward_dates",
        sa.Column("reward_date", sa.Date(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("reward_date", name=op.f("pk_reward_dates")),
    )


def _held_dates(conn: sa.Connection, table: str) -> tuple[list[dt.date], dt.date | None]:
    """The dates kept (the newest HISTORY_DAYS days) and the cutoff (older dates settle)."""
    raw = conn.execute(sa.text(f"SELECT DISTINCT reward_date FROM {table}")).scalars().all()
    dates = sorted(d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d)) for d in raw)
    if not dates:
        return [], None
    cutoff = dates[-1] - dt.timedelta(days=HISTORY_DAYS)
    return [d for d in dates if d > cutoff], cutoff


def _register(conn: sa.Connection, dates: list[dt.date]) -> None:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    table = sa.table(
        "reward_dates", sa.column("reward_date", sa.Date), sa.column("computed_at", sa.DateTime)
    )
    if dates:
        conn.execute(table.insert(), [{"reward_date": d, "computed_at": now} for d in dates])


def upgrade() -> None:
    conn = op.get_bind()
    _create_side_tables()
    if conn.dialect.name == "postgresql":
        _upgrade_postgresql(conn)
    else:
        _upgrade_sqlite(conn)


def _upgrade_postgresql(conn: sa.Connection) -> None:
    op.execute("ALTER TABLE video_rewards RENAME TO video_rewards_0003")
    op.execute("ALTER TABLE video_rewards_0003 RENAME CONSTRAINT pk_video_rewards TO pk_vr_0003")
    op.execute("ALTER INDEX ix_video_rewards_project_id_reward_date RENAME TO ix_vr_0003")
    op.create_table(
        "video_rewards",
        *_reward_columns(),
        sa.PrimaryKeyConstraint("reward_date", "video_id", name=op.f("pk_video_rewards")),
        postgresql_partition_by="RANGE (reward_date)",
    )
    op.create_index(
        op.f("ix_video_rewards_project_id_reward_date"),
        "video_rewards",
        ["project_id", "reward_date"],
    )
    held, cutoff = _held_dates(conn, "video_rewards_0003")
    select_cols = ", ".join("j.recipe_id" if c == "recipe_id" else f"r.{c}" for c in ROW_COLUMNS)
    insert_cols = ", ".join(ROW_COLUMNS)
    for day in held:
        name = f"video_rewards_{day:%Y%m%d}"
        low, high = day.isoformat(), (day + dt.timedelta(days=1)).isoformat()
        op.execute(
            f"CREATE TABLE {name} PARTITION OF video_rewards "
            f"FOR VALUES FROM ('{low}') TO ('{high}')"
        )
        op.execute(
            f"INSERT INTO {name} ({insert_cols}) SELECT {select_cols} FROM video_rewards_0003 r "
            f"LEFT JOIN video_jobs j ON j.id = r.video_id WHERE r.reward_date = DATE '{low}' "
            "ORDER BY r.video_id"
        )
    if cutoff is not None:
        op.execute(
            f"INSERT INTO video_settled_rewards ({insert_cols}) "
            f"SELECT DISTINCT ON (r.video_id) {select_cols} FROM video_rewards_0003 r "
            f"LEFT JOIN video_jobs j ON j.id = r.video_id "
            f"WHERE r.reward_date <= DATE '{cutoff.isoformat()}' "
            "ORDER BY r.video_id, r.reward_date DESC"
        )
        op.execute(
            f"DELETE FROM recipe_daily_stats WHERE stats_date <= DATE '{cutoff.isoformat()}'"
        )
    _register(conn, held)
    op.execute("DROP TABLE video_rewards_0003")


def _upgrade_sqlite(conn: sa.Connection) -> None:
    # A new table keyed by (date, video) without a rowid: a date's rows sit together.
    op.execute("ALTER TABLE video_rewards RENAME TO video_rewards_0003")
    op.execute("DROP INDEX ix_video_rewards_project_id_reward_date")
    op.create_table(
        "video_rewards",
        *_reward_columns(),
        sa.PrimaryKeyConstraint("reward_date", "video_id", name=op.f("pk_video_rewards")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        op.f("ix_video_rewards_project_id_reward_date"),
        "video_rewards",
        ["project_id", "reward_date"],
    )
    held, cutoff = _held_dates(conn, "video_rewards_0003")
    cols = ", ".join(ROW_COLUMNS)
    with_recipe = ", ".join("j.recipe_id" if c == "recipe_id" else f"r.{c}" for c in ROW_COLUMNS)
    source = "video_rewards_0003 r LEFT JOIN video_jobs j ON j.id = r.video_id"
    if cutoff is not None:
        bound = cutoff.isoformat()
        op.execute(
            f"INSERT INTO video_rewards ({cols}) SELECT {with_recipe} FROM {source} "
            f"WHERE r.reward_date > '{bound}' ORDER BY r.reward_date, r.video_id"
        )
        op.execute(
            f"INSERT INTO video_settled_rewards ({cols}) SELECT {cols} FROM ("
            f"SELECT {with_recipe}, row_number() OVER "
            "(PARTITION BY r.video_id ORDER BY r.reward_date DESC) AS newest_first "
            f"FROM {source} WHERE r.reward_date <= '{bound}') WHERE newest_first = 1"
        )
        op.execute(f"DELETE FROM recipe_daily_stats WHERE stats_date <= '{bound}'")
    op.execute("DROP TABLE video_rewards_0003")
    _register(conn, held)


def downgrade() -> None:
    """Back to one plain table: the held daily rows, plus each settled row as its date's row.

    The daily rows of the settled dates (other than each video's newest) are not restored.
    """
    conn = op.get_bind()
    cols = ", ".join(c for c in ROW_COLUMNS if c != "recipe_id")
    if conn.dialect.name == "postgresql":
        op.execute("ALTER TABLE video_rewards RENAME TO video_rewards_0004")
        op.execute(
            "ALTER TABLE video_rewards_0004 RENAME CONSTRAINT pk_video_rewards TO pk_vr_0004"
        )
        op.execute("ALTER INDEX ix_video_rewards_project_id_reward_date RENAME TO ix_vr_0004")
        columns = [c for c in _reward_columns() if c.name != "recipe_id"]
        op.create_table(
            "video_rewards",
            *columns,
            sa.PrimaryKeyConstraint("video_id", "reward_date", name=op.f("pk_video_rewards")),
        )
        op.create_index(
            op.f("ix_video_rewards_project_id_reward_date"),
            "video_rewards",
            ["project_id", "reward_date"],
        )
        op.execute(f"INSERT INTO video_rewards ({cols}) SELECT {cols} FROM video_rewards_0004")
        op.execute("DROP TABLE video_rewards_0004 CASCADE")
    else:
        op.execute("ALTER TABLE video_rewards RENAME TO video_rewards_0004")
        op.execute("DROP INDEX ix_video_rewards_project_id_reward_date")
        op.create_table(
            "video_rewards",
            *[c for c in _reward_columns() if c.name != "recipe_id"],
            sa.PrimaryKeyConstraint("video_id", "reward_date", name=op.f("pk_video_rewards")),
        )
        op.create_index(
            op.f("ix_video_rewards_project_id_reward_date"),
            "video_rewards",
            ["project_id", "reward_date"],
        )
        op.execute(f"INSERT INTO video_rewards ({cols}) SELECT {cols} FROM video_rewards_0004")
        op.execute("DROP TABLE video_rewards_0004")
    op.execute(
        f"INSERT INTO video_rewards ({cols}) SELECT {cols} FROM video_settled_rewards s "
        "WHERE NOT EXISTS (SELECT 1 FROM video_rewards r "
        "WHERE r.video_id = s.video_id AND r.reward_date = s.reward_date)"
    )
    op.drop_table("reward_dates")
    op.drop_index(op.f("ix_video_settled_rewards_project_id_reward_date"), "video_settled_rewards")
    op.drop_table("video_settled_rewards")
