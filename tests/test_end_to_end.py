"""Scenarios run end to end against the real embedded DIP simulator (nothing mocked)."""

import json
import re
import sqlite3

import pytest

from mhhs_sit.definitions.environments import load_environment
from mhhs_sit.dip.signing import SIGNATURE_HEADERS
from mhhs_sit.execution.local_stubs import simulator_config
from tests.helpers import appointment_scenario, copy_project, unreachable_environment, write


@pytest.fixture
def project(pytester):
    return copy_project(pytester.path, themes=False)


def run(pytester, *args):
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=120)


def test_the_example_cycle_passes_and_writes_results(pytester):
    copy_project(pytester.path)
    result = run(pytester, "-q", "--mhhs-results", "out/results.json")
    result.assert_outcomes(passed=16)  # 12 + SITFT-04-001 (4 cases, C1)
    data = json.loads((pytester.path / "out" / "results.json").read_text())
    assert len(data["cases"]) == 16
    tc01 = next(c for c in data["cases"] if c["case"] == "SITFT-03-001-TC01")
    assert [s["status"] for s in tc01["steps"]] == ["passed"] * 5
    assert re.fullmatch(r"\d{13}", tc01["data"]["mpan"])
    assert "IF-031" in tc01["requirements"]


def test_a_wrong_value_fails_the_case_and_names_the_step(pytester, project):
    write(
        project,
        "test_themes/wrong.yaml",
        appointment_scenario(
            "T-03-900",
            """
        - expect:
            at: SUP
            interface: IF-035
            event: DSAppAccepted
            within: 5s
            where: {M0.MPANCore: "{{ mpan }}", B007.responseCode: R}
    """,
        ),
    )
    result = run(pytester, "-q", "--cohort", "C1")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "T-03-900-TC01[C1] FAILED" in out
    assert "✗  2. SUP receives IF-035 [DSAppAccepted]" in out
    assert "B007.responseCode is 'A', expected 'R'" in out
    assert "classified as: product behaviour (failed)" in out
    assert "Traceback" not in out


def test_an_unreachable_dip_is_broken_not_failed(pytester, project):
    unreachable_environment(project, retries=1)
    write(project, "test_themes/down.yaml", appointment_scenario("T-01-901", roles="[SUP, SDS]"))
    result = run(pytester, "-q", "--mhhs-env", "down", "--cohort", "C1")
    out = result.stdout.str()
    assert result.ret == 1
    assert "1 broken" in out and "failed" not in out.splitlines()[-1]
    assert "BROKEN test_themes/down.yaml::T-01-901-TC01[C1]" in out
    assert "cannot connect: Connection refused" in out


def test_two_workers_keep_each_cohort_on_one_worker(pytester):
    copy_project(pytester.path)
    result = run(pytester, "-n", "2", "-v")
    result.assert_outcomes(passed=16)  # 12 + SITFT-04-001 (4 cases, C1)
    workers: dict[str, set[str]] = {}
    for line in result.outlines:
        m = re.match(r"\[(gw\d)\].*PASSED .*\[(C\d)\]", line)
        if m:
            workers.setdefault(m.group(2), set()).add(m.group(1))
    assert set(workers) == {"C1", "C2"}
    assert all(len(w) == 1 for w in workers.values()), workers


def test_the_example_cycle_passes_against_a_misbehaving_simulator(pytester):
    """Every inbound fault kind once, a failing and a late delivery: an idempotent framework that
    retries passes the same cycle, and its evidence shows the retries (environments/local-flaky.yaml
    has the seeded-probability version of this)."""
    copy_project(pytester.path)
    write(
        pytester.path,
        "environments/local-faults.yaml",
        """
environment: local-faults
environment_tag: DEV
ir: IR8.2
stubs: embedded
timeouts: {connect: 2s, read: 10s, expect: 15s}
retries: 3
faults:
  - {kind: latency, seconds: 50ms, count: 3}
  - {kind: status, status: 503, retry_after: 0.05, count: 1, after: 1}
  - {kind: reset, count: 1, after: 3}
  - {kind: truncated, count: 1, after: 5}
  - {kind: empty, count: 1, after: 7}
  - {kind: fail_first, tries: 2, count: 1}
  - {kind: delay, seconds: 300ms, count: 2}
""",
    )
    result = run(pytester, "-q", "--mhhs-env", "local-faults", "--alluredir=out/allure")
    result.assert_outcomes(passed=16)
    exchanges = [x for f in (pytester.path / "out" / "allure").glob("*-attachment.json") for x in _exchanges(f)]
    retried = [x for x in exchanges if x.get("attempts", 1) > 1]
    assert len(retried) >= 3, [x.get("note") for x in exchanges]  # the 503, the reset, the lost answer
    assert any("accepted by an earlier attempt" in x.get("note", "") for x in retried)


