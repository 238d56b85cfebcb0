"""A run's heartbeat: a dead run reads *interrupted* for every reader, whatever host it ran on
(SQLite, and a real PostgreSQL shared between hosts when one is given)."""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import update

from mhhs_sit.store import store as store_module
from mhhs_sit.store.heartbeat import Heartbeat
from mhhs_sit.store.schema import runs
from mhhs_sit.store.store import ResultsStore


def _as_if_from(store: ResultsStore, run_id: str, *, host: str, heartbeat_age_s: float) -> None:
    """The run row as another machine's run leaves it: its host, and its heartbeat that long ago."""
    beat = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=heartbeat_age_s)).isoformat(timespec="microseconds")
    with store.engine.begin() as conn:
        conn.execute(update(runs).where(runs.c.run_id == run_id).values(host=host, pid=1, heartbeat=beat))


def test_a_silent_run_of_another_host_reads_interrupted_and_a_beating_one_running(store_url, tmp_path):
    store = ResultsStore.open(store_url, tmp_path)
    store.begin_run("dead", cycle="C")
    store.begin_run("alive", cycle="C")
    _as_if_from(store, "dead", host="ci-runner-7", heartbeat_age_s=store_module.STALE_S + 5)
    _as_if_from(store, "alive", host="ci-runner-8", heartbeat_age_s=1)
    reader = ResultsStore.open(store_url, tmp_path)  # another reader of the same database
    assert {r.run_id: r.state for r in reader.runs("C")} == {"dead": "interrupted", "alive": "running"}
    assert store.close_abandoned_runs() == ["dead"]  # the next run writes it so
    with store.engine.connect() as conn:
        stored = dict(conn.execute(runs.select().with_only_columns(runs.c.run_id, runs.c.state)).all())
    assert stored == {"dead": "interrupted", "alive": "running"}
    reader.close()
    store.close()


def test_the_heartbeat_beats_while_running_and_stops_when_told(store_url, tmp_path):
    store = ResultsStore.open(store_url, tmp_path)
    store.begin_run("r1")

    def heartbeat():
        [run] = store.runs()
        return run.heartbeat

    first = heartbeat()
    with Heartbeat(store, "r1", interval_s=0.05):
        deadline = time.monotonic() + 10
        while heartbeat() == first and time.monotonic() < deadline:
            time.sleep(0.05)
        beating = heartbeat()
    assert beating > first
    time.sleep(0.2)
    assert heartbeat() == beating  # stopped: nothing beats for a dead run
    store.close()


def test_a_run_closed_as_running_has_no_finish_time_until_finished(store_url, tmp_path):
    store = ResultsStore.open(store_url, tmp_path)
    store.begin_run("r1")
    store.finish_run("r1", "running")  # the session is over; `mhhs-sit run` still writes its reports
    [run] = store.runs()
    assert (run.state, run.finished) == ("running", None)
    store.set_state("r1", "finished")
    [run] = store.runs()
    assert run.state == "finished" and run.finished is not None
    store.close()
