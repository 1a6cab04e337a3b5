"""Several processes plan for the same project and topics at once (PostgreSQL)."""

import logging
import multiprocessing as mp
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from learning_loop.db.engine import Database
from learning_loop.db.models import PlannedBatch, VideoJob
from learning_loop.services.projects import create_project

TOPICS = [f"Concurrent topic {i}" for i in range(12)]
WORKERS = 4
BATCHES_EACH = 3
# With the lock, each worker's first write waits this long after planning, so that the others
# queue on the lock meanwhile (the lock makes them plan in turn whatever the timing).
HOLD_FIRST_WRITE_S = 0.5


class _Retries(logging.Handler):
    """Counts plan_and_write's records of an attempt rolled back on a conflict."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        from learning_loop.services.planning import CONFLICT_RECORD

        if record.msg == CONFLICT_RECORD:
            self.count += 1


def _worker(
    url: str, project_id: str, worker: int, without_lock: bool, start: Any, planned: Any
) -> tuple[list[str], int]:
    from learning_loop.services import planning

    retries = _Retries()
    log = logging.getLogger(planning.__name__)
    log.setLevel(logging.INFO)
    log.addHandler(retries)
    if without_lock:
        # Leave only the unique keys to keep planners apart.
        planning._lock_project = lambda session, project_id: None
    write_plan = planning._write_plan
    writes = 0

    def write_late(*args: Any, **kwargs: Any) -> Any:
        nonlocal writes
        writes += 1
        if writes == 1:
            if without_lock:
                # Every worker has planned its first batch from the same state before any
                # writes: all but one must collide.
                planned.wait(timeout=60)
            else:
                time.sleep(HOLD_FIRST_WRITE_S)
        return write_plan(*args, **kwargs)

    planning._write_plan = write_late
    db = Database.from_url(url)
    start.wait()
    batches = []
    for i in range(BATCHES_EACH):
        out = planning.plan_and_write(db, project_id, 5, TOPICS, seed=worker * 100 + i)
        batches.append(str(out.batch.id))
    db.dispose()
    return batches, retries.count


@pytest.mark.parametrize("without_lock", [False, True], ids=["advisory-lock", "unique-keys-only"])
def test_concurrent_planners_create_no_duplicates_and_lose_no_batch(shared_pg_url, without_lock):
    pg_url = shared_pg_url
    db = Database.from_url(pg_url)
    pid = create_project(db, f"busy-{without_lock}").id
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        start = manager.Barrier(WORKERS)
        planned = manager.Barrier(WORKERS)
        with ctx.Pool(WORKERS) as pool:
            results = pool.starmap(
                _worker, [(pg_url, pid, w, without_lock, start, planned) for w in range(WORKERS)]
            )
            # Let the workers finish on their own: the pool's exit would terminate them, and
            # under load that has hung on a worker that did not go.
            pool.close()
            pool.join()
    batch_ids = {b for batches, _ in results for b in batches}
    retries = sum(count for _, count in results)
    if without_lock:
        # All planned their first batch from the same state: the three that lost the race to
        # the first write hit a unique key and planned again (at least once each).
        assert retries >= WORKERS - 1
    else:
        # The lock queues planners: each plans from the state the previous one committed.
        assert retries == 0
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
