import datetime as dt

import pytest
from sqlalchemy import func, select

from learning_loop.db.models import MetricSnapshot, Recipe, VideoJob
from learning_loop.domain.recipe import Recipe as DomainRecipe
from learning_loop.errors import InvalidFile, InvalidInput
from learning_loop.services.ingest import (
    METRIC_COLUMNS,
    VIDEO_COLUMNS,
    backfill_recipes,
    import_videos,
    ingest_metrics,
)
from learning_loop.services.rows import read_rows
from learning_loop.services.video_jobs import list_videos
from learning_loop_tests.factories import T0, metric_row, numbered, project, video_row


def count(db, model):
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_import_sample_file_twice_adds_nothing(db, samples):
    pid = project(db)
    rows = read_rows(samples / "videos.csv", VIDEO_COLUMNS)
    first = import_videos(db, pid, rows)
    assert first.imported == len(rows) == 60 and first.unchanged == 0
    second = import_videos(db, pid, read_rows(samples / "videos.csv", VIDEO_COLUMNS))
    assert second.imported == 0 and second.unchanged == 60
    videos = list_videos(db, pid)
    assert len(videos) == 60
    assert {v.generation_mode for v in videos} == {"manual"}
    assert {v.status for v in videos} == {"published"}
    assert all(v.recipe_hash is None for v in videos)


def test_jsonl_import(db, tmp_path):
    import json

    pid = project(db)
    path = tmp_path / "videos.jsonl"
    path.write_text("\n".join(json.dumps(video_row(i)) for i in range(3)) + "\n")
    assert import_videos(db, pid, read_rows(path, VIDEO_COLUMNS)).imported == 3


def test_bad_rows_reject_the_whole_file_with_line_numbers(db, tmp_path):
    pid = project(db)
    path = tmp_path / "videos.csv"
    header = ",".join(VIDEO_COLUMNS)
    path.write_text(
        "\n".join(
            [
                header,
                "a1,Good topic,2026-10-01T10:00:00Z,DARK_DYSTOPIAN_ANIME,question,7,140,0.4,loop",
                "a2,Bad hook,2026-10-01T10:00:00Z,DARK_DYSTOPIAN_ANIME,shout,7,140,0.4,loop",
                "a3,Bad scenes,2026-10-01T10:00:00Z,DARK_DYSTOPIAN_ANIME,question,11,140,0.4,loop",
                "a4,Bad wpm,2026-10-01T10:00:00Z,DARK_DYSTOPIAN_ANIME,question,7,-3,0.4,loop",
                "a5,Bad date,yesterday,DARK_DYSTOPIAN_ANIME,question,7,140,0.4,loop",
                "a6,Bad preset,2026-10-01T10:00:00Z,NOPE,question,7,140,0.4,loop",
                "a1,Repeated id,2026-10-01T10:00:00Z,DARK_DYSTOPIAN_ANIME,question,7,140,0.4,loop",
            ]
        )
    )
    with pytest.raises(InvalidFile) as info:
        import_videos(db, pid, read_rows(path, VIDEO_COLUMNS), what="videos.csv")
    lines = [e.line for e in info.value.errors]
    assert lines == [3, 4, 5, 6, 7, 8]
    reasons = " | ".join(e.reason for e in info.value.errors)
    for needle in (
        "hook_type",
        "scene_count",
        "narration_wpm",
        "published_at",
        "catalogue",
        "repeats line 2",
    ):
        assert needle in reasons
    assert "videos.csv rejected" in info.value.message
    assert count(db, VideoJob) == 0


def test_broken_files(tmp_path):
    # Reading fails before any import: no database is involved.
    missing = tmp_path / "missing.csv"
    with pytest.raises(InvalidInput, match="not found"):
        read_rows(missing, VIDEO_COLUMNS)
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00\x01garbage")
    with pytest.raises(InvalidInput, match="not UTF-8|not a text"):
        read_rows(binary, VIDEO_COLUMNS)
    header_only = tmp_path / "h.csv"
    header_only.write_text("external_id,topic\nx,y\n")
    with pytest.raises(InvalidInput, match="lacks column"):
        read_rows(header_only, VIDEO_COLUMNS)
    bad_json = tmp_path / "bad.jsonl"
    bad_json.write_text('{"external_id": "x"}\n{not json\n')
    with pytest.raises(InvalidFile, match="line 2"):
        read_rows(bad_json, VIDEO_COLUMNS)


