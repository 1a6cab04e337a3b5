"""Every command's failure path is one `error:` line and a non-zero exit (issue #29, point 9):
a supervisor must never take a failed command for a success."""

from __future__ import annotations

import pytest
import typer

from learning_loop.cli import app

NOBODY = "00000000-0000-0000-0000-000000000009"
UNSUPPORTED = {"LEARNING_LOOP_DATABASE_URL": "mysql://user@db/loop"}

# One failing invocation per command, with the environment it needs.
FAILURES: dict[str, tuple[list[str], dict[str, str]]] = {
    "demo": (["demo", "--days", "0"], {}),
    "sample": (["sample"], UNSUPPORTED),
    "simulate": (["simulate", "--seeds", "0"], {}),
    "projects connect-youtube": (
        ["projects", "connect-youtube", "--project", NOBODY, "--credentials-file", "nope.json"],
        {},
    ),
    "projects disconnect-youtube": (["projects", "disconnect-youtube", "--project", NOBODY], {}),
    "projects create": (["projects", "create", "--name", "   "], {}),
    "projects list": (["projects", "list"], UNSUPPORTED),
    "projects configure": (["projects", "configure", "--project", NOBODY, "--top-k", "3"], {}),
    "projects show": (["projects", "show", "--project", NOBODY], {}),
    "learn plan-video": (["learn", "plan-video", "--idea", "   "], {}),
    "learn collect-metrics": (["learn", "collect-metrics", "--project", NOBODY], {}),
    "learn metrics": (["learn", "metrics", "--project", NOBODY], {}),
    "learn import-videos": (
        ["learn", "import-videos", "--project", NOBODY, "--file", "no.csv"],
        {},
    ),
    "learn backfill": (["learn", "backfill", "--project", NOBODY], {}),
    "learn ingest-metrics": (
        ["learn", "ingest-metrics", "--project", NOBODY, "--file", "no.csv"],
        {},
    ),
    "learn publish": (
        ["learn", "publish", "--project", NOBODY, "--job", NOBODY, "--external-id", "x"],
        {},
    ),
    "learn update-stats": (["learn", "update-stats", "--project", NOBODY], {}),
    "learn evaluate-experiments": (["learn", "evaluate-experiments", "--project", NOBODY], {}),
    "learn run-status": (["learn", "run-status", "--run", NOBODY], {}),
    "learn report": (["learn", "report", "--project", NOBODY], {}),
    "learn runs": (["learn", "runs", "--limit", "0"], {}),
    "learn videos": (["learn", "videos", "--project", NOBODY], {}),
    "learn video-plans": (["learn", "video-plans", "--project", NOBODY], {}),
    "learn replan": (["learn", "replan", "--job", NOBODY], {}),
    "learn recipes": (["learn", "recipes", "--project", NOBODY], {}),
    "learn insights": (["learn", "insights", "--project", NOBODY], {}),
    "learn experiments": (["learn", "experiments", "--project", NOBODY], {}),
    "learn stats": (["learn", "stats", "--project", NOBODY], {}),
    "learn recommend": (["learn", "recommend", "--project", NOBODY], {}),
    "learn plan-next": (["learn", "plan-next", "--project", NOBODY], {}),
    "db upgrade": (["db", "upgrade"], UNSUPPORTED),
    "db current": (["db", "current"], UNSUPPORTED),
    "api serve": (["api", "serve"], {"LEARNING_LOOP_ADMIN_TOKEN": ""}),
    "tokens create": (["tokens", "create", "--project", NOBODY], {}),
    "tokens list": (["tokens", "list"], UNSUPPORTED),
    "tokens revoke": (["tokens", "revoke", "--id", NOBODY], {}),
}


def _commands() -> set[str]:
    found: set[str] = set()

    def walk(command, prefix: tuple[str, ...]) -> None:
        subs = getattr(command, "commands", None)
        if subs is None:
            found.add(" ".join(prefix))
            return
        for name, sub in subs.items():
            walk(sub, (*prefix, name))

    walk(typer.main.get_command(app), ())
    return found


def test_every_command_has_a_failure_case():
    assert set(FAILURES) == _commands()


@pytest.mark.parametrize("name", sorted(FAILURES))
def test_a_failing_command_exits_non_zero_with_one_error_line(name, cli, monkeypatch):
    from learning_loop.cli import common

    args, env = FAILURES[name]
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    common.reset()
    result = cli(*args)
    assert result.code != 0, (name, result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), (name, result.err)
    assert "Traceback" not in result.err
