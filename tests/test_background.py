"""The background batch worker behind the store writer and the fallback evidence writer."""

from __future__ import annotations

import threading

from mhhs_sit.core.background import BatchWorker


def test_items_arriving_within_the_linger_go_in_one_batch_and_close_delivers_the_rest():
    batches: list[list[int]] = []
    started = threading.Event()

    def handle(batch: list[int]) -> list[str]:
        batches.append(batch)
        started.set()
        return []

    worker = BatchWorker(handle, name="t", linger_s=0.3)
    for n in range(50):
        worker.submit(n)
    assert started.wait(5)
    worker.submit(50)
    assert worker.close() == []
    assert batches[0] == list(range(50)) and [n for b in batches for n in b] == list(range(51))


def test_batches_are_capped_and_problems_are_kept_in_order():
    seen: list[int] = []

    def handle(batch: list[int]) -> list[str]:
        seen.append(len(batch))
        return [f"bad {n}" for n in batch if n % 40 == 0]

    worker = BatchWorker(handle, name="t", linger_s=0.2, batch=25)
    for n in range(100):
        worker.submit(n)
    assert worker.close() == ["bad 0", "bad 40", "bad 80"]
    assert max(seen) <= 25 and sum(seen) == 100


def test_after_a_problem_stop_on_problem_drops_the_rest_and_a_crashing_handler_is_a_problem():
    worker = BatchWorker(lambda batch: ["database gone"], name="t", linger_s=0.05, stop_on_problem=True)
    worker.submit(1)
    assert worker.close() == ["database gone"]

    def crash(batch: list[int]) -> list[str]:
        raise RuntimeError("boom")

    crashing = BatchWorker(crash, name="t")
    crashing.submit(1)
    assert crashing.close() == ["RuntimeError: boom"]
    assert BatchWorker(crash, name="idle").close() == []  # never started: nothing to wait for


def test_close_ends_a_linger_at_once_and_still_delivers_what_was_queued():
    """A session's end does not wait out the store writer's linger (a minute here)."""
    batches: list[list[int]] = []
    worker = BatchWorker(lambda batch: batches.append(batch) or [], name="t", linger_s=60.0)
    worker.submit(1)
    worker.submit(2)
    closed = threading.Thread(target=worker.close)
    closed.start()
    closed.join(timeout=10)
    assert not closed.is_alive() and batches == [[1, 2]]
    worker.submit(3)  # a worker closed once serves again, with a linger of its own
    assert worker.close() == [] and batches[-1] == [3]
