"""The collector as a user meets it: `projects connect-youtube`, `learn collect-metrics` (a real
Dagster run of the `collect_metrics` job) and `learn metrics`, on both databases, against
the local stand-in for Google. No secret reaches any output, log or run record."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from learning_loop_tests.conftest import CliResult
from learning_loop_tests.fake_google import FakeGoogle, FakeVideo, serve_fake_google


@pytest.fixture
def google(cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGoogle]:
    from learning_loop.cli import common

    with serve_fake_google() as fake:
        for key, value in {
            **fake.env(),
            "LEARNING_LOOP_SECRET_KEY": Fernet.generate_key().decode(),
            "LEARNING_LOOP_COLLECTOR_BACKOFF_S": "0",
            "LEARNING_LOOP_COLLECTOR_TIMEOUT_S": "10",
        }.items():
            monkeypatch.setenv(key, value)
        common.reset()
        yield fake
    common.reset()


def _ok(result: CliResult) -> str:
    assert result.code == 0, result.err
    return result.out


def _project_with_videos(
    cli: Callable[..., CliResult], tmp_path: Path, ages: list[dt.timedelta]
) -> tuple[str, list[str]]:
    pid = _ok(cli("projects", "create", "--name", "channel")).strip()
    now = dt.datetime.now(dt.UTC)
    lines = [
        json.dumps(
            {
                "external_id": f"yt{i}",
                "topic": f"topic {i}",
                "published_at": (now - age).isoformat(),
                "preset": "DARK_DYSTOPIAN_ANIME",
                "hook_type": "question",
                "scene_count": 7,
                "narration_wpm": 140,
                "caption_density": 0.45,
                "ending_type": "cliffhanger",
            }
        )
        for i, age in enumerate(ages)
    ]
    videos = tmp_path / "videos.jsonl"
    videos.write_text("\n".join(lines) + "\n")
    _ok(cli("learn", "import-videos", "--project", pid, "--file", videos))
    return pid, [f"yt{i}" for i in range(len(ages))]


def _secrets(google: FakeGoogle) -> list[str]:
    return [google.client_secret, google.refresh_token, *google.tokens]


def test_connect_collect_and_list_through_the_cli(
    cli: Callable[..., CliResult], google: FakeGoogle, tmp_path: Path
) -> None:
    pid, ids = _project_with_videos(cli, tmp_path, [dt.timedelta(hours=6, minutes=3)] * 3)
    google.videos = {v: FakeVideo(views=400, likes=9, comments=2) for v in ids}
    google.videos[ids[0]].average_view_duration = 27
    google.videos[ids[2]].available = False
    creds = tmp_path / "credentials.json"
    creds.write_text(json.dumps(google.credential()))
    outputs = [
        _ok(cli("projects", "connect-youtube", "--project", pid, "--credentials-file", creds))
    ]
    assert "connected to YouTube channel Fake channel" in outputs[0]
    collected = cli("learn", "collect-metrics", "--project", pid, "--json")
    outputs.append(_ok(collected))
    result = json.loads(collected.out)
    assert result["status"] == "SUCCESS"
    assert (result["videos_polled"], result["snapshots_written"], result["quota_units"]) == (
        2,
        2,
        1,
    )
    assert result["videos_gone"] == 1
    listed = json.loads(_ok(cli("learn", "metrics", "--project", pid, "--json")))
    assert {r["external_id"] for r in listed} == {ids[0], ids[1]}
    first = next(r for r in listed if r["external_id"] == ids[0])
    assert first["views_6h"] == 400 and first["source"] == "collector"
    assert first["avg_view_duration_s"] == 27
    second = next(r for r in listed if r["external_id"] == ids[1])
    assert second["avg_view_duration_s"] is None  # waiting for analytics
    one = json.loads(
        _ok(cli("learn", "metrics", "--project", pid, "--external-id", ids[1], "--json"))
    )
    assert [r["external_id"] for r in one] == [ids[1]]
    outputs.append(_ok(cli("learn", "metrics", "--project", pid)))
    shown = _ok(cli("projects", "show", "--project", pid))
    outputs.append(shown)
    assert "connected to YouTube channel" in shown and "1 gone" in shown
    outputs.append(_ok(cli("projects", "show", "--project", pid, "--json")))
    outputs.append(_ok(cli("learn", "stats", "--project", pid, "--json")))
    # A second pass right away finds nothing due and writes nothing.
    again = json.loads(_ok(cli("learn", "collect-metrics", "--project", pid, "--json")))
    assert (again["videos_polled"], again["snapshots_written"]) == (0, 0)
    text = "\n".join(outputs)
    for secret in _secrets(google):
        assert secret not in text
    # Nor in any file of the home (the Dagster instance's runs, logs and event records).
    home = Path(cli_home(cli))
    for path in home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in _secrets(google):
                assert secret.encode() not in data, path.name


def cli_home(cli: Callable[..., CliResult]) -> str:
    import os

    return os.environ["LEARNING_LOOP_HOME"]


def test_a_refused_credential_is_one_line_and_stores_nothing(
    cli: Callable[..., CliResult], google: FakeGoogle, tmp_path: Path
) -> None:
    pid, _ = _project_with_videos(cli, tmp_path, [dt.timedelta(hours=2)])
    creds = tmp_path / "credentials.json"
    creds.write_text(json.dumps(google.credential()))
    google.revoked = True
    refused = cli("projects", "connect-youtube", "--project", pid, "--credentials-file", creds)
    assert refused.code != 0 and "invalid_grant" in refused.err
    assert len(refused.err.strip().splitlines()) == 1 and "Traceback" not in refused.err
    assert "not connected" in _ok(cli("projects", "show", "--project", pid))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    broken = cli("projects", "connect-youtube", "--project", pid, "--credentials-file", bad)
    assert broken.code != 0 and "not JSON" in broken.err
    missing = cli("learn", "collect-metrics", "--project", pid)
    assert missing.code != 0 and "not connected to YouTube" in missing.err
    # Connected, then revoked: the pass marks the connection broken, in one line.
    google.revoked = False
    _ok(cli("projects", "connect-youtube", "--project", pid, "--credentials-file", creds))
    google.revoked = True
    google.expire_tokens()
    revoked = cli("learn", "collect-metrics", "--project", pid)
    assert revoked.code != 0 and "broken" in revoked.err and "invalid_grant" in revoked.err
    assert len(revoked.err.strip().splitlines()) == 1 and "Traceback" not in revoked.err
    assert "BROKEN" in _ok(cli("projects", "show", "--project", pid))
    assert "BROKEN" in _ok(cli("learn", "stats", "--project", pid))
    assert _ok(cli("projects", "disconnect-youtube", "--project", pid))
    assert "not connected" in _ok(cli("projects", "show", "--project", pid))


def test_a_deployment_on_postgresql_needs_its_key(
    cli: Callable[..., CliResult],
    google: FakeGoogle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from learning_loop.cli import common

    pid, _ = _project_with_videos(cli, tmp_path, [dt.timedelta(hours=2)])
    monkeypatch.delenv("LEARNING_LOOP_SECRET_KEY")
    common.reset()
    creds = tmp_path / "credentials.json"
    creds.write_text(json.dumps(google.credential()))
    out = cli("projects", "connect-youtube", "--project", pid, "--credentials-file", creds)
    assert out.code != 0 and "LEARNING_LOOP_SECRET_KEY is not set" in out.err
    assert len(out.err.strip().splitlines()) == 1
