"""The OpenAPI schema documents every route with its models and its error answers."""

from __future__ import annotations

from learning_loop_tests.api.conftest import ADMIN

ROUTES = {
    ("get", "/recommendations"),
    ("get", "/recipes"),
    ("get", "/insights"),
    ("get", "/experiments"),
    ("get", "/stats"),
    ("post", "/backfill-recipes"),
    ("post", "/update-stats"),
    ("post", "/evaluate-experiments"),
    ("post", "/projects"),
    ("get", "/projects"),
    ("get", "/projects/{project_id}"),
    ("patch", "/projects/{project_id}"),
    ("post", "/videos/import"),
    ("post", "/metrics"),
    ("get", "/video-jobs"),
    ("post", "/video-jobs/{job_id}/publish"),
    ("post", "/video-jobs/{job_id}/replan"),
    ("post", "/plan-requests"),
    ("get", "/plan-requests/{request_id}"),
    ("get", "/report"),
    ("get", "/runs/{run_id}"),
    ("get", "/runs"),
    ("put", "/projects/{project_id}/youtube"),
    ("delete", "/projects/{project_id}/youtube"),
    ("post", "/collect-metrics"),
    ("get", "/metrics"),
}
HTML_ROUTES = {"/report"}


def test_every_route_is_documented_with_models(app):
    schema = app.openapi()
    found = {
        (method, path.removeprefix(ADMIN))
        for path, operations in schema["paths"].items()
        for method in operations
        if path.startswith(ADMIN)
    }
    assert found == ROUTES
    assert set(schema["paths"]["/health"]) == {"get"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            ok = [c for c in operation["responses"] if c.startswith("2")]
            assert len(ok) == 1, (method, path)
            if path.removeprefix(ADMIN) in HTML_ROUTES:
                assert "text/html" in operation["responses"][ok[0]]["content"], path
                continue
            content = operation["responses"][ok[0]]["content"]["application/json"]
            assert "$ref" in content["schema"], (method, path)  # a named response model
            for code, answer in operation["responses"].items():
                if code.startswith(("4", "5")) and path != "/health":
                    ref = answer["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/ErrorBody"), (method, path, code)
            names = {p["name"] for p in operation.get("parameters", [])}
            if method == "get" and operation["responses"][ok[0]]["content"]["application/json"][
                "schema"
            ]["$ref"].endswith("Page"):
                assert {"limit", "offset"} <= names, path
