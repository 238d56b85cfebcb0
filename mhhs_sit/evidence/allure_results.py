"""Allure run files, crash results and the shared vocabulary of mhhs-sit's Allure evidence.

Everything here follows Allure's documented result format (no allure-pytest, no allure-commons
internals): the names of a test as pytest's node id gives them, the run's environment and
categories files, the result the controller writes for an item whose xdist worker crashed
(``crashed_result``) with the case's own identity, since the dead worker wrote none, and the one for
a scenario file that could not be loaded (``unloaded_result``), which has no case to write one.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import uuid
from collections.abc import Mapping
from pathlib import Path

from mhhs_sit.core import atomic
from mhhs_sit.definitions.model import STAGES
from mhhs_sit.results.model import CaseMeta

SEVERITY = {1: "critical", 2: "normal", 3: "minor", 4: "trivial"}
# Allure's statuses for ours: Allure has no "definition error", so one is written as broken and told
# apart by its category, "Test definition errors".
STATUS = {
    "passed": "passed",
    "failed": "failed",
    "broken": "broken",
    "definition error": "broken",
    "skipped": "skipped",
    "not run": "skipped",
    "pending": "skipped",
}

# Allure matches categories on status and on the message, which starts with the exception class.
CATEGORIES = [
    {"name": "Product defect", "matchedStatuses": ["failed"]},
    {"name": "Test data issue", "matchedStatuses": ["broken"], "messageRegex": r".*TestDataError.*"},
    {
        "name": "Test definition errors",
        "matchedStatuses": ["broken"],
        "messageRegex": r".*(StepDefinitionError|ConfigError|DefinitionError).*",
    },
    {"name": "Environment issue", "matchedStatuses": ["broken"], "messageRegex": r".*EnvironmentBroken.*"},
    {"name": "Framework error", "matchedStatuses": ["broken"]},
]


def stable_id(case_id: str, cohort_id: str) -> str:
    """The case's identity across runs and reports: the case id and the cohort, nothing else."""
    return f"{case_id}[{cohort_id}]"


def write_run_files(alluredir: Path, run: Mapping[str, object]) -> None:
    """environment.properties, categories.json and executor.json (from CI variables when present)."""
    lines = [f"{k}={v}" for k, v in run.items() if v not in (None, "", [])]
    atomic.write_text(alluredir / "environment.properties", "\n".join(lines) + "\n")
    atomic.write_text(alluredir / "categories.json", json.dumps(CATEGORIES, indent=2))
    executor = _executor(os.environ)
    if executor:
        atomic.write_text(alluredir / "executor.json", json.dumps(executor, indent=2))


def _executor(env: Mapping[str, str]) -> dict[str, str | None] | None:
    if env.get("GITHUB_ACTIONS"):
        base = f"{env.get('GITHUB_SERVER_URL', '')}/{env.get('GITHUB_REPOSITORY', '')}"
        return {
            "name": "GitHub Actions",
            "type": "github",
            "buildName": env.get("GITHUB_RUN_NUMBER"),
            "buildUrl": f"{base}/actions/runs/{env.get('GITHUB_RUN_ID')}",
            "reportName": "MHHS SIT evidence",
        }
    if env.get("GITLAB_CI"):
        return {
            "name": "GitLab CI",
            "type": "gitlab",
            "buildName": env.get("CI_PIPELINE_ID"),
            "buildUrl": env.get("CI_PIPELINE_URL"),
            "reportName": "MHHS SIT evidence",
        }
    if env.get("JENKINS_URL"):
        return {
            "name": "Jenkins",
            "type": "jenkins",
            "buildName": env.get("BUILD_NUMBER"),
            "buildUrl": env.get("BUILD_URL"),
            "reportName": "MHHS SIT evidence",
        }
    if env.get("CI"):
        return {
            "name": "CI",
            "type": "ci",
            "buildName": env.get("BUILD_ID") or env.get("CI_JOB_ID"),
            "reportName": "MHHS SIT evidence",
            "hostname": platform.node(),
        }
    return None


def node_path(nodeid: str) -> tuple[list[str], str, list[str], str]:
    """A pytest node id's directories, module, classes and test name (parameters stripped)."""
    file_part, *rest = nodeid.split("::")
    *directories, file_name = file_part.split("/")
    test = rest[-1] if rest else ""
    return directories, file_name.rsplit(".", 1)[0], rest[:-1], test.split("[", 1)[0]


