"""Sharding a cycle (--mhhs-shard K/N): disjoint parts that make the whole, bound cohorts kept whole,
balanced by recorded durations, each shard drawing its own test data."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from types import SimpleNamespace

import pytest

from mhhs_sit.collection.sharding import Shard, fingerprint, keep, plan, weigh
from tests.helpers import appointment_scenario, copy_project, postgres_database, write


def test_a_shard_is_written_k_of_n():
    assert Shard.parse(" 2/4 ") == Shard(2, 4)
    assert Shard(2, 4).slot(1, 3) == (4, 12)  # worker 1 of 3 on the second of four machines
    for wrong in ("2", "0/3", "4/3", "a/b", "1/0"):
        with pytest.raises(ValueError, match="--mhhs-shard"):
            Shard.parse(wrong)


def test_the_longest_units_go_first_onto_the_least_loaded_shard_and_the_plan_is_its_inputs_alone():
    units = {"a": 5.0, "b": 4.0, "c": 3.0, "d": 3.0, "e": 1.0}
    placed = plan(units, 2)
    loads = [sum(units[u] for u, s in placed.items() if s == i) for i in range(2)]
    assert sorted(loads) == [8.0, 8.0]
    assert plan(dict(reversed(units.items())), 2) == placed
    assert fingerprint(placed) == fingerprint(plan(units, 2)) != fingerprint(plan(units, 3))


def test_a_case_never_recorded_weighs_the_median_of_those_that_were():
    assert weigh({"x": ["n1", "n2"], "y": ["n3"]}, {"n1": 2.0, "n3": 10.0}) == {"x": 8.0, "y": 10.0}
    assert weigh({"x": ["n1"]}, {}) == {"x": 1.0}


def items(*ids):
    return [SimpleNamespace(nodeid=i) for i in ids]


def test_shards_are_disjoint_and_whole_and_a_bound_cohort_stays_on_one():
    ids = [f"t.yaml::C{n}[{cohort}]" for n in range(6) for cohort in ("C1", "C2", "C3")]
    ids.append("tests/test_own.py::test_x")  # not a case: every shard runs it

    def describe(item):
        if "::C" not in item.nodeid:
            return None
        cohort = item.nodeid[-3:-1]
        return cohort, cohort == "C1"  # C1's cases bind their cohort, the others do not

    parts = [keep(items(*ids), Shard(k, 3), describe, {})[0] for k in (1, 2, 3)]
    kept = [{i.nodeid for i in part} for part in parts]
    cases = [k - {"tests/test_own.py::test_x"} for k in kept]
    assert all("tests/test_own.py::test_x" in k for k in kept)
    assert set().union(*cases) == set(ids) - {"tests/test_own.py::test_x"}
    assert sum(len(c) for c in cases) == len(ids) - 1  # disjoint
    assert sum(1 for c in cases if any(n.endswith("[C1]") for n in c)) == 1  # C1 whole on one shard


@pytest.fixture
def project(pytester):
    root = copy_project(pytester.path, themes=False)
    answered = """
- expect:
    at: SUP
    interface: IF-035
    event: DSAppAccepted
    within: 10s
    where: {M0.MPANCore: "{{ mpan }}"}
"""
    write(root, "test_themes/a.yaml", appointment_scenario("T-22-001", answered))
    write(root, "test_themes/b.yaml", appointment_scenario("T-22-002"))
    write(root, "test_themes/c.yaml", appointment_scenario("T-22-003"))
    write(root, "test_themes/d.yaml", appointment_scenario("T-22-004"))
    return root


def run(pytester, *args):
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=180)


def test_two_shards_run_into_one_store_what_one_unsharded_run_runs(pytester, project):
    run(pytester, "-q", "--cycle", "W", "--mhhs-store", "whole.sqlite", "--mhhs-results", "whole.json")
    parts = [
        run(pytester, "-q", "--cycle", "S", "--mhhs-shard", f"{k}/2", "--mhhs-store", "shards.sqlite",
            "--mhhs-results", f"shard{k}.json")
        for k in (1, 2)
    ]  # fmt: skip
    whole_cases = {c["nodeid"]: c for c in json.loads((project / "whole.json").read_text())["cases"]}
    assert len(whole_cases) == 4 and all(c["status"] == "passed" for c in whole_cases.values())
    shard_cases = [
        {
            c["nodeid"]: c
            for c in json.loads((project / f"shard{k}.json").read_text())["cases"]
            if c["status"] != "not run"
        }
        for k in (1, 2)
    ]
    assert shard_cases[0] and shard_cases[1] and not set(shard_cases[0]) & set(shard_cases[1])
    assert {**shard_cases[0], **shard_cases[1]}.keys() == whole_cases.keys()
    assert all(c["status"] == "passed" for part in shard_cases for c in part.values())
    # each shard drew its own MPANs: no two cases of the cycle share one
    mpans = [c["data"]["mpan"] for part in shard_cases for c in part.values()]
    assert len(set(mpans)) == len(mpans)
    # the one store holds both shards' runs under the cycle
    from mhhs_sit.store.store import ResultsStore

    store = ResultsStore.open("shards.sqlite", project)
    try:
        recorded = [r for r in store.results("S") if r.status.value != "not run"]
    finally:
        store.close()
    assert sorted(r.nodeid for r in recorded) == sorted(whole_cases)
    plans = {re.search(r"mhhs-sit: shard \d/2 of cycle S \(plan (\w+)\)", p.stdout.str())[1] for p in parts}
    assert len(plans) == 1  # both shards computed the same plan


def test_a_shard_without_a_cycle_is_a_usage_error(pytester, project):
    result = run(pytester, "-q", "--mhhs-shard", "1/2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--mhhs-shard 1/2 needs --cycle NAME" in result.stderr.str()


CATALOGUE = """
requirements:
  - {id: IF-031, title: "Appointment of a data service", source: interface, stage: sit-functional}
  - {id: IF-035, title: "Data service appointment accepted", source: interface, stage: sit-functional}
  - {id: BP003, title: "Change of Service - Data Service", source: business process, stage: sit-functional}
