"""The results store itself, against SQLite and a real PostgreSQL."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from mhhs_sit.errors import ConfigError
from mhhs_sit.results.model import CaseResult
from mhhs_sit.results.run import RunFacts
from mhhs_sit.store.cycle import collection_errors, histories, latest_statuses
from mhhs_sit.store.store import ResultsStore, display_url, resolve_url


def item(case, cohort, status="not run", **extra):
    """A result as results.json spells it, read by the results model (the store's input)."""
    return CaseResult.from_json(
        {"nodeid": f"t/{case[:6]}.yaml::{case}[{cohort}]", "case": case, "cohort": cohort, "status": status, **extra}
    )


def test_urls_from_what_users_write(tmp_path):
    assert resolve_url("results/s.sqlite", tmp_path) == f"sqlite:///{tmp_path / 'results' / 's.sqlite'}"
    assert resolve_url("/abs/s.db", tmp_path) == "sqlite:////abs/s.db"
    assert resolve_url("postgresql://u:pw@db:5432/x", tmp_path) == "postgresql+psycopg://u:pw@db:5432/x"
    assert resolve_url("postgres://u@db/x", tmp_path) == "postgresql+psycopg://u@db/x"
    assert "pw" not in display_url("postgresql+psycopg://u:pw@db:5432/x")


def test_a_run_is_announced_then_settled_item_by_item(store_url, tmp_path):
    store = ResultsStore.open(store_url, tmp_path)
    store.begin_run("r1", cycle="C2", sprint="4", evidence="/ev/r1", cohorts=["C1", "C2"])
    store.add_items("r1", [item("A-01-001-TC01", "C1", title="t", requirements=["BP003"]), item("A-01-001-TC01", "C2")])
    store.record("r1", item("A-01-001-TC01", "C1", "failed", category="product defect", message="x" * 9000))
    store.record("r1", item("B-01-001-TC01", "C1", "passed", duration_s=0.5))  # never announced: inserted
    store.finish_run("r1", "finished", RunFacts(exit_status=1, environment="local"))
    [run] = store.runs("C2")
    assert (run.state, run.sprint, run.cohorts, run.results, run.exit_status, run.environment) == (
        "finished",
        "4",
        ("C1", "C2"),
        3,
        1,
        "local",
    )
    rows = {(r.case_id, r.cohort): r for r in store.results("C2")}
    assert rows[("A-01-001-TC01", "C1")].status == "failed"
    assert rows[("A-01-001-TC01", "C1")].requirements == ("BP003",)  # kept from the announcement
    assert len(rows[("A-01-001-TC01", "C1")].message) == 4000
    assert rows[("A-01-001-TC01", "C2")].status == "not run"
    assert rows[("B-01-001-TC01", "C1")].duration_s == 0.5
    assert rows[("B-01-001-TC01", "C1")].run.evidence == "/ev/r1"
    assert store.results("other") == [] and store.runs("other") == []
    store.close()


def test_latest_outcome_wins_but_not_run_never_erases(store_url, tmp_path):
    store = ResultsStore.open(store_url, tmp_path)
    for run, status in (("r1", "failed"), ("r2", "passed"), ("r3", "not run")):
        store.begin_run(run, cycle="C2")
        store.record(run, item("A-01-001-TC01", "C1", status))
        store.finish_run(run, "finished")
    store.begin_run("r4", cycle="C3")
    store.record("r4", item("A-01-001-TC01", "C1", "broken"))
    rows = store.results("C2")
    h = histories(rows)[("A-01-001-TC01", "C1")]
    assert [o.status for o in h.outcomes] == ["failed", "passed", "not run"]
    assert h.status == "passed" and h.latest.run_id == "r2"
    assert latest_statuses(rows) == {"A-01-001-TC01[C1]": "passed"}
    assert latest_statuses(store.results("C2", exclude_run="r2")) == {"A-01-001-TC01[C1]": "failed"}
    assert latest_statuses(store.results(None)) == {"A-01-001-TC01[C1]": "broken"}  # every run: r4 is latest
    store.close()


def test_a_file_that_could_not_be_loaded_stands_until_a_later_run_loads_it(store_url, tmp_path):
    store = ResultsStore.open(store_url, tmp_path)
    error = CaseResult.from_json(
        {"nodeid": "t/bad.yaml", "case": "t/bad.yaml", "cohort": "", "status": "definition error", "message": "x:3"}
    )
    store.begin_run("r1", cycle="C")
    store.record("r1", error)
    assert set(collection_errors(store.results("C"))) == {"t/bad.yaml"}
    assert histories(store.results("C")) == {}  # not a case × cohort
    store.begin_run("r2", cycle="C")
    store.record("r2", dataclasses.replace(item("BAD-TC01", "C1", "passed"), nodeid="t/bad.yaml::BAD-TC01[C1]"))
    assert collection_errors(store.results("C")) == {}
    store.close()


def test_a_file_that_could_not_be_loaded_is_stored_as_a_definition_error_and_an_older_error_reads_so(
    store_url, tmp_path
):
    from sqlalchemy import insert, select

    from mhhs_sit.results.outcome import Status
    from mhhs_sit.results.run import RunResults
    from mhhs_sit.store.schema import results

    store = ResultsStore.open(store_url, tmp_path)
    store.begin_run("old", cycle="C")  # a run of an earlier version: it wrote the raw status "error"
    old_row = {"run_id": "old", "nodeid": "t/old.yaml", "case_id": "t/old.yaml", "cohort": "", "status": "error",
               "category": "test definition error", "message": "t/old.yaml:2: bad"}  # fmt: skip
    with store.engine.begin() as conn:
        conn.execute(insert(results).values(old_row))
    store.begin_run("new", cycle="C")
    run = RunResults("new")
    run.collection_error("t/new.yaml", "t/new.yaml:7:2: YAML syntax: did not find expected ','\n1 problem in 1 file")
    store.record("new", run.items["t/new.yaml"])
    store.record("new", item("A-01-001-TC01", "C1", "definition error", category="test definition error"))
    with store.engine.connect() as conn:
        raw = dict(conn.execute(select(results.c.nodeid, results.c.status).where(results.c.run_id == "new")).all())
    assert raw == {"t/new.yaml": "definition error", "t/A-01-0.yaml::A-01-001-TC01[C1]": "definition error"}
    rows = store.results("C")
    assert {r.nodeid: r.status for r in rows if not r.cohort} == {
        "t/old.yaml": Status.DEFINITION_ERROR,
        "t/new.yaml": Status.DEFINITION_ERROR,
    }
    assert set(collection_errors(rows)) == {"t/old.yaml", "t/new.yaml"}  # each known as a file that did not load
    assert set(histories(rows)) == {("A-01-001-TC01", "C1")}  # the case's own definition error is its history
    store.close()


def test_a_run_whose_process_died_reads_as_interrupted_and_is_closed_by_the_next(store_url, tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store = ResultsStore.open(store_url, tmp_path)
    store.begin_run("gone", cycle="C", pid=dead.pid)
    store.record("gone", item("A-01-001-TC01", "C1", "passed"))
    store.begin_run("alive", cycle="C")
    states = {r.run_id: r.state for r in store.runs("C")}
    assert states == {"gone": "interrupted", "alive": "running"}
    assert store.close_abandoned_runs() == ["gone"]
    [gone] = [r for r in store.runs("C") if r.run_id == "gone"]
    assert gone.state == "interrupted" and gone.finished == gone.heartbeat
    store.close()


def test_two_stores_on_one_database_see_each_others_runs(store_url, tmp_path):
    first, second = ResultsStore.open(store_url, tmp_path), ResultsStore.open(store_url, tmp_path)
    first.begin_run("r1", cycle="C")
    second.begin_run("r2", cycle="C")
    first.record("r1", item("A-01-001-TC01", "C1", "passed"))
    assert [r.run_id for r in second.runs("C")] == ["r1", "r2"]
    first.close()
    second.close()


def test_a_store_from_a_newer_version_is_refused(tmp_path):
    from sqlalchemy import update

    from mhhs_sit.store.schema import meta

    store = ResultsStore.open(str(tmp_path / "s.sqlite"), tmp_path)
    with store.engine.begin() as conn:
        conn.execute(update(meta).where(meta.c.key == "schema_version").values(value="99"))
    store.close()
    with pytest.raises(ConfigError, match="written by a newer mhhs-sit"):
        ResultsStore.open(str(tmp_path / "s.sqlite"), tmp_path)


def test_unusable_stores_are_clear_errors_without_the_password(tmp_path):
    with pytest.raises(ConfigError, match=r"results store postgresql\+psycopg://u:\*\*\*@127.0.0.1:1/x: cannot open"):
        ResultsStore.open("postgresql://u:secret-pw@127.0.0.1:1/x", tmp_path)
    (tmp_path / "not-a-db.sqlite").write_text("this is not a database " * 100)
    with pytest.raises(ConfigError, match=r"not-a-db\.sqlite: cannot open"):
        ResultsStore.open(str(tmp_path / "not-a-db.sqlite"), tmp_path)
    with pytest.raises(ConfigError, match="not a database URL"):
        ResultsStore.open("nosuchdriver://x/y", tmp_path)


def test_the_default_store_path_is_created(tmp_path):
    store = ResultsStore.open("deep/dir/s.sqlite", tmp_path)
    store.close()
    assert Path(tmp_path / "deep" / "dir" / "s.sqlite").is_file()


def test_a_case_settled_twice_in_one_batch_is_one_row_with_its_last_state(store_url, tmp_path):
    """A failed call then a teardown error, committed together: no collision, nothing lost."""
    store = ResultsStore.open(store_url, tmp_path)
    store.begin_run("r1", cycle="C9")
    first = item("C-01-001-TC01", "C1", "failed", message="call failed")
    store.record_many(
        "r1", [first, item("C-01-001-TC01", "C1", "broken", message="teardown error"), item("D", "C1", "passed")]
    )
    rows = {r.case_id: r for r in store.results("C9")}
    assert (rows["C-01-001-TC01"].status, rows["C-01-001-TC01"].message) == ("broken", "teardown error")
    assert rows["D"].status == "passed"
    store.close()


def test_results_read_only_the_fields_asked_for_in_run_order(store_url, tmp_path, monkeypatch):
    import mhhs_sit.store.store as store_module

    monkeypatch.setattr(store_module, "RUNS_PER_QUERY", 2)  # three runs: read in two queries, merged in order
    store = ResultsStore.open(store_url, tmp_path)
    for run, status in (("z-first", "failed"), ("a-second", "broken"), ("m-third", "passed")):
        store.begin_run(run, cycle="C2", sprint=run[0], evidence=f"/ev/{run}")
        store.record(run, item("A-01-001-TC01", "C1", status, title="t", requirements=["BP003"], duration_s=1.5))
        store.finish_run(run, "finished")
    rows = store.results("C2", fields=["requirements"])
    assert [r.run_id for r in rows] == ["z-first", "a-second", "m-third"]  # started order, not id order
    assert [r.status for r in rows] == ["failed", "broken", "passed"]
    assert rows[0].requirements == ("BP003",) and rows[0].run.sprint == "z" and rows[0].run.evidence == "/ev/z-first"
    assert rows[0].title is None and rows[0].duration_s is None  # not asked for, not read
    assert all((r.nodeid, r.case_id, r.cohort, r.run.started, r.run.finished) for r in rows)  # always read
    full = store.results("C2")[0]  # by default every column but the drawn test data
    assert (full.title, full.duration_s, full.data) == ("t", 1.5, None)
    assert {k: getattr(full, k) for k, v in rows[0]._asdict().items() if v is not None} == {
        k: v for k, v in rows[0]._asdict().items() if v is not None
    }  # what the narrow read read, the full read read the same
    assert [r.status for r in store.results("C2", exclude_run="a-second", fields=())] == ["failed", "passed"]
    with pytest.raises(ValueError, match="not result columns: colour"):
        store.results("C2", fields=["colour"])
    store.close()


def test_a_definition_error_is_stored_as_one_and_an_older_runs_broken_one_reads_back_as_one(store_url, tmp_path):
    from mhhs_sit.results.outcome import Category, Status

    store = ResultsStore.open(store_url, tmp_path)
    store.begin_run("r1", cycle="C2")
    store.record("r1", item("A-01-001-TC01", "C1", "definition error", category="test definition error"))
    older = dataclasses.replace(item("A-01-001-TC02", "C1"), status=Status.BROKEN, category=Category.TEST_DEFINITION)
    store.record("r1", older)  # as a version before the status had its own value wrote it
    store.record("r1", item("A-01-001-TC03", "C1", "broken", category="environment issue"))
    store.finish_run("r1", "finished", RunFacts(exit_status=1))
    for fields in (None, ()):  # the whole row, and --rerun's narrow read alike
        statuses = {r.case_id: r.status for r in store.results("C2", fields=fields)}
        assert statuses == {"A-01-001-TC01": "definition error", "A-01-001-TC02": "definition error",
                            "A-01-001-TC03": "broken"}  # fmt: skip
    assert latest_statuses(store.results("C2", fields=()))["A-01-001-TC02[C1]"] == "definition error"
    store.close()
