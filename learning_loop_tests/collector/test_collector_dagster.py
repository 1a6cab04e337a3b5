"""The collector's schedule and its job in real Dagster runs: the schedule asks for a pass
once a project is connected, the pass's materialization records what it did, and no secret
reaches the run's config, tags, logs or metadata (contract §12)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from dagster import DagsterInstance, SkipReason, build_schedule_context

from learning_loop.defs import defs
from learning_loop.defs.collector import COLLECT_CRON, collect_metrics_schedule
from learning_loop.defs.resources import LearningLoopDatabase
from learning_loop.services import collector
from learning_loop.services.ingest import import_videos
from learning_loop.services.projects import create_project
from learning_loop.settings import load_settings
from learning_loop_tests.factories import numbered, video_row
from learning_loop_tests.fake_google import FakeGoogle, FakeVideo, serve_fake_google


@pytest.fixture
def google(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[FakeGoogle]:
    with serve_fake_google() as fake:
        for key, value in {
            **fake.env(),
            "LEARNING_LOOP_SECRET_KEY": Fernet.generate_key().decode(),
            "LEARNING_LOOP_COLLECTOR_BACKOFF_S": "0",
            "LEARNING_LOOP_HOME": str(tmp_path / "home"),
        }.items():
            monkeypatch.setenv(key, value)
        yield fake


def test_the_schedule_runs_a_pass_whose_metadata_tells_what_it_did(db, database_url, google):
    resources = {"learning_loop_db": LearningLoopDatabase(database_url=database_url)}
    settings = load_settings().model_copy(update={"database_url": database_url})
    when = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    context = build_schedule_context(resources=resources, scheduled_execution_time=when)
    assert COLLECT_CRON == "*/15 * * * *"
    assert isinstance(collect_metrics_schedule(context), SkipReason)

    pid = create_project(db, "channel").id
    published = (when - dt.timedelta(hours=1, minutes=5)).isoformat()
    rows = [video_row(i, external_id=f"yt{i}", published_at=published) for i in range(70)]
    import_videos(db, pid, numbered(rows))
    google.videos = {r["external_id"]: FakeVideo(views=10 + i) for i, r in enumerate(rows)}
    collector.connect_youtube(db, settings, pid, google.credential())

    request = collect_metrics_schedule(
        build_schedule_context(resources=resources, scheduled_execution_time=when)
    )
    assert not isinstance(request, SkipReason)
    assert request.run_key == f"collect:{when.isoformat()}"
    assert request.tags["learning_loop/platform"] == "youtube"
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("collect_metrics").execute_in_process(
            run_config=request.run_config,
            instance=instance,
            resources=resources,
            tags=request.tags,
        )
        assert result.success
        (materialization,) = result.asset_materializations_for_node("collected_metrics")
        meta = {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
        assert (meta["videos_due"], meta["videos_polled"], meta["snapshots_written"]) == (
            70,
            70,
            70,
        )
        assert meta["quota_units"] == 2 and meta["marks_missed"] == 0
        assert meta["errors"] == "none"
        records = [str(e) for e in instance.all_logs(result.run_id)]
        run = instance.get_run_by_id(result.run_id)
        assert run is not None
        seen = "\n".join([*records, str(run.run_config), str(run.tags)])
    for secret in (google.client_secret, google.refresh_token, *google.tokens):
        assert secret not in seen


def test_the_embedded_key_is_made_once_for_its_owner_alone(tmp_path) -> None:
    from learning_loop.secrets import KEY_FILE, SecretBox
    from learning_loop.settings import Settings

    settings = Settings(LEARNING_LOOP_HOME=tmp_path / "home")
    sealed = SecretBox(settings).seal({"refresh_token": "r"})
    key = tmp_path / "home" / KEY_FILE
    assert key.stat().st_mode & 0o777 == 0o600
    assert SecretBox(settings).open(sealed) == {"refresh_token": "r"}
    assert b"refresh_token" not in sealed