"""
CLI = [sys.executable, "-m", "mhhs_sit.cli.app"]


def verdicts(doc):
    """A cycle's RTTM without its runs' identities: requirement -> case -> cohort -> status, and
    each requirement's verdict, and the summary."""
    rows = {
        r["id"]: (
            r.get("verdict"),
            sorted((c["case"], c["verdict"], sorted((k, v["status"]) for k, v in c["cohorts"].items()))
                   for c in r["cases"]),
        )
        for r in doc["requirements"]
    }  # fmt: skip
    return rows, doc["summary"]


def test_two_shards_as_processes_into_one_postgresql_make_the_cycle_an_unsharded_run_makes(tmp_path):
    """The shards run at the same time, each its own process, into one PostgreSQL store; the
    cycle they make (its RTTM, from the store) is the one a single unsharded run makes."""
    with postgres_database() as url:
        copy_project(tmp_path, themes=False)
        write(tmp_path, "test_data/requirements/requirements.yaml", CATALOGUE)
        answered = """
- expect:
    at: SUP
    interface: IF-035
    event: DSAppAccepted
    within: 10s
    where: {M0.MPANCore: "{{ mpan }}"}
"""
        for n, (extra, reqs) in enumerate([(answered, "[IF-031, IF-035]"), ("", "[IF-031]"), ("", "[BP003]"),
                                           ("", "[IF-031, BP003]"), (answered, "[IF-035]")]):  # fmt: skip
            scenario = appointment_scenario(f"T-22-1{n:02d}", extra).replace(
                "theme: 3\n", f"theme: 3\nrequirements: {reqs}\n"
            )
            write(tmp_path, f"test_themes/s{n}.yaml", scenario)
        tag = uuid.uuid4().hex[:8]
        whole, sharded = f"W-{tag}", f"S-{tag}"
        common = ["run", "--cohort", "C1", "--store", url, "--no-subdir", "--no-report"]
        done = subprocess.run([*CLI, *common, "--cycle", whole, "--out", "whole"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=180)  # fmt: skip
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        shards = [
            subprocess.Popen([*CLI, *common, "--cycle", sharded, "--shard", f"{k}/2", "--out", f"shard{k}"],
                             cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for k in (1, 2)
        ]  # fmt: skip
        outputs = [p.communicate(timeout=180)[0] for p in shards]
        assert [p.returncode for p in shards] == [0, 0], "\n".join(o[-3000:] for o in outputs)
        ran = [
            {c["nodeid"] for c in json.loads((tmp_path / f"shard{k}" / "results.json").read_text())["cases"]
             if c["status"] != "not run"}
            for k in (1, 2)
        ]  # fmt: skip
        assert ran[0] and ran[1] and not ran[0] & ran[1]  # both did a part, no case twice
        docs = {}
        for cycle in (whole, sharded):
            command = [*CLI, "rttm", "--cycle", cycle, "--store", url, "--format", "json", "--out", f"{cycle}.json"]
            made = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
            assert made.returncode == 0, made.stderr
            docs[cycle] = json.loads((tmp_path / f"{cycle}.json").read_text())
        assert len(docs[sharded]["runs"]) == 2 and len(docs[whole]["runs"]) == 1
        rows, summary = verdicts(docs[sharded])
        assert (rows, summary) == verdicts(docs[whole])
        assert summary["covered"] == 3  # every requirement covered, every case passed
        assert all(status == "passed" for _, cases in rows.values() for _, _, cohorts in cases for _, status in cohorts)
