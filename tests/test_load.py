"""The ``load`` step: thresholds read at load time, Locust run for real against the embedded simulator."""

import dataclasses
import json
import socket
import subprocess
import sys

import pytest
import responses

from mhhs_sit.dip.client import DipClient
from mhhs_sit.execution.load import delivery
from mhhs_sit.execution.load.distribution import Address, Spread
from mhhs_sit.execution.load.locust_job import LoadPlan
from mhhs_sit.execution.load.thresholds import Delivery, Figures, ThresholdError, judged, parse_thresholds
from tests.helpers import DSAPP_B071, copy_project, unreachable_environment, write


def load_scenario(thresholds: str, *, users: int = 2, rate: int = 10, duration: str = "2s") -> str:
    return f"""
scenario: NFT-900
title: appointment requests under load
stage: sit-non-functional
theme: 2
roles: [SUP, REGS, SDS]
cases:
  - id: NFT-900-TC01
    title: IF-031 at a steady rate
    data:
      mpan: {{draw: mpan}}
    steps:
      - load:
          as: SUP
          interface: IF-031
          event: DSApp
          mpan: "{{{{ mpan }}}}"
          custom:
{DSAPP_B071}          users: {users}
          rate: {rate}
          duration: {duration}
          thresholds: {thresholds}
        save: {{sent: sent}}
"""


FIGURES = Figures(sent=100, failed=2, throughput=49.0, p50=5.0, p95=40.0, p99=120.0, max=300.0)


def test_thresholds_read_their_units_and_judge_each_nfr():
    thresholds = parse_thresholds({"E2E1009": {"p95": "< 50ms", "p99": "<= 0.1s"}, "NFR-2": {"throughput": ">= 40/s"}})
    assert [(t.nfr, t.metric, t.op, t.limit) for t in thresholds] == [
        ("E2E1009", "p95", "<", 50.0),
        ("E2E1009", "p99", "<=", 100.0),
        ("NFR-2", "throughput", ">=", 40.0),
    ]
    met, missed = judged(thresholds, FIGURES)
    assert missed == ["E2E1009 p99 120.0ms (needs <= 0.1s)"]
    assert met == ["E2E1009 p95 40.0ms (needs < 50ms)", "NFR-2 throughput 49.0/s (needs >= 40/s)"]
    assert FIGURES.errors == 2.0


@pytest.mark.parametrize(
    ("written", "path", "message"),
    [
        ({"E1": {"p90": "< 1s"}}, ["E1", "p90"], "unknown load metric 'p90'"),
        ({"E1": {"p95": "fast"}}, ["E1", "p95"], "must read like '< 500ms'"),
        ({"E1": {"throughput": "> 5ms"}}, ["E1", "throughput"], "measured in /s, not ms"),
        ({"E1": {"errors": "< 2s"}}, ["E1", "errors"], "measured in %, not s"),
        ({"E1": "p95 < 1s"}, ["E1"], "must be a mapping"),
        ({}, [], "must map NFR ids"),
    ],
)
def test_a_threshold_written_wrongly_names_its_field(written, path, message):
    with pytest.raises(ThresholdError, match=message) as caught:
        parse_thresholds(written)
    assert caught.value.path == path


def test_validate_reports_each_wrong_threshold_at_its_line_and_column(tmp_path):
    copy_project(tmp_path, themes=False)
    write(tmp_path, "test_themes/nft.yaml", load_scenario('{E2E1009: {p95: "soon", p90: "< 1s"}}'))
    done = subprocess.run(
        [sys.executable, "-m", "mhhs_sit.cli.app", "validate"], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert (
        "test_themes/nft.yaml:33:39 " in lines[0] and "thresholds.E2E1009.p95]: p95 'soon' must read like" in lines[0]
    )
    assert "thresholds.E2E1009.p90]: unknown load metric 'p90'" in lines[1]
    assert "Traceback" not in done.stderr


def run(pytester, *args):
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=180)


@pytest.fixture
def project(pytester):
    return copy_project(pytester.path, themes=False)


