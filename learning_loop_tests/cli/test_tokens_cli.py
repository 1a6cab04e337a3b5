"""`shorts-engine tokens create|list|revoke` (issue #30, finding 8): a token is shown once,
stored as a digest, listed by its first characters, and revoked for good."""

from __future__ import annotations

import json


def test_create_list_revoke(cli):
    pid = cli("projects", "create", "--name", "tokens").out.strip()
    made = cli("tokens", "create", "--project", pid, "--read-only", "--name", "dashboard")
    assert made.code == 0, made.err
    token = made.out.strip().splitlines()[-1]
    assert token.startswith("llp_") and "read-only" in made.out
    as_json = json.loads(cli("tokens", "create", "--project", pid, "--json").out)
    assert as_json["token"].startswith("llp_") and as_json["read_only"] is False
    listed = cli("tokens", "list", "--project", pid, "--json")
    rows = json.loads(listed.out)
    assert len(rows) == 2 and all("token" not in r for r in rows)
    assert token not in listed.out and as_json["token"] not in listed.out
    table = cli("tokens", "list")
    assert token[:10] in table.out and token not in table.out
    first = next(r["id"] for r in rows if r["name"] == "dashboard")
    assert cli("tokens", "revoke", "--id", first).code == 0
    again = cli("tokens", "revoke", "--id", first)
    assert again.code != 0 and "already revoked" in again.err
    unknown = cli("tokens", "create", "--project", "00000000-0000-0000-0000-000000000009")
    assert unknown.code != 0 and "no project" in unknown.err
    assert len(unknown.err.strip().splitlines()) == 1
