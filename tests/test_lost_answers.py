"""A send whose answer was lost is recorded as what it was: accepted earlier, with the original
transaction where the environment can name it, else "transaction id unknown" and a check that
needs it is broken (never a made-up answer, never a product defect)."""

from __future__ import annotations

import json
import shutil

import pytest

from mhhs_sit.definitions.cohorts import load_cohorts
from mhhs_stubs import EmbeddedSimulator, config_from_cohorts
from tests.helpers import REPO, write
from tests.test_end_to_end import _exchanges

FIXTURE = REPO / "tests" / "fixtures" / "fault_sweep"
LOST_FIRST_ANSWER = "faults:\n  - {id: lost-answer, kind: truncated, count: 1, scope: {interface: IF-031}}\n"


def _cycle(root):
    shutil.copytree(REPO / "cohorts", root / "cohorts")
    shutil.copytree(FIXTURE / "test_themes", root / "test_themes")


def _run(pytester, *args):
    return pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--cohort", "C1", "-k", "TC01", "--mhhs-results", "out/results.json",
        "--alluredir", "out/allure", *args, timeout=120,
    )  # fmt: skip


def _recovered(root):
    found = [x for f in (root / "out" / "allure").glob("*-attachment.json") for x in _exchanges(f)]
    return [x for x in found if "recovered" in x]


def test_a_lost_answer_is_looked_up_in_the_simulators_journal(pytester):
    _cycle(pytester.path)
    write(
        pytester.path,
        "environments/lossy.yaml",
        "environment: lossy\nenvironment_tag: DEV\nstubs: embedded\nretries: 2\n" + LOST_FIRST_ANSWER,
    )
    result = _run(pytester, "--mhhs-env", "lossy")
    result.assert_outcomes(passed=1)  # the saved transaction id is the journal's, so the check of it passes
    (recovered,) = _recovered(pytester.path)
    assert recovered["response"]["status"] == 400  # the answer as it came, not an invented 201
    assert recovered["recovered"]["transactionID"].startswith("T-IF-031-2300000101-SUP-")
    assert "accepted by an earlier attempt whose answer was lost" in recovered["note"]


@pytest.fixture
def remote_dip():
    cohorts, problems = load_cohorts(REPO / "cohorts")
    assert not problems
    faults = ({"id": "lost-answer", "kind": "truncated", "count": 1, "scope": {"interface": ["IF-031"]}},)
    with EmbeddedSimulator(config_from_cohorts(cohorts.values(), version="1.8.2", faults=faults)) as sim:
        yield sim


def test_without_a_journal_the_transaction_is_unknown_and_its_check_broken(pytester, remote_dip, monkeypatch):
    """A real DIP offers a sender no lookup of what it sent: the saved transaction id cannot be
    had, so the case is broken with that reason and the fault, not failed."""
    _cycle(pytester.path)
    for dip_id, key in remote_dip.config.api_keys.items():
        monkeypatch.setenv(f"SWEEP_KEY_{dip_id}", key)
    write(
        pytester.path,
        "environments/remote.yaml",
        f"environment: remote\nenvironment_tag: DEV\nstubs: none\ndip_url: {remote_dip.url}\nretries: 2\n"
        "auth: {api_key_env: 'SWEEP_KEY_{dip_id}'}\n",
    )
    result = _run(pytester, "--mhhs-env", "remote")
    case = json.loads((pytester.path / "out" / "results.json").read_text())["cases"][0]
    assert case["status"] == "broken", case
    assert "accepted earlier, transaction id unknown" in case["message"]
    assert "this DIP offers a sender no lookup of a sent message" in case["message"]
    assert result.ret == 1 and "failed" not in result.stdout.lines[-1]