def test_a_load_case_meets_its_thresholds_and_keeps_locusts_reports(pytester, project):
    write(project, "test_themes/nft.yaml", load_scenario('{E2E1009: {throughput: ">= 3/s", errors: "< 1%"}}'))
    result = run(pytester, "-q", "--cohort", "C1", "--mhhs-results", "out/results.json", "--alluredir", "out/allure")
    result.assert_outcomes(passed=1)
    case = json.loads((project / "out" / "results.json").read_text())["cases"][0]
    detail = case["steps"][0]["detail"]
    sent = int(detail.split(" sent")[0])
    assert sent >= 8 and " 0 failed" in detail  # 2 s at 10/s, less the ramp
    steps = next(json.loads(p.read_text())["steps"] for p in (project / "out" / "allure").glob("*-result.json"))
    names = {a["name"] for a in steps[0]["attachments"]}
    assert {"locust-report.html", "locust_stats_history.csv", "figures.json"} <= names
    figures = next(
        json.loads(p.read_text()) for p in (project / "out" / "allure").glob("*-attachment.json") if "-s1-" in p.name
    )
    assert figures["sent"] == sent and figures["failed"] == 0


def test_a_missed_threshold_fails_the_case_naming_the_nfr(pytester, project):
    write(project, "test_themes/nft.yaml", load_scenario('{E2E1009: {throughput: ">= 100000/s"}}'))
    result = run(pytester, "-q", "--cohort", "C1")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "load thresholds missed: E2E1009 throughput" in out and "(needs >= 100000/s)" in out
    assert "classified as: product behaviour (failed)" in out


def test_a_dead_environment_under_load_is_broken_not_failed(pytester, project):
    unreachable_environment(project)
    write(project, "test_themes/nft.yaml", load_scenario('{E2E1009: {errors: "< 1%"}}', duration="1s"))
    result = run(pytester, "-q", "--mhhs-env", "down", "--cohort", "C1")
    out = result.stdout.str()
    assert "1 broken" in out
    assert "the environment failed under load" in out and "Connection" in out


