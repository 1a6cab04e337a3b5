"""A seeded synthetic audience for the demo, the tests and the learning-efficiency benchmarks.

`SimulatedChannel(ChannelConfig(seed=...))` hides a true effect for every recipe field value
(optionally topic effects, pairwise interactions and a slow drift), turns recipes into realistic
metric snapshots, and exposes the ground truth: the expected contract §3 reward of every recipe and
the best recipe, so that a policy's regret can be measured. The model is described in
`learning_loop/simulation/channel.py` and `learning_loop/simulation/README.md`.
"""

from __future__ import annotations

from learning_loop.lazy import lazy_exports

__all__ = [
    "DEFAULT_CAPTURE_OFFSETS",
    "METRIC_NAMES",
    "ChannelConfig",
    "SimVideo",
    "SimulatedChannel",
    "smoothed_rank",
]


# Lazy: `learning_loop.simulation.policy_names` (the CLI's help) must not import pandas.
__getattr__ = lazy_exports(__name__, dict.fromkeys(__all__, ".channel"))