def test_changed_data_for_known_id_is_an_error(db):
    pid = project(db)
    import_videos(db, pid, numbered([video_row(1)]))
    with pytest.raises(InvalidFile, match="different data"):
        import_videos(db, pid, numbered([video_row(2), video_row(1, topic="Other")]))
    assert count(db, VideoJob) == 1


def test_old_videos_may_share_topic_and_recipe(db):
    pid = project(db)
    rows = [video_row(1, topic="Same"), video_row(2, topic="same  ")]
    assert import_videos(db, pid, numbered(rows)).imported == 2
    assert backfill_recipes(db, pid).videos_backfilled == 2


def test_backfill_buckets_raw_values(db):
    pid = project(db)
    rows = [
        video_row(1, narration_wpm=119.9, caption_density=0.29),
        video_row(2, narration_wpm=120, caption_density=0.3),
        video_row(3, narration_wpm=160, caption_density=0.6),
        video_row(4, narration_wpm=160.1, caption_density=0.61),
    ]
    import_videos(db, pid, numbered(rows))
    result = backfill_recipes(db, pid)
    assert result.videos_backfilled == 4 and result.recipes_created == 3
    by_id = {v.external_id: v for v in list_videos(db, pid)}
    assert by_id["v1"].recipe.narration_wpm_bucket == "slow"
    assert by_id["v1"].recipe.caption_density_bucket == "sparse"
    assert by_id["v2"].recipe_hash == by_id["v3"].recipe_hash
    assert by_id["v4"].recipe.narration_wpm_bucket == "fast"
    expected = DomainRecipe("DARK_DYSTOPIAN_ANIME", "question", 7, "fast", "dense", "cliffhanger")
    assert by_id["v4"].recipe_hash == expected.recipe_hash
    again = backfill_recipes(db, pid)
    assert again.videos_backfilled == 0 and again.recipes_created == 0
    with db.read() as s:
        used = dict(s.execute(select(Recipe.recipe_hash, Recipe.times_used)).all())
    assert used[by_id["v2"].recipe_hash] == 2


def test_ingest_sample_metrics_twice(db, samples):
    pid = project(db)
    import_videos(db, pid, read_rows(samples / "videos.csv", VIDEO_COLUMNS))
    rows = read_rows(samples / "metrics.csv", METRIC_COLUMNS)
    first = ingest_metrics(db, pid, rows)
    assert first.ingested == len(rows) and first.unchanged == 0
    second = ingest_metrics(db, pid, read_rows(samples / "metrics.csv", METRIC_COLUMNS))
    assert second.ingested == 0 and second.unchanged == len(rows)
    assert count(db, MetricSnapshot) == len(rows)


def test_invalid_metric_rows_reject_everything(db):
    pid = project(db)
    import_videos(db, pid, numbered([video_row(1)]))
    after = T0 + dt.timedelta(days=2)
    rows = [
        metric_row("v1", after),
        metric_row("nope", after),
        metric_row("v1", after + dt.timedelta(hours=1), views=10, views_6h=20),
        metric_row("v1", after + dt.timedelta(hours=2), likes=-1),
        metric_row("v1", after + dt.timedelta(hours=3), avg_view_duration_s="nan"),
        metric_row("v1", after + dt.timedelta(hours=4), views="12.5"),
        metric_row("v1", T0 - dt.timedelta(days=3)),
        metric_row("v1", after),
    ]
    with pytest.raises(InvalidFile) as info:
        ingest_metrics(db, pid, numbered(rows))
    assert [e.line for e in info.value.errors] == [2, 3, 4, 5, 6, 7, 8]
    text = info.value.message
    for needle in (
        "not a published video",
        "views_6h",
        "likes must be >= 0",
        "finite",
        "whole number",
        "before the video was published",
        "same external_id",
    ):
        assert needle in text
    assert count(db, MetricSnapshot) == 0


def test_changed_snapshot_is_an_error(db):
    pid = project(db)
    import_videos(db, pid, numbered([video_row(1)]))
    at = T0 + dt.timedelta(days=2)
    ingest_metrics(db, pid, numbered([metric_row("v1", at)]))
    with pytest.raises(InvalidFile, match="different snapshot"):
        ingest_metrics(db, pid, numbered([metric_row("v1", at, views=5000)]))


def test_timestamps_without_offset_are_utc(db):
    pid = project(db)
    import_videos(db, pid, numbered([video_row(1, published_at="2026-10-02T12:00:00")]))
    import_videos(db, pid, numbered([video_row(2, published_at="2026-10-02T14:00:00+02:00")]))
    by_id = {v.external_id: v for v in list_videos(db, pid)}
    assert by_id["v1"].published_at == dt.datetime(2026, 10, 2, 12, tzinfo=dt.UTC)
    assert by_id["v2"].published_at == dt.datetime(2026, 10, 2, 12, tzinfo=dt.UTC)


