"""SIGKILL mid-write (issue #30, fault injection): an import killed at any moment leaves all
of its rows or none, and the same command run again writes each row exactly once."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from sqlalchemy import func, select

from learning_loop.db.engine import Database
from learning_loop.db.models import VideoJob
from learning_loop_tests.factories import video_row
from learning_loop_tests.processes import BIN, clean_env

ROWS = 60_000


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "shorts-engine"), *args], env=env, capture_output=True, text=True, timeout=300
    )


def test_a_killed_import_leaves_all_or_nothing_and_a_rerun_writes_once(
    database_url: str, tmp_path: Path
) -> None:
    env = clean_env(
        LEARNING_LOOP_HOME=str(tmp_path / "home"), LEARNING_LOOP_DATABASE_URL=database_url
    )
    made = _run(env, "projects", "create", "--name", "killed")
    assert made.returncode == 0, made.stderr
    pid = made.stdout.strip()
    path = tmp_path / "videos.jsonl"
    path.write_text(
        "\n".join(
            json.dumps(video_row(i, external_id=f"k{i}", published_at="2026-10-01T00:00:00Z"))
            for i in range(ROWS)
        )
        + "\n"
    )
    db = Database.from_url(database_url)

    def count() -> int:
        with db.read() as session:
            return session.scalar(select(func.count()).select_from(VideoJob)) or 0

    try:
        for delay in (0.5, 1.5, 3.0):
            proc = subprocess.Popen(
                [str(BIN / "shorts-engine"), "learn", "import-videos", "--project", pid,
                 "--file", str(path)],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            assert count() in (0, ROWS), f"killed after {delay} s: {count()} rows"
            if count() == ROWS:
                break
        again = _run(env, "learn", "import-videos", "--project", pid, "--file", str(path))
        assert again.returncode == 0, again.stderr
        assert count() == ROWS
        once_more = _run(env, "learn", "import-videos", "--project", pid, "--file", str(path))
        assert "imported 0 video(s)" in once_more.stdout and count() == ROWS
    finally:
        db.dispose()