def test_mhhs_sit_load_runs_the_load_cases_on_locust_workers(tmp_path):
    """Two Locust worker processes send without one duplicate reference (the DIP would refuse it)."""
    copy_project(tmp_path, themes=False)
    write(tmp_path, "test_themes/nft.yaml", load_scenario('{E2E1009: {errors: "< 1%"}}', users=4, rate=20))
    write(tmp_path, "test_themes/functional.yaml", load_scenario("{}").replace("sit-non-functional", "sit-functional"))
    done = subprocess.run(
        [sys.executable, "-m", "mhhs_sit.cli.app", "load", "test_themes/nft.yaml", "--locust-workers", "2",
         "--cohort", "C1", "--no-report", "--out", "out", "--no-subdir"],
        cwd=tmp_path, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    cases = json.loads((tmp_path / "out" / "results.json").read_text())["cases"]
    assert [(c["case"], c["status"]) for c in cases] == [("NFT-900-TC01", "passed")]
    assert " 0 failed" in cases[0]["steps"][0]["detail"]


@responses.activate
def test_delivery_latency_is_read_from_the_journal_once_deliveries_settle():
    base = "http://dip.test"  # responses stands in for requests' standard adapter, not the loopback one
    pending = {"messages": [{"sender": "S1", "at": 10.0, "deliveries": [{"channel": "webhook", "status": "queued"}]}]}
    settled = {
        "messages": [
            {"sender": "S1", "at": 10.0, "deliveries": [
                {"channel": "webhook", "status": "delivered", "doneAt": 10.05},
                {"channel": "simulated", "status": "delivered", "doneAt": 10.0},  # inside the simulator: not counted
            ]},
            {"sender": "S1", "at": 11.0, "deliveries": [{"channel": "webhook", "status": "dead-letter"}]},
            {"sender": "OTHER", "at": 11.0,
             "deliveries": [{"channel": "webhook", "status": "delivered", "doneAt": 19}]},
        ]
    }  # fmt: skip
    responses.get(f"{base}/_sim/messages", json=pending)
    responses.get(f"{base}/_sim/messages", json=settled)
    client = DipClient(base, api_key_for=lambda _: None, retries=0)
    found = delivery.measured(client, "IF-031", "S1", 0, 20, settle_s=5)
    assert found is not None and len(responses.calls) == 2
    assert found.accepted == 2 and found.undelivered == 50.0 and found.missing == 1 and round(found.p95) == 50
    assert responses.calls[0].request.params["participant"] == "S1"


def test_a_delivery_threshold_not_measured_is_missed_saying_so():
    (threshold,) = parse_thresholds({"E2E1009": {"delivery_p95": "< 2s"}})
    assert not threshold.met(FIGURES)
    assert threshold.verdict(FIGURES) == "E2E1009 delivery_p95 not measured (needs < 2s)"
    measured = dataclasses.replace(FIGURES, delivery=Delivery(10, 0.0, 100.0, 900.0, 1500.0))
    assert threshold.met(measured) and threshold.verdict(measured) == "E2E1009 delivery_p95 900.0ms (needs < 2s)"


def test_a_locust_master_is_written_host_and_port_and_handed_to_the_load_steps():
    assert Address.parse("10.0.0.5") == Address("10.0.0.5", 5557)
    assert Address.parse("[::1]:6000") == Address("::1", 6000) and str(Address("::1", 6000)) == "[::1]:6000"
    for wrong, says in (("a b", "HOST or HOST:PORT"), ("h:0", "between 1 and 65535"), ("::1", "HOST or HOST:PORT")):
        with pytest.raises(ValueError, match=says):
            Address.parse(wrong)
    spread = Spread(master=Address("h", 6000))
    assert Spread.from_environment(spread.environment()) == spread
    master = Spread(expect=2, bind=Address("127.0.0.1", 6001))
    assert Spread.from_environment(master.environment()) == master
    args = LoadPlan(users=4, spawn_rate=4, duration_s=2, workers=3, spread=master).locust_args()
    assert "--processes" not in args  # every worker is remote: the master has none of its own
    assert args[args.index("--expect-workers") :] == [
        "--expect-workers", "2", "--expect-workers-max-wait", "120", "--master-bind-host", "127.0.0.1",
        "--master-bind-port", "6001",
    ]  # fmt: skip
    assert LoadPlan(users=1, spawn_rate=1, duration_s=1, workers=2, spread=spread).worker_args() == [
        "--worker", "--master-host", "h", "--master-port", "6000", "--processes", "2",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("given", "says"),
    [
        (["--locust-master", "h:1", "--locust-expect-workers", "2"], "a host runs either the master or workers"),
        (["--locust-expect-workers", "2", "--locust-workers", "1"], "counts every worker, this machine's too"),
        (["--locust-bind", "127.0.0.1:6000"], "--locust-bind is where a master awaiting --locust-expect-workers"),
        (["--locust-master", "h:70000"], "argument --locust-master: the port must be between 1 and 65535"),
        (["--locust-expect-workers", "0"], "argument --locust-expect-workers: must be 1 or more"),
    ],
)
def test_locust_options_that_do_not_go_together_are_usage_errors(tmp_path, given, says):
    done = subprocess.run([sys.executable, "-m", "mhhs_sit.cli.app", "load", *given], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr, done.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_master_waits_for_a_worker_on_another_process_and_judges_what_it_sent(tmp_path):
    """Two hosts on loopback: one `mhhs-sit load` runs the master, which waits for one remote worker;
    another, a process of its own, runs the same case with its Locust worker attached to it. Each
    sends to its own environment (here each its own embedded simulator); all the master counts came
    from the worker, as the master has no users of its own."""
    copy_project(tmp_path, themes=False)
    write(tmp_path, "test_themes/nft.yaml", load_scenario('{E2E1009: {errors: "< 1%"}}', users=2, rate=10))
    at = f"127.0.0.1:{free_port()}"
    cli = [sys.executable, "-m", "mhhs_sit.cli.app", "load", "test_themes/nft.yaml", "--cohort", "C1", "--no-report",
           "--no-subdir"]  # fmt: skip
    master = subprocess.Popen([*cli, "--out", "master", "--locust-expect-workers", "1", "--locust-bind", at],
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        worker = subprocess.run([*cli, "--out", "worker", "--locust-master", at], cwd=tmp_path, capture_output=True,
                                text=True, timeout=150)  # fmt: skip
        said = master.communicate(timeout=60)[0]
    finally:
        master.kill()
    assert worker.returncode == 0, worker.stdout[-3000:] + worker.stderr[-2000:]
    assert master.returncode == 0, said[-3000:]
    [led] = json.loads((tmp_path / "master" / "results.json").read_text())["cases"]
    [helped] = json.loads((tmp_path / "worker" / "results.json").read_text())["cases"]
    assert led["status"] == helped["status"] == "passed"
    sent = int(led["steps"][0]["detail"].split(" sent")[0])
    assert sent >= 8 and " 0 failed" in led["steps"][0]["detail"]  # 2 s at 10/s, less the ramp
    assert helped["steps"][0]["detail"] == f"1 Locust worker attached to {at}: the master judges"
