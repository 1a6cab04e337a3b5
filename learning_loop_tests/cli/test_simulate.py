"""`shorts-engine simulate`: JSON shape, table, and bad input as one-line errors."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from learning_loop.cli.simulate import simulate
from learning_loop.errors import InvalidInput

SMALL = ["--days", "6", "--per-day", "3", "--seeds", "2", "--workers", "1"]


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("simulate")(simulate)

    @app.command("noop")
    def noop() -> None:  # a second command keeps "simulate" a named subcommand
        pass

    return app


def _invoke(*args: str) -> object:
    return CliRunner().invoke(_app(), ["simulate", *args])


def test_json_lists_every_policy_by_default() -> None:
    # A month: long enough for the seed policy's first experiments to complete.
    result = _invoke("--days", "30", *SMALL[2:], "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["policy"] for r in rows] == ["seed", "thompson", "random", "oracle"]
    for row in rows:
        assert {"policy", "regret_mean", "regret_se", "gap_closed"} <= set(row)
        assert row["regret_mean"] >= 0 and row["regret_se"] >= 0
    by_policy = {r["policy"]: r for r in rows}
    assert by_policy["oracle"]["regret_mean"] == 0.0 and by_policy["oracle"]["gap_closed"] == 1.0
    assert by_policy["random"]["gap_closed"] == 0.0
    # Experiments per channel (issue #16): the learning policies run them, the yardsticks none.
    for row in rows:
        assert row["experiments_completed"] >= row["experiments_decided"] >= 0
        assert row["experiments_decided"] >= row["experiments_wrong"] >= 0
    assert by_policy["seed"]["experiments_completed"] > 0
    assert by_policy["oracle"]["experiments_completed"] == 0
    assert by_policy["oracle"]["days_to_decision_median"] is None


def test_policy_option_repeated_or_comma_separated_and_table() -> None:
    result = _invoke(*SMALL, "--policy", "oracle,seed", "--policy", "thompson", "--json")
    assert result.exit_code == 0, result.output
    assert [r["policy"] for r in json.loads(result.stdout)] == ["seed", "thompson", "oracle"]
    table = _invoke(*SMALL, "--policy", "thompson", "--interaction-sd", "0.1")
    assert table.exit_code == 0, table.output
    assert "thompson" in table.stdout and "gap_closed" in table.stdout


def test_a_weekday_pull_is_a_knob_of_the_channel() -> None:
    """--weekday-sd reaches the channel: the same seeds give other figures, and the JSON says
    the knob."""
    plain = json.loads(_invoke(*SMALL, "--policy", "seed", "--json").stdout)
    pulled = _invoke(*SMALL, "--policy", "seed", "--weekday-sd", "0.5", "--json")
    assert pulled.exit_code == 0, pulled.output
    rows = json.loads(pulled.stdout)
    assert rows[0]["weekday_sd"] == 0.5 and plain[0]["weekday_sd"] == 0.0
    assert rows[0]["regret_mean"] != plain[0]["regret_mean"]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--policy", "greedy"], "policy"),
        (["--days", "0"], "days"),
        (["--per-day", "101"], "per_day"),
        (["--seeds", "0"], "seeds"),
        (["--effect-sd", "-0.1"], "effect_sd"),
        (["--noise-sd", "nan"], "noise_sd"),
        (["--interaction-sd", "-1"], "interaction_sd"),
        (["--weekday-sd", "inf"], "weekday_sd"),
    ],
)
def test_bad_input_raises_invalid_input(args: list[str], field: str) -> None:
    result = _invoke(*args)
    assert result.exit_code != 0
    assert isinstance(result.exception, InvalidInput)
    assert result.exception.field == field


def test_registered_command_prints_one_line_on_bad_input(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from learning_loop import cli

    command = typer.main.get_command(cli.app)
    assert isinstance(command, typer.core.TyperGroup)
    assert "simulate" in command.commands
    assert cli.main(["simulate", "--policy", "greedy"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown policy" in err
