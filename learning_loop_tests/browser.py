"""Headless Chromium for the tests that check a page as a user's browser shows it: the report's
charts, the API's docs. CI installs Debian's chromium; elsewhere these tests are skipped."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# No host but the loopback resolves: a page that needs a CDN finds none, as on an offline
# machine.
OFFLINE = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


def browser_or_skip() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs Debian's chromium")
        pytest.skip("needs Debian's chromium: apt-get install chromium")
    return CHROMIUM


def dump_dom(url: str, profile: Path, *flags: str, budget_ms: int = 3000) -> str:
    """The page's DOM once its scripts have run for `budget_ms` of virtual time."""
    return subprocess.run(
        [
            browser_or_skip(),
            *FLAGS,
            *flags,
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={budget_ms}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
