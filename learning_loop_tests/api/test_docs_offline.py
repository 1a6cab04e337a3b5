"""Issue #29, point 7: `/docs` and `/redoc` work on a machine with no internet. Their assets come
from the server itself; headless Chromium, with every host name unresolvable, renders both
pages from a real server's OpenAPI document."""

from __future__ import annotations

import re

import httpx

from learning_loop_tests.api.conftest import TOKEN
from learning_loop_tests.api.test_server import Server
from learning_loop_tests.browser import OFFLINE, dump_dom

# A route's summary: only a page whose script ran and read /openapi.json shows it.
SUMMARY = "Start the stats run"


def test_docs_and_redoc_render_with_the_network_blocked(tmp_path):
    server = Server(
        tmp_path,
        {"LEARNING_LOOP_ADMIN_TOKEN": TOKEN, "LEARNING_LOOP_HOME": str(tmp_path / "home")},
    )
    try:
        server.wait_ready()
        for page in ("/docs", "/redoc"):
            html = httpx.get(f"{server.url}{page}", timeout=10).text
            # Every asset the page names is the server's own, and the server serves it.
            urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
            assert urls and all(u.startswith("/") for u in urls), urls
            for url in urls:
                assert httpx.get(f"{server.url}{url}", timeout=10).status_code == 200, url
        swagger = dump_dom(f"{server.url}/docs", tmp_path / "profile-docs", *OFFLINE)
        assert 'class="swagger-ui' in swagger and SUMMARY in swagger, swagger[-2000:]
        redoc = dump_dom(
            f"{server.url}/redoc", tmp_path / "profile-redoc", *OFFLINE, budget_ms=8000
        )
        assert SUMMARY in redoc, redoc[-2000:]
    finally:
        server.stop()
