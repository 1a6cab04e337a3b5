"""The import progress bar: drawn on a terminal, never with --json or into a pipe."""

from __future__ import annotations

import csv
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from learning_loop.services.ingest import VIDEO_COLUMNS
from learning_loop_tests.services.test_bulk_import import video

EXE = Path(sys.executable).parent / "shorts-engine"

pytestmark = pytest.mark.parametrize("backend_only", ["sqlite"])


def in_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run the CLI with both outputs on a pseudo-terminal; its exit code and what it drew."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [str(EXE), *args], env=env, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower
    )
    os.close(follower)
    out = b""
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process is gone
            break
        if not data:
            break
        out += data
    os.close(leader)
    return proc.wait(timeout=120), out.decode("utf-8", "replace")


@pytest.fixture
def setup(tmp_path, backend_only):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEARNING_LOOP_", "DAGSTER_"))}
    env |= {"LEARNING_LOOP_HOME": str(tmp_path / "home"), "COLUMNS": "160", "TERM": "xterm"}
    made = subprocess.run(
        [str(EXE), "projects", "create", "--name", "p"],
        env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    # The first command on a fresh home migrates the embedded database, silently.
    assert made.stderr == ""
    path = tmp_path / "videos.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(VIDEO_COLUMNS)
        w.writerows(video(i) for i in range(3000))
    return env, made.stdout.strip(), path


def test_a_terminal_sees_rows_per_second_and_time_left(setup):
    env, pid, path = setup
    code, drawn = in_terminal(
        ["learn", "import-videos", "--project", pid, "--file", str(path)], env
    )
    assert code == 0, drawn
    assert "importing videos.csv" in drawn and "rows/s" in drawn and "3,000 rows" in drawn
    assert "imported 3000 video(s), 0 already present" in drawn


def test_no_bar_with_json_or_into_a_pipe(setup):
    env, pid, path = setup
    code, drawn = in_terminal(
        ["learn", "import-videos", "--project", pid, "--file", str(path), "--json"], env
    )
    assert code == 0 and "rows/s" not in drawn
    assert json.loads(drawn)["imported"] == 3000
    piped = subprocess.run(
        [str(EXE), "learn", "import-videos", "--project", pid, "--file", str(path)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert piped.returncode == 0 and piped.stderr == ""
    assert piped.stdout == "imported 0 video(s), 3000 already present\n"
