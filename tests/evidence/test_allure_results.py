"""Allure results written for YAML cases: identity, labels, steps, attachments, categories."""

import json

from tests.helpers import appointment_scenario, copy_project, write


def label(result, name):
    return next(item["value"] for item in result["labels"] if item["name"] == name)


def allure_results(directory):
    results = [json.loads(p.read_text()) for p in directory.glob("*-result.json")]
    return {f"{label(r, 'case')}[{label(r, 'cohort')}]": r for r in results}


def test_two_workers_give_one_complete_result_per_item(pytester):
    copy_project(pytester.path)
    pytester.runpytest_subprocess("-n", "2", "--alluredir", "ar", timeout=180).assert_outcomes(passed=16)
    ar = pytester.path / "ar"
    results = allure_results(ar)
    assert len(results) == 16 and len(list(ar.glob("*-result.json"))) == 16
    r = results["SITFT-03-001-TC01[C1]"]
    labels = {(label["name"], label["value"]) for label in r["labels"]}
    assert {
        ("parentSuite", "SIT Functional"),
        ("suite", "Theme 3"),
        ("severity", "critical"),
        ("cohort", "C1"),
        ("tag", "smoke"),
        ("participant", "SUP SUPA 2300000101"),
    } <= labels
    assert r["subSuite" if False else "labels"] and any(
        n == "subSuite" and v.startswith("SITFT-03-001") for n, v in labels
    )
    assert {link["name"] for link in r["links"]} >= {"BP003", "IF-031", "IF-035"}
    assert next(s["name"] for s in r["steps"]) == "1. SUP sends IF-031 [DSApp]"
    assert all(s["start"] <= s["stop"] for s in r["steps"])
    # at most two files per case: the result and one attachment with every exchange and poll
    assert len(r["attachments"]) == 1
    body = json.loads((ar / r["attachments"][0]["source"]).read_text())
    send = body["steps"][0]["exchanges"][0]
    assert send["request"]["body"][0]["payload"]["CommonBlock"]["S0"]["interfaceID"] == "IF-031"
    assert send["request"]["headers"]["X-API-Key"] == "***"
    assert any(p["matched"] for s in body["steps"] for p in s["polls"])
    # stable identity: the same case and cohort give the same testCaseId in another run
    pytester.runpytest_subprocess("-k", "SITFT-03-001-TC01", "--alluredir", "ar2", timeout=180)
    again = allure_results(pytester.path / "ar2")["SITFT-03-001-TC01[C1]"]
    assert again["testCaseId"] == r["testCaseId"] and again["historyId"] == r["historyId"]
    assert {p.name for p in ar.iterdir()} >= {"environment.properties", "categories.json"}
    assert "ir=IR8.2" in (ar / "environment.properties").read_text()


def test_failed_and_broken_are_told_apart(pytester):
    copy_project(pytester.path, themes=False)
    write(
        pytester.path,
        "test_themes/f.yaml",
        appointment_scenario(
            "F-00-001",
            """
        - expect: {at: SUP, interface: IF-035, event: DSAppRejected, within: 1s}
        """,
        ),
    )
    write(
        pytester.path,
        "environments/down.yaml",
        "environment: down\nenvironment_tag: DEV\nstubs: none\ndip_url: http://127.0.0.1:9\nretries: 0\n",
    )
    pytester.runpytest_subprocess("--cohort", "C1", "--alluredir", "ar", timeout=180)
    pytester.runpytest_subprocess("--cohort", "C1", "--mhhs-env", "down", "--alluredir", "ar2", timeout=180)
    failed = allure_results(pytester.path / "ar")["F-00-001-TC01[C1]"]
    broken = allure_results(pytester.path / "ar2")["F-00-001-TC01[C1]"]
    assert failed["status"] == "failed" and "ScenarioFailure" in failed["statusDetails"]["message"]
    assert broken["status"] == "broken" and "EnvironmentBroken" in broken["statusDetails"]["message"]
    categories = json.loads((pytester.path / "ar" / "categories.json").read_text())
    assert categories[0] == {"name": "Product defect", "matchedStatuses": ["failed"]}


def test_secrets_never_reach_evidence_and_personal_data_can_be_masked(pytester, monkeypatch):
    copy_project(pytester.path, themes=False)
    secret = "s3cr3t-value-that-must-not-leak"
    monkeypatch.setenv("MHHS_TEST_API_KEY", secret)
    text = appointment_scenario("P-00-001").replace(
        "contractReferenceDataService: SDS-1", f'contractReferenceDataService: "{secret}"'
    )
    text += "      - expect: {at: SUP, interface: IF-036, event: DSAppActive}\n"
    write(pytester.path, "test_themes/p.yaml", text)
    # a failure whose message, saved value and step detail carry the secret: the result file, not
    # only the attachment, must be masked
    failing = appointment_scenario("P-00-002", f'      - assert:\n          - {{value: "{secret}", eq: "other"}}\n')
    write(pytester.path, "test_themes/q.yaml", failing)
    result = pytester.runpytest_subprocess(
        "--cohort", "C1", "--alluredir", "ar", "--mhhs-redact-personal", "--mhhs-results", "r.json", timeout=180
    )
    result.assert_outcomes(passed=1, failed=1)
    failed = allure_results(pytester.path / "ar")["P-00-002-TC01[C1]"]
    assert failed["status"] == "failed" and "***" in json.dumps(failed)
    leaked = [p.name for p in (pytester.path / "ar").iterdir() if secret in p.read_text()]
    assert leaked == []
    attachment = next((pytester.path / "ar").glob("*-attachment.json")).read_text()
    assert "***" in attachment and "1 Test Street" not in attachment and "SW1A 2AA" not in attachment


