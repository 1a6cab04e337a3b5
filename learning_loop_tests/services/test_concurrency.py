"""Several processes plan for the same project and topics at once (PostgreSQL)."""

import multiprocessing as mp
import os

import pytest
from sqlalchemy import func, select

from learning_loop.db.engine import Database
from learning_loop.db.models import PlannedBatch, VideoJob
from learning_loop.services.projects import create_project

TOPICS = [f"Concurrent topic {i}" for i in range(12)]
WORKERS = 4
BATCHES_EACH = 3

pytestmark = pytest.mark.skipif(
    "postgresql" not in os.environ.get("LEARNING_LOOP_TEST_BACKENDS", "sqlite,postgresql"),
    reason="PostgreSQL is switched off for this run by LEARNING_LOOP_TEST_BACKENDS",
)


def _worker(url: str, project_id: str, worker: int, without_lock: bool, start) -> list[str]:
    from learning_loop.services import planning

    if without_lock:
        # Leave only the unique keys to keep planners apart.
        planning._lock_project = lambda session, project_id: None
    db = Database.from_url(url)
    start.wait()
    batches = []
    for i in range(BATCHES_EACH):
        out = planning.plan_and_write(db, project_id, 5, TOPICS, seed=worker * 100 + i)
        batches.append(str(out.batch.id))
    db.dispose()
    return batches


@pytest.mark.parametrize("without_lock", [False, True], ids=["advisory-lock", "unique-keys-only"])
def test_concurrent_planners_create_no_duplicates_and_lose_no_batch(pg_url, without_lock):
    db = Database.from_url(pg_url)
    pid = str(create_project(db, f"busy-{without_lock}").id)
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        start = manager.Barrier(WORKERS)
        with ctx.Pool(WORKERS) as pool:
            results = pool.starmap(
                _worker, [(pg_url, pid, w, without_lock, start) for w in range(WORKERS)]
            )
    batch_ids = {b for r in results for b in r}
    assert len(batch_ids) == WORKERS * BATCHES_EACH
    with db.read() as s:
        stored = set(
            str(b) for b in s.scalars(select(PlannedBatch.id).where(PlannedBatch.project_id == pid))
        )
        keys = s.execute(
            select(VideoJob.topic_hash, VideoJob.recipe_hash).where(VideoJob.project_id == pid)
        ).all()
        jobs_created = s.scalar(
            select(func.sum(PlannedBatch.jobs_created)).where(PlannedBatch.project_id == pid)
        )
    assert stored == batch_ids
    assert len(keys) == len(set(keys)) == jobs_created
    assert jobs_created > 0
    db.dispose()