def _exchanges(path):
    """Every recorded HTTP exchange in an Allure attachment (they nest under steps)."""
    found, todo = [], [json.loads(path.read_text())]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            if "attempts" in node and "method" in node:
                found.append(node)
            todo += node.values()
        elif isinstance(node, list):
            todo += node
    return found


def _with_fault_first(scenario: str, fault: str) -> str:
    return scenario.replace("    steps:\n", f"    steps:\n      - fault: {fault}\n", 1)


def test_a_fault_step_applies_to_its_case_only(pytester, project):
    """A 503 the case asked for is retried through; its faults are gone when the case ends."""
    faulty = _with_fault_first(
        appointment_scenario(
            "T-10-001",
            """
        - http:
            url: /_sim/messages
            params: {kind: fault}
            expect: {status: 200}
          save: {faults: json.count}
        - assert:
            - {value: "{{ faults }}", ge: 2}
    """,
        ),
        "{kind: status, status: 503, retry_after: 0.05, count: 1, scope: {interface: IF-031}}",
    )
    lingering = _with_fault_first(appointment_scenario("T-10-002"), "{kind: latency, seconds: 1ms}")
    write(project, "test_themes/a_faults.yaml", faulty)
    write(project, "test_themes/b_faults.yaml", lingering)
    write(
        project,
        "test_themes/c_after.yaml",
        appointment_scenario(
            "T-10-003",
            """
        - http:
            url: /_sim/faults
            expect: {status: 200, json: {count: 0}}
    """,
        ),
    )
    result = run(pytester, "-q", "--cohort", "C1", "-p", "no:randomly")
    result.assert_outcomes(passed=3)


def test_a_bad_fault_step_is_a_definition_error_at_its_line(pytester, project):
    write(
        project,
        "test_themes/bad_fault.yaml",
        _with_fault_first(appointment_scenario("T-10-004"), "{kind: status, status: 404, tag: mine}"),
    )
    result = run(pytester, "-q", "--cohort", "C1")
    out = result.stdout.str()
    assert "test_themes/bad_fault.yaml:" in out and "[cases[0].steps[0].fault.status]" in out
    assert "[cases[0].steps[0].fault.tag]" in out or "leave 'tag' out" in out
    assert "Traceback" not in out


def test_the_example_cycle_passes_over_mutual_tls_with_signing_required(pytester):
    """environments/local-mtls.yaml: HTTPS with the run's client certificates, and the simulator
    the run starts requires every request signed, as the DIP does (an unsigned one is a 401:
    tests/stubs/test_auth.py); every DIP request of the cycle carried the four signature headers."""
    root = copy_project(pytester.path)
    env, problems = load_environment("local-mtls", root / "environments", root, environ={})
    assert not problems and env.tls and simulator_config(env, []).signing == "required"
    result = run(pytester, "-q", "--mhhs-env", "local-mtls", "--alluredir=out/allure")
    result.assert_outcomes(passed=16)
    sent = [x for f in (pytester.path / "out" / "allure").glob("*-attachment.json")
            for x in _exchanges(f) if "/dip-channel/" in x["url"]]  # fmt: skip
    assert sent and all(x["url"].startswith("https://127.0.0.1:") for x in sent)
    for x in sent:
        headers = {k.lower() for k in x["request"]["headers"]}
        assert {h.lower() for h in SIGNATURE_HEADERS} <= headers, x["url"]


def test_a_definition_error_at_run_time_is_reported_as_one_everywhere(pytester, project):
    """The terminal says what results.json says: the test file is wrong, not the environment."""
    scenario = appointment_scenario("T-03-902").replace(
        'proposedDataServiceDIPEffectiveFromDate: "{{ midnight }}"',
        'proposedDataServiceDIPEffectiveFromDate: "{{ mpan }}"',  # not a date: found once rendered
    )
    write(project, "test_themes/wrong_contract.yaml", scenario)
    result = run(pytester, "-q", "--cohort", "C1", "--mhhs-results", "out/results.json")
    out = result.stdout.str()
    assert result.ret == 1
    assert "DEFINITION ERRORS (the test files are wrong, not the product)" in out
    assert "DEFINITION ERROR test_themes/wrong_contract.yaml::T-03-902-TC01[C1]" in out
    assert "BROKEN" not in out and "1 definition error" in out.splitlines()[-1]
    (case,) = json.loads((pytester.path / "out" / "results.json").read_text())["cases"]
    assert (case["status"], case["category"]) == ("definition error", "test definition error")