def test_a_crashed_worker_still_leaves_a_broken_result(pytester):
    copy_project(pytester.path, themes=False)
    write(pytester.path, "test_themes/a.yaml", appointment_scenario("CRASH-00-001"))
    write(pytester.path, "test_themes/b.yaml", appointment_scenario("SAFE-00-001"))
    pytester.makeconftest(
        "import os\n\n\ndef pytest_runtest_call(item):\n    if item.name.startswith('CRASH-00-001-TC01[C1]'):\n"
        "        os._exit(3)\n"
    )
    pytester.runpytest_subprocess("-n", "2", "--alluredir=ar", "--mhhs-results=r.json", timeout=180)
    results = allure_results(pytester.path / "ar")
    crashed = next(r for key, r in results.items() if key.startswith("CRASH-00-001-TC01[C1"))
    assert crashed["status"] == "broken" and "worker crashed" in crashed["statusDetails"]["message"]
    assert results["SAFE-00-001-TC01[C1]"]["status"] == "passed"
    doc = json.loads((pytester.path / "r.json").read_text())
    statuses = {(c["case"], c["cohort"]): c["status"] for c in doc["cases"]}
    assert statuses[("CRASH-00-001-TC01", "C1")] == "broken"


def test_plain_python_tests_still_get_allure_pytest_results(pytester):
    copy_project(pytester.path, themes=False)
    write(pytester.path, "test_themes/a.yaml", appointment_scenario("MIX-00-001"))
    pytester.makepyfile(test_plain="import allure\n\n\ndef test_ok():\n    allure.dynamic.label('kind', 'python')\n")
    result = pytester.runpytest_subprocess("--alluredir=ar", "--cohort", "C1", "test_plain.py", "test_themes",
                                           timeout=180)  # fmt: skip
    result.assert_outcomes(passed=2)
    results = [json.loads(p.read_text()) for p in (pytester.path / "ar").glob("*-result.json")]
    plain = next(r for r in results if r["name"] == "test_ok")
    assert plain["status"] == "passed" and {"name": "kind", "value": "python"} in plain["labels"]
    assert len(results) == 2


def test_background_writer_lands_every_file_and_reports_what_it_could_not_write(tmp_path):
    from mhhs_sit.evidence.allure_writer import ResultWriter

    writer = ResultWriter()
    for n in range(200):
        writer.submit(tmp_path / f"{n}-result.json", {"n": n, "name": "café"})
    writer.submit(tmp_path / "missing-dir" / "x-result.json", {"n": -1})
    problems = writer.close()
    assert sorted(int(p.name.split("-")[0]) for p in tmp_path.glob("*-result.json")) == list(range(200))
    assert json.loads((tmp_path / "7-result.json").read_text(encoding="utf-8")) == {"n": 7, "name": "café"}
    assert not list(tmp_path.glob("*.tmp"))
    assert len(problems) == 1 and problems[0].startswith("x-result.json:")
    assert writer.close() == problems  # closing twice is harmless


PLAIN_TESTS = """
import allure
import pytest


@pytest.fixture
def broken_fixture():
    raise RuntimeError("no database")


@allure.title("a titled test")
@allure.feature("billing")
@allure.link("https://example.org/BP003", name="BP003")
def test_steps_and_attachments():
    with allure.step("outer"):
        with allure.step("inner"):
            allure.attach("hello", name="greeting", attachment_type=allure.attachment_type.TEXT)


def test_assertion_fails():
    assert 1 == 2


def test_fixture_breaks(broken_fixture):
    pass
"""


def test_plain_tests_use_allure_commons_public_api_and_clean_alluredir(pytester):
    (pytester.path / "ar").mkdir()
    (pytester.path / "ar" / "old-result.json").write_text("{}")
    pytester.makepyfile(test_plain=PLAIN_TESTS)
    result = pytester.runpytest_subprocess("--alluredir=ar", "--clean-alluredir", "--strict-markers", timeout=180)
    result.assert_outcomes(passed=1, failed=1, errors=1)
    ar = pytester.path / "ar"
    assert not (ar / "old-result.json").exists()
    results = {r["fullName"].split("#")[1]: r for r in (json.loads(p.read_text()) for p in ar.glob("*-result.json"))}
    assert set(results) == {"test_steps_and_attachments", "test_assertion_fails", "test_fixture_breaks"}
    titled = results["test_steps_and_attachments"]
    assert titled["name"] == "a titled test" and titled["status"] == "passed"
    assert {"name": "feature", "value": "billing"} in titled["labels"]
    assert {"type": "link", "url": "https://example.org/BP003", "name": "BP003"} in titled["links"]
    inner = titled["steps"][0]["steps"][0]
    assert (titled["steps"][0]["name"], inner["name"], inner["status"]) == ("outer", "inner", "passed")
    attachment = inner["attachments"][0]
    assert attachment["type"] == "text/plain" and (ar / attachment["source"]).read_text() == "hello"
    assert results["test_assertion_fails"]["status"] == "failed"
    broken = results["test_fixture_breaks"]
    assert broken["status"] == "broken" and "no database" in broken["statusDetails"]["message"]
