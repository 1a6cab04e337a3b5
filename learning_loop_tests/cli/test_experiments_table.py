"""The experiments table (`learn experiments`, the demo): the p-value of the test that decided,
and the winner with why a completed experiment has none."""

import pytest

from learning_loop.cli.recipes import _deciding_p, _winner_text
from learning_loop.services.views import ExperimentView


def _view(**fields: object) -> ExperimentView:
    base: dict[str, object] = {
        "winner": "inconclusive",
        "reason": "not_significant",
        "p_value": 0.026,
        "pooled_p_value": None,
        "decision_rule": None,
    }
    return ExperimentView.model_construct(**{**base, **fields})


@pytest.mark.parametrize(
    ("fields", "allocation", "shown"),
    [
        ({}, None, "inconclusive"),  # not significant: the p column says it
        ({"reason": "insufficient_samples"}, None, "inconclusive (too few videos)"),
        ({"reason": "guardrail"}, None, "inconclusive (guardrail)"),
        ({"reason": "sample_ratio_mismatch"}, None, "inconclusive (allocation mismatch)"),
        ({"winner": "variant", "reason": "significant"}, None, "variant"),
        ({"winner": "baseline", "reason": "significant"}, None, "baseline"),
        ({"winner": None, "reason": None}, 0.0001, "waits: allocation mismatch"),
        ({"winner": None, "reason": None}, 0.2, None),
        ({"winner": None, "reason": None}, None, None),
    ],
)
def test_the_winner_cell_says_why_there_is_none(fields, allocation, shown):
    assert _winner_text(_view(**fields), allocation) == shown


@pytest.mark.parametrize(
    ("fields", "shown"),
    [
        # A final look judged with the pooled contrast: its p-value, not the arms' (0.026),
        # which decided nothing there.
        ({"decision_rule": "fixed_look", "pooled_p_value": 0.32}, 0.32),
        ({"decision_rule": "fixed_look"}, 0.026),  # the arms-only rule: the Welch look decided
        ({"decision_rule": "pooled_look", "p_value": 0.01, "pooled_p_value": 0.2}, 0.01),
        ({"decision_rule": "sequential", "p_value": 0.004, "pooled_p_value": 0.3}, 0.004),
    ],
)
def test_the_p_column_is_the_deciding_tests(fields, shown):
    assert _deciding_p(_view(**fields)) == shown
