"""Schemathesis against the app's own schema: no server error, no answer outside the schema."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learning_loop_tests.api.conftest import ADMIN, TOKEN
from learning_loop_tests.api.test_openapi import ROUTES

# A dev dependency (pinned in the lock); without it only the fuzzing is skipped.
schemathesis = pytest.importorskip("schemathesis")
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# Examples per operation and generation mode; PostgreSQL runs half as many (same SQL, slower).
EXAMPLES = int(os.environ.get("LEARNING_LOOP_API_FUZZ_EXAMPLES", "30"))

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]
# schemathesis' own pytest loader (`from_fixture`) does not run on pytest 9 (it reads
# `node._nodeid`), so each operation gets a plain test driving hypothesis itself.
OPERATIONS = [(m, p, mode) for m, p in sorted(ROUTES) for mode in ("positive", "negative")]


@pytest.mark.skipif(EXAMPLES == 0, reason="LEARNING_LOOP_API_FUZZ_EXAMPLES=0")
@pytest.mark.parametrize(("method", "path", "mode"), [*OPERATIONS, ("get", "/health", "positive")])
def test_fuzz_the_schema(app, world, backend, method, path, mode):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operation = schema[path if path == "/health" else ADMIN + path][method.upper()]
    generation = GenerationMode(mode)
    # Random ids mostly find nothing (404); half the cases point at the world's real objects
    # so that the services' own checks and writes are reached too.
    real = {"project_id": world.pid, "job_id": world.job, "request_id": world.request}
    in_query = {p.name for p in operation.query} & set(real)
    in_path = {p.name for p in operation.path_parameters} & set(real)
    strategy = operation.as_strategy(generation)
    if in_query or in_path:
        strategy = strategy | operation.as_strategy(
            generation,
            query={k: real[k] for k in in_query},
            path_parameters={k: real[k] for k in in_path},
        )

    @given(case=strategy, point_at_world=st.booleans())
    @settings(
        max_examples=EXAMPLES if backend == "sqlite" else max(1, EXAMPLES // 2),
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case, point_at_world):
        if point_at_world and isinstance(case.body, dict) and "project_id" in case.body:
            case.body["project_id"] = world.pid
        case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS)

    check()
