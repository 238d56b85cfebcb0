"""Allure run files, crash results and the shared vocabulary of mhhs-sit's Allure evidence.

Case results themselves are written by ``allure_writer``. A crashed xdist worker leaves no result
unless the controller writes one (``crashed_result``), with the case's own identity.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SEVERITY = {1: "critical", 2: "normal", 3: "minor", 4: "trivial"}
STATUS = {"passed": "passed", "failed": "failed", "broken": "broken", "skipped": "skipped", "pending": "skipped"}

# Allure matches categories on status and on the message, which starts with the exception class.
CATEGORIES = [
    {"name": "Product defect", "matchedStatuses": ["failed"]},
    {"name": "Test data issue", "matchedStatuses": ["broken"], "messageRegex": r".*TestDataError.*"},
    {
        "name": "Test definition error",
        "matchedStatuses": ["broken"],
        "messageRegex": r".*(StepDefinitionError|ConfigError|DefinitionError).*",
    },
    {"name": "Environment issue", "matchedStatuses": ["broken"], "messageRegex": r".*EnvironmentBroken.*"},
    {"name": "Framework error", "matchedStatuses": ["broken"]},
]


def stable_id(case_id: str, cohort_id: str) -> str:
    """The case's identity across runs and reports: the case id and the cohort, nothing else."""
    return f"{case_id}[{cohort_id}]"


def write_run_files(alluredir: Path, run: Mapping[str, Any]) -> None:
    """environment.properties, categories.json and executor.json (from CI variables when present)."""
    alluredir.mkdir(parents=True, exist_ok=True)
    lines = [f"{k}={v}" for k, v in run.items() if v not in (None, "", [])]
    (alluredir / "environment.properties").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (alluredir / "categories.json").write_text(json.dumps(CATEGORIES, indent=2), encoding="utf-8")
    executor = _executor(os.environ)
    if executor:
        (alluredir / "executor.json").write_text(json.dumps(executor, indent=2), encoding="utf-8")


def _executor(env: Mapping[str, str]) -> dict[str, Any] | None:
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


def crashed_result(nodeid: str, longrepr: str) -> None:
    """A broken result for an item whose xdist worker died, with the item's own identity."""
    import allure_commons
    from allure_commons.model2 import Label, Status, StatusDetails, TestResult
    from allure_commons.utils import md5, now, uuid4

    path, _, name = nodeid.partition("::")
    case_id, _, cohort = name.rstrip("]").partition("[")
    stem = Path(path)
    package = ".".join([*stem.parent.parts, stem.stem])
    identity = md5(stable_id(case_id, cohort))
    result = TestResult(
        uuid=uuid4(),
        name=name,
        fullName=f"{package}#{name}",
        historyId=identity,
        testCaseId=identity,
        status=Status.BROKEN,
        start=now(),
        stop=now(),
        statusDetails=StatusDetails(message=f"xdist worker crashed while running {nodeid}", trace=longrepr[:20000]),
        labels=[Label("framework", "pytest"), Label("cohort", cohort), Label("case", case_id)],
    )
    allure_commons.plugin_manager.hook.report_result(result=result)


def speed_up_file_logger() -> None:
    """Write each Allure result with one ``json.dumps`` and one write.

    allure-commons streams ``json.dump`` into the file (hundreds of small writes per result), which
    was most of the evidence overhead measured in ``bench/``. Same files, same content; the
    logger instance is patched rather than replaced so allure-pytest's own clean-up still works.
    """
    import uuid

    import allure_commons
    from allure_commons.logger import AllureFileLogger
    from attr import asdict

    def report_item(self: AllureFileLogger, item: Any) -> None:
        filename = item.file_pattern.format(prefix=uuid.uuid4())
        data = asdict(item, filter=lambda _, v: v or v is False)
        indent = 4 if os.environ.get("ALLURE_INDENT_OUTPUT") else None
        blob = json.dumps(data, indent=indent, ensure_ascii=False).encode("utf-8")
        tmp = self._report_dir / f"{filename}.tmp"
        tmp.write_bytes(blob)
        os.replace(tmp, self._report_dir / filename)

    for plugin in allure_commons.plugin_manager.get_plugins():
        if isinstance(plugin, AllureFileLogger) and "_report_item" not in vars(plugin):
            plugin._report_item = report_item.__get__(plugin)  # type: ignore[method-assign]
