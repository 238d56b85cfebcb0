"""results.json: every collected case appears, whatever happened to it."""

import json

from tests.helpers import appointment_scenario, copy_project, write


def results(pytester, *args):
    run = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--mhhs-results", "r.json", *args, timeout=180)
    path = pytester.path / "r.json"
    assert path.is_file(), run.stdout.str()[-3000:] + run.stderr.str()[-2000:]
    return json.loads(path.read_text())


def test_cases_not_reached_are_recorded_as_not_run(pytester):
    copy_project(pytester.path, themes=False)
    failing = appointment_scenario(
        "A-00-001",
        """
        - expect: {at: SUP, interface: IF-035, event: DSAppRejected, within: 1s}
        """,
    )
    write(pytester.path, "test_themes/a.yaml", failing)
    write(pytester.path, "test_themes/b.yaml", appointment_scenario("B-00-001"))
    doc = results(pytester, "-x", "--cohort", "C1")
    by_case = {c["case"]: c for c in doc["cases"]}
    assert by_case["A-00-001-TC01"]["status"] == "failed"
    assert by_case["A-00-001-TC01"]["category"] == "product defect"
    assert "no IF-035 [DSAppRejected] reached SUP" in by_case["A-00-001-TC01"]["message"]
    assert by_case["B-00-001-TC01"]["status"] == "not run"
    assert by_case["B-00-001-TC01"]["title"] == "case of B-00-001"  # known from collection
    assert doc["totals"] == {"failed": 1, "not run": 1}


def test_skipped_and_broken_cases_carry_their_reason_and_category(pytester):
    copy_project(pytester.path, themes=False)
    write(pytester.path, "test_themes/s.yaml", appointment_scenario("S-00-001", roles="[SUP, SDS, ADS]"))
    write(
        pytester.path,
        "environments/down.yaml",
        "environment: down\nenvironment_tag: DEV\nstubs: none\ndip_url: http://127.0.0.1:9\nretries: 0\n",
    )
    write(pytester.path, "test_themes/d.yaml", appointment_scenario("D-00-001", roles="[SUP, SDS]"))
    doc = results(pytester, "--mhhs-env", "down")
    by_case = {c["case"]: c for c in doc["cases"] if c["cohort"] in ("C1", "no-eligible-cohort")}
    assert by_case["S-00-001-TC01"]["status"] == "skipped"
    assert "no eligible cohort" in by_case["S-00-001-TC01"]["message"]
    assert by_case["D-00-001-TC01"]["status"] == "broken"
    assert by_case["D-00-001-TC01"]["category"] == "environment issue"
    assert doc["environment"] == "down" and doc["cohorts"] == ["C1", "C2"]


def test_under_xdist_the_controller_writes_one_complete_file(pytester):
    copy_project(pytester.path)
    doc = results(pytester, "-n", "2")
    assert doc["totals"] == {"passed": 16}
    assert len({c["nodeid"] for c in doc["cases"]}) == 16
    assert all(c["steps"] and c["title"] for c in doc["cases"])