def package_of(nodeid: str) -> str:
    """``tests.evidence.test_x``: Allure's package label, the dotted module path."""
    directories, module, _, _ = node_path(nodeid)
    return ".".join(part for part in [*directories, module] if part)


def full_name_of(nodeid: str) -> str:
    """``package.Class#test``: Allure's full name of a test, parameters left out."""
    _, _, classes, test = node_path(nodeid)
    return package_of(nodeid) + "".join(f".{c}" for c in classes) + f"#{test}"


def title_path_of(nodeid: str) -> list[str]:
    """The file's path segments and the classes: where the report files the test."""
    file_part, *rest = nodeid.split("::")
    return [segment for segment in [*file_part.split("/"), *rest[:-1]] if segment]


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def case_labels(
    *, stage: str, theme: str, scenario: str, priority: int | None, cohort: str, case: str
) -> list[tuple[str, str]]:
    """Where a case is filed (stage › theme › scenario, in the suites and behaviours views), its
    severity and identity: the same for a case that ran and one whose worker crashed."""
    return [
        ("parentSuite", stage),
        ("suite", f"Theme {theme}"),
        ("subSuite", scenario),
        ("epic", stage),
        ("feature", f"Theme {theme}"),
        ("story", scenario),
        ("severity", SEVERITY.get(priority or 2, "normal")),
        ("cohort", cohort),
        ("case", case),
    ]


UNLOADED_SUITE = "Scenario files that could not be loaded"


def unloaded_result(nodeid: str, longrepr: str, now_ms: int) -> dict[str, object]:
    """A scenario file that could not be loaded (bad YAML, a schema error): a definition error of the
    file, so Allure's broken in the category "Test definition errors" (its message names the
    ``DefinitionError``), filed under its own suite, identified by the file across runs."""
    directories, _, _, _ = node_path(nodeid)
    file_name = nodeid.rsplit("/", 1)[-1]
    first = next((line.strip() for line in longrepr.splitlines() if line.strip()), "")
    identity = md5_hex(nodeid)
    labels = [("framework", "pytest"), ("package", package_of(nodeid)), ("parentSuite", UNLOADED_SUITE),
              ("suite", "/".join(directories) or "."), ("severity", "normal")]  # fmt: skip
    return {
        "uuid": str(uuid.uuid4()),
        "name": f"{file_name}: definition error, the file could not be loaded",
        "fullName": nodeid,
        "titlePath": title_path_of(nodeid),
        "historyId": identity,
        "testCaseId": identity,
        "status": STATUS["definition error"],
        "stage": "finished",
        "start": now_ms,
        "stop": now_ms,
        "statusDetails": {
            "message": f"DefinitionError: {nodeid} could not be loaded: {first}",
            "trace": longrepr[:20000],
        },
        "labels": [{"name": key, "value": value} for key, value in labels],
    }


def crashed_result(nodeid: str, longrepr: str, now_ms: int, meta: CaseMeta | None = None) -> dict[str, object]:
    """A broken result for an item whose xdist worker died, with the item's own identity, and, when
    its setup report said what the case is (``meta``), its title, suites and severity."""
    _, _, name = nodeid.partition("::")
    case_id, _, cohort = name.rstrip("]").partition("[")
    identity = md5_hex(stable_id(case_id, cohort))
    labels = [("framework", "pytest"), ("cohort", cohort), ("case", case_id)]
    result: dict[str, object] = {"name": name, "fullName": f"{package_of(nodeid)}#{name}"}
    if meta is not None:
        scenario = f"{meta.scenario} {meta.scenario_title}"
        labels = [("framework", "pytest"), ("package", package_of(nodeid))]
        labels += case_labels(stage=STAGES.get(meta.stage, meta.stage), theme=meta.theme, scenario=scenario,
                              priority=meta.priority, cohort=cohort, case=case_id)  # fmt: skip
        labels += [("tag", tag) for tag in meta.tags]
        result = {"name": f"{case_id} [{cohort}] {meta.title}", "fullName": full_name_of(nodeid)}
        result["titlePath"] = title_path_of(nodeid)
        result["links"] = [{"type": "requirement", "url": req, "name": req} for req in meta.requirements]
    return {
        "uuid": str(uuid.uuid4()),
        **result,
        "historyId": identity,
        "testCaseId": identity,
        "status": "broken",
        "stage": "finished",
        "start": now_ms,
        "stop": now_ms,
        "statusDetails": {"message": f"xdist worker crashed while running {nodeid}", "trace": longrepr[:20000]},
        "labels": [{"name": key, "value": value} for key, value in labels],
    }