def test_definition_errors_say_so_in_every_file_and_in_the_summary_line(pytester, project):
    """The terminal (letter and plural word), results.json, the store and Allure all name the status."""
    for sid in ("T-03-904", "T-03-905"):
        wrong = appointment_scenario(sid).replace(  # a field that is no date: found once rendered, at run time
            'proposedDataServiceDIPEffectiveFromDate: "{{ midnight }}"',
            'proposedDataServiceDIPEffectiveFromDate: "{{ mpan }}"',
        )
        write(project, f"test_themes/{sid}.yaml", wrong)
    store = pytester.path / "out" / "store.sqlite"
    result = run(pytester, "--cohort", "C1", "--mhhs-results", "out/results.json", "--alluredir", "out/allure",
                 "--mhhs-store", f"sqlite:///{store}")  # fmt: skip
    out = result.stdout.str()
    assert result.ret == 1 and "2 definition errors" in result.stdout.lines[-1], out
    assert re.search(r"^test_themes/T-03-904\.yaml D\b", out, re.M), out
    cases = json.loads((pytester.path / "out" / "results.json").read_text())["cases"]
    assert {c["status"] for c in cases} == {"definition error"}
    with sqlite3.connect(store) as db:
        assert db.execute("select distinct status from mhhs_results").fetchall() == [("definition error",)]
    allure = pytester.path / "out" / "allure"
    results = [json.loads(f.read_text()) for f in allure.glob("*-result.json")]
    assert [r["status"] for r in results] == ["broken", "broken"]  # Allure has no such status ...
    categories = json.loads((allure / "categories.json").read_text())
    for r in results:  # ... its category tells it apart
        first = next(c for c in categories if r["status"] in c["matchedStatuses"]
                     and re.fullmatch(c.get("messageRegex", ".*"), r["statusDetails"]["message"], re.S))  # fmt: skip
        assert first["name"] == "Test definition errors", r["statusDetails"]["message"]


def test_a_crashed_workers_case_is_broken_in_the_terminal_as_in_the_results(pytester, project):
    write(project, "test_themes/crash.yaml", appointment_scenario("T-03-903"))
    write(
        project,
        "conftest.py",
        """
        import os

        def pytest_runtest_call(item):
            if "T-03-903" in item.nodeid:
                os._exit(3)  # the worker dies mid-case
        """,
    )
    result = run(pytester, "-n", "1", "--cohort", "C1", "--mhhs-results", "out/results.json")
    last = result.stdout.lines[-1]
    assert "1 broken" in last and "failed" not in last, last
    (case,) = json.loads((pytester.path / "out" / "results.json").read_text())["cases"]
    assert case["status"] == "broken"


def test_a_case_that_kills_its_worker_under_two_workers_is_broken_and_filed_in_allure_like_any_case(pytester, project):
    """os._exit in mid-case under -n 2: the terminal says B and "1 broken" (not F / "failed"), and
    the Allure result the controller writes has the suites, title and severity of a case that ran."""
    write(project, "test_themes/crash.yaml", appointment_scenario("T-03-906"))
    write(project, "test_themes/fine.yaml", appointment_scenario("T-03-907"))
    write(project, "conftest.py", """
        import os

        def pytest_runtest_call(item):
            if "T-03-906" in item.nodeid:
                os._exit(3)  # the worker dies mid-case
        """)  # fmt: skip
    result = run(pytester, "-n", "2", "--cohort", "C1", "--mhhs-results", "out/results.json", "--alluredir", "out/a")
    out, last = result.stdout.str(), result.stdout.lines[-1]
    assert "1 broken" in last and "1 passed" in last and "failed" not in last, last
    assert not re.search(r"^\[gw\d\] .*\bFAILED\b.*T-03-906", out, re.M) and "BROKEN" in out, out
    allure = [json.loads(f.read_text()) for f in (pytester.path / "out" / "a").glob("*-result.json")]
    crashed, fine = (next(r for r in allure if r["status"] == status) for status in ("broken", "passed"))
    labels = {(label["name"], label["value"]) for label in crashed["labels"]}
    assert {("parentSuite", "SIT Functional"), ("suite", "Theme 3"), ("subSuite", "T-03-906 Test scenario T-03-906"),
            ("severity", "normal"), ("cohort", "C1"), ("case", "T-03-906-TC01")} <= labels  # fmt: skip
    assert crashed["name"] == "T-03-906-TC01 [C1] case of T-03-906" and "crashed" in crashed["statusDetails"]["message"]
    assert (crashed["fullName"], crashed["titlePath"]) == (
        "test_themes.crash#T-03-906-TC01",
        ["test_themes", "crash.yaml"],
    )
    assert {n for n, _ in labels} >= {label["name"] for label in fine["labels"]} - {
        "host",
        "thread",
        "language",
        "participant",
    }
