"""The service modules the commands use, named once and imported on first use.

A command module imports its services from here (`from learning_loop.cli.services import
runs`): each name stands for its module and imports it, through `lazy.lazy_module`, when a
command first reads one of its attributes, so the CLI starts without SQLAlchemy or pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from learning_loop.lazy import lazy_module

__all__ = [
    "collector",
    "experiments",
    "ingest",
    "planning",
    "projects",
    "refs",
    "runs",
    "stats",
    "tokens",
    "video_jobs",
    "video_plans",
]

if TYPE_CHECKING:
    from learning_loop.services import (
        collector,
        experiments,
        ingest,
        planning,
        projects,
        refs,
        runs,
        stats,
        tokens,
        video_jobs,
        video_plans,
    )
else:
    collector = lazy_module("learning_loop.services.collector")
    experiments = lazy_module("learning_loop.services.experiments")
    ingest = lazy_module("learning_loop.services.ingest")
    planning = lazy_module("learning_loop.services.planning")
    projects = lazy_module("learning_loop.services.projects")
    refs = lazy_module("learning_loop.services.refs")
    runs = lazy_module("learning_loop.services.runs")
    stats = lazy_module("learning_loop.services.stats")
    tokens = lazy_module("learning_loop.services.tokens")
    video_jobs = lazy_module("learning_loop.services.video_jobs")
    video_plans = lazy_module("learning_loop.services.video_plans")
