"""No secret in Dagster's storage (issue #30, finding 2): after runs started from this process
against PostgreSQL with a password in the database URL, no table of the instance's storage
holds the password, compressed snapshots included, and the Dagster UI's GraphQL (what anyone
reaching the UI can ask) answers none."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import zlib

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from learning_loop.db.engine import Database, make_engine, upgrade
from learning_loop.launch import DagsterRuns
from learning_loop.services.ingest import (
    METRIC_COLUMNS,
    VIDEO_COLUMNS,
    backfill_recipes,
    import_videos,
    ingest_metrics,
)
from learning_loop.services.projects import create_project
from learning_loop.services.rows import read_rows
from learning_loop.services.runs import update_stats_spec, video_plans_spec
from learning_loop.settings import Settings
from learning_loop_tests.processes import (
    BIN,
    ROOT,
    answers,
    background,
    clean_env,
    free_port,
    graphql,
    wait_until,
)

PASSWORD = "pw-never-stored-7f3a"


def _texts(value: object) -> list[str]:
    if isinstance(value, bytes | memoryview):
        raw = bytes(value)
        with contextlib.suppress(zlib.error):
            raw = zlib.decompress(raw)
        return [raw.decode("utf-8", "replace")]
    return [str(value)]


def test_in_process_runs_store_no_database_password(fresh_pg_url, samples, tmp_path):
    # The test server trusts local connections: the password is sent and ignored.
    url = make_url(fresh_pg_url).set(password=PASSWORD).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    db = Database.from_url(url)
    pid = create_project(db, "secret").id
    import_videos(db, pid, read_rows(samples / "videos.csv", VIDEO_COLUMNS))
    backfill_recipes(db, pid)
    ingest_metrics(db, pid, read_rows(samples / "metrics.csv", METRIC_COLUMNS))

    runs = DagsterRuns(Settings(LEARNING_LOOP_DATABASE_URL=url, LEARNING_LOOP_HOME=tmp_path))
    try:
        stats = runs.run(update_stats_spec(db, pid, dt.date(2026, 10, 30), 30))
        assert stats.success, stats.error
        assert runs.run(video_plans_spec(db, pid)).success
    finally:
        runs.close()
    db.dispose()

    # The instance lives in the same database (no DAGSTER_HOME): read every table of it.
    reader = create_engine(fresh_pg_url)
    found: list[str] = []
    try:
        with reader.connect() as conn:
            names = inspect(conn).get_table_names()
            assert {"runs", "snapshots", "event_logs"} <= set(names)
            for name in names:
                for row in conn.execute(text(f'SELECT * FROM "{name}"')):
                    for value in row:
                        if value is not None and any(PASSWORD in t for t in _texts(value)):
                            found.append(name)
    finally:
        reader.dispose()
    assert found == []

    # The UI over the same instance (the deployment's own environment holds the password).
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "postgres" / "dagster.yaml", home / "dagster.yaml")
    port = free_port()
    env = clean_env(
        DAGSTER_HOME=str(home), LEARNING_LOOP_DATABASE_URL=url, LEARNING_LOOP_HOME=str(tmp_path)
    )
    with background(
        [BIN / "dagster-webserver", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        env=env,
        cwd=ROOT,
        log=tmp_path / "webserver.log",
    ) as web:
        wait_until(
            lambda: not web.alive() or answers(f"http://127.0.0.1:{port}/server_info"),
            120,
            "dagster-webserver",
        )
        assert web.alive(), web.log()
        runs_ = graphql(
            port,
            "{ runsOrError { ... on Runs { results { runId pipelineName runConfigYaml "
            "pipelineSnapshotId tags { key value } } } } }",
        )["runsOrError"]["results"]
        assert {r["pipelineName"] for r in runs_} == {"update_recipe_stats", "make_video_plans"}
        answers_ = [json.dumps(runs_)]
        for run in runs_:
            snapshot = graphql(
                port,
                '{ pipelineSnapshotOrError(snapshotId: "'
                + run["pipelineSnapshotId"]
                + '") { ... on PipelineSnapshot { modes { resources { name configField { '
                "defaultValueAsJson } } } } } }",
            )
            modes = snapshot["pipelineSnapshotOrError"]["modes"]
            assert any(r["name"] == "learning_loop_db" for m in modes for r in m["resources"])
            answers_.append(json.dumps(snapshot))
    assert all(PASSWORD not in text_ for text_ in answers_)
