"""Issue #29, point 2: ids a person can type. Tables show ids by their ends, which tell the rows
of one import apart; commands take a project's name, or a unique start or end of an id, and an
ambiguous or unknown one is one line naming the candidates."""

from __future__ import annotations

import json
import re

from learning_loop.domain.refs import short_id


def test_short_ids_tell_imported_videos_apart(cli, samples):
    pid = cli("projects", "create", "--name", "cosmic-facts").out.strip()
    videos = samples / "videos.csv"
    done = cli("learn", "import-videos", "--project", "cosmic-facts", "--file", videos)
    assert done.code == 0, done.err
    rows = json.loads(cli("learn", "videos", "--project", pid, "--json").out)
    ids = [r["id"] for r in rows]
    assert len(ids) == 60 and all(len(i) == 36 for i in ids)  # the JSON keeps full ids
    # The ids of one import share their first 8 digits; their short forms are all different.
    assert len({i[:8] for i in ids}) == 1
    shown = cli("learn", "videos", "--project", pid).out
    assert {s for s in re.findall(r"…[0-9a-f]{8}", shown)} == {short_id(i) for i in ids}

    # Their common start is ambiguous: one line with candidates, a non-zero exit.
    ambiguous = cli("learn", "replan", "--job", ids[0][:8])
    assert ambiguous.code != 0 and len(ambiguous.err.strip().splitlines()) == 1
    assert "matches more than one video job" in ambiguous.err and "…" in ambiguous.err
    unknown = cli("learn", "replan", "--job", "ffff0000")
    assert unknown.code != 0 and "no video job matches 'ffff0000'" in unknown.err
    assert len(unknown.err.strip().splitlines()) == 1
    bad = cli("learn", "replan", "--job", "not-an-id")
    assert bad.code != 0 and "'--job': 'not-an-id' is not an id, nor the start or end" in bad.err


def test_a_project_by_name_or_a_piece_of_its_id_and_a_job_by_its_short_form(cli, tmp_path):
    pid = cli("projects", "create", "--name", "cosmic-facts").out.strip()
    other = cli("projects", "create", "--name", "other").out.strip()
    for ref in ("cosmic-facts", pid, pid[:6], pid.replace("-", "")[-6:], "…" + pid[-8:]):
        shown = cli("projects", "show", "--project", ref, "--json")
        assert shown.code == 0, (ref, shown.err)
        assert json.loads(shown.out)["id"] == pid
    missing = cli("projects", "show", "--project", "no-such-channel")
    assert missing.code != 0 and len(missing.err.strip().splitlines()) == 1
    assert "'no-such-channel'" in missing.err and "project" in missing.err

    topics = tmp_path / "topics.txt"
    topics.write_text("a topic\nanother topic\n")
    planned = cli(
        "learn",
        "plan-next",
        "--project",
        "cosmic-facts",
        "--topics-file",
        topics,
        "--count",
        "2",
        "--wait",
    )
    assert planned.code == 0, planned.err
    job = re.findall(r"…[0-9a-f]{8}", planned.out)[0]  # as the table prints it
    published = cli(
        "learn",
        "publish",
        "--project",
        "cosmic-facts",
        "--job",
        job,
        "--external-id",
        "yt-1",
        "--json",
    )
    assert published.code == 0, published.err
    full = json.loads(published.out)["id"]
    assert short_id(full) == job
    # Within another project, the same short form names no job.
    elsewhere = cli("learn", "publish", "--project", other, "--job", job, "--external-id", "yt-2")
    assert elsewhere.code != 0 and "no video job matches" in elsewhere.err

    made = json.loads(cli("tokens", "create", "--project", "cosmic-facts", "--json").out)
    revoked = cli("tokens", "revoke", "--id", made["id"][:8])
    assert revoked.code == 0, revoked.err
    assert made["id"] in revoked.out