def test_overflowing_numbers_dates_and_lone_surrogates_are_row_errors(db):
    pid = project(db)
    rows = [
        video_row(1, narration_wpm=10**400),
        video_row(2, published_at="9999-12-31T23:59:59-05:00"),
        video_row(3, topic="bad \ud800 topic"),
        video_row(4, external_id="id\udfff"),
    ]
    with pytest.raises(InvalidFile) as info:
        import_videos(db, pid, numbered(rows))
    assert [e.line for e in info.value.errors] == [1, 2, 3, 4]
    reasons = [e.reason for e in info.value.errors]
    assert "narration_wpm" in reasons[0] and "out of range" in reasons[1]
    assert "topic" in reasons[2] and "Unicode" in reasons[2] and "Unicode" in reasons[3]
    assert count(db, VideoJob) == 0


def test_a_bulk_import_refreshes_the_planner_statistics(db):
    """After 1,000 rows or more, PostgreSQL's planner gets fresh statistics for the table."""
    from sqlalchemy import text

    from learning_loop.services.ingest import import_videos, ingest_metrics
    from learning_loop_tests.factories import T0, metric_row, numbered, project, video_row

    pid = project(db)
    videos = [video_row(i % 20, external_id=f"bulk{i}") for i in range(1200)]
    assert import_videos(db, pid, numbered(videos)).imported == 1200
    metrics = [metric_row(f"bulk{i}", T0 + dt.timedelta(days=30)) for i in range(1200)]
    assert ingest_metrics(db, pid, numbered(metrics)).ingested == 1200
    if db.dialect == "postgresql":
        with db.read() as session:
            estimated = dict(
                session.execute(
                    text(
                        "SELECT relname, reltuples FROM pg_class "
                        "WHERE relname IN ('video_jobs', 'metric_snapshots')"
                    )
                )
                .tuples()
                .all()
            )
        # ANALYZE sets the row estimate; without it the emptied tables would still say 0 or -1.
        assert estimated == {"video_jobs": 1200, "metric_snapshots": 1200}


def test_times_outside_the_accepted_range_are_row_errors(db, tmp_path):
    """Issue #30, finding 9: no publication before 2005, no snapshot after tomorrow (UTC),
    in rows and in the column checks of a CSV file alike."""
    pid = project(db)
    rows = [video_row(1), video_row(2, published_at="2004-12-31T23:59:59Z")]
    with pytest.raises(InvalidFile) as info:
        import_videos(db, pid, numbered(rows))
    assert [e.line for e in info.value.errors] == [2]
    assert "outside the accepted times" in info.value.errors[0].reason
    import_videos(db, pid, numbered([video_row(1)]))
    far = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
    snapshots = [metric_row("v1", T0 + dt.timedelta(days=2)), metric_row("v1", far)]
    with pytest.raises(InvalidFile) as info:
        ingest_metrics(db, pid, numbered(snapshots))
    assert [e.line for e in info.value.errors] == [2]
    path = tmp_path / "metrics.csv"
    header = list(snapshots[0])
    path.write_text(
        ",".join(header)
        + "\n"
        + "\n".join(",".join(str(r[k]) for k in header) for r in snapshots)
        + "\n"
    )
    with pytest.raises(InvalidFile) as info:
        ingest_metrics(db, pid, read_rows(path, header))
    assert [e.line for e in info.value.errors] == [3]  # the file's line, header first
    assert count(db, MetricSnapshot) == 0


def test_every_problem_of_a_row_is_told(db):
    """Issue #29, point 10: a row with two bad cells names both."""
    pid = project(db)
    import_videos(db, pid, numbered([video_row(1)]))
    bad = metric_row("v1", T0 + dt.timedelta(days=2), views="many", likes=-3)
    with pytest.raises(InvalidFile) as info:
        ingest_metrics(db, pid, numbered([bad]))
    (error,) = info.value.errors
    assert "views must be a whole number" in error.reason and "likes must be >= 0" in error.reason
    video = video_row(2, scene_count="seven", caption_density="dense")
    with pytest.raises(InvalidFile) as info:
        import_videos(db, pid, numbered([video]))
    (error,) = info.value.errors
    assert "scene_count" in error.reason and "caption_density" in error.reason
