"""The schema holds every status and mode to its enumeration, on both databases."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import CheckConstraint, inspect, text
from sqlalchemy.exc import IntegrityError

from learning_loop.db.engine import Database, current_revision, head_revision
from learning_loop.db.models import Base
from learning_loop.domain.statuses import (
    ExperimentStatus,
    ExploitScope,
    GenerationMode,
    Guardrail,
    JobStatus,
    PlannerBackend,
    PlanRequestStatus,
    PlanStatus,
    Policy,
    Winner,
)
from learning_loop.services.ingest import VIDEO_COLUMNS, import_videos
from learning_loop.services.plan_requests import create_plan_request
from learning_loop.services.planning import plan_and_write
from learning_loop.services.projects import create_project
from learning_loop.services.rows import read_rows

ENUM_COLUMNS = [
    ("projects", "policy", Policy),
    ("experiments", "status", ExperimentStatus),
    ("experiments", "winner", Winner),
    ("plan_requests", "status", PlanRequestStatus),
    ("video_jobs", "generation_mode", GenerationMode),
    ("video_jobs", "status", JobStatus),
    ("video_jobs", "plan_status", PlanStatus),
    ("projects", "planner_backend", PlannerBackend),
    ("projects", "exploit_scope", ExploitScope),
    ("projects", "guardrail", Guardrail),
]


def test_the_migrations_reach_the_models_head(db: Database):
    assert current_revision(db.engine) == head_revision() == "0017"


@pytest.mark.parametrize(("table", "column", "enum"), ENUM_COLUMNS)
def test_models_and_migration_declare_the_same_check(table, column, enum, db: Database):
    """The models' check lists the enumeration; the check the migrations built in this
    database (read back from its catalogue) lists the same values."""
    name = f"ck_{table}_{column}"
    declared = {
        c.name: str(c.sqltext)
        for c in Base.metadata.tables[table].constraints
        if isinstance(c, CheckConstraint)
    }
    allowed = ", ".join(f"'{m.value}'" for m in enum)
    assert declared[name] == f"{column} IN ({allowed})"
    built = {c["name"]: c["sqltext"] for c in inspect(db.engine).get_check_constraints(table)}
    assert name in built, f"the migrations built no {name}"
    assert set(re.findall(r"'([^']*)'", built[name])) == {m.value for m in enum}


@pytest.fixture
def planned(db: Database, samples) -> None:
    """A project with imported history, a planned batch with experiments, a plan request."""
    pid = create_project(db, "constraints").id
    import_videos(db, pid, read_rows(samples / "videos.csv", VIDEO_COLUMNS))
    plan_and_write(db, pid, 10, [f"topic {i}" for i in range(10)], seed=3)
    create_plan_request(db, pid, 2, ["later"])


@pytest.mark.parametrize(("table", "column", "enum"), ENUM_COLUMNS)
def test_a_value_outside_the_enumeration_is_refused(table, column, enum, db: Database, planned):
    with db.engine.connect() as conn:
        row = conn.execute(text(f"SELECT id FROM {table} LIMIT 1")).scalar()
        conn.rollback()
        assert row is not None, f"no {table} row to change"
        change = text(f"UPDATE {table} SET {column} = :v WHERE id = :id")
        for member in enum:  # every listed value is accepted
            attempt = conn.begin()
            conn.execute(change, {"v": member.value, "id": row})
            attempt.rollback()
        attempt = conn.begin()
        with pytest.raises(IntegrityError):
            conn.execute(change, {"v": "bogus", "id": row})
        attempt.rollback()
