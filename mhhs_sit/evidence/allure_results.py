"""Allure results for mhhs-sit cases: labels, a stable identity, steps and one attachment.

Facts this relies on (allure-pytest 2.16, measured in TOOLCHAIN-FACTS): dynamic labels stick only
when set inside ``runtest()``; ``testCaseId`` has no public API, so the listener's current
``TestResult`` is updated directly (hence the pinned allure-pytest); a crashed xdist worker
leaves no result unless the controller writes one. Each case writes two files — its result and
one JSON attachment holding every exchange and poll — instead of one file per message.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mhhs_sit.evidence.redact import redact

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


def _listener(config: Any) -> Any:
    return config.pluginmanager.get_plugin("allure_listener")


def annotate(item: Any, *, secrets: Iterable[str] = (), personal: frozenset[str] | None = None) -> None:
    """Labels, links, identity, steps and the exchanges attachment of the running case."""
    listener = _listener(item.config)
    if listener is None:  # no --alluredir: nothing to do
        return
    import allure
    from allure_commons.model2 import Label, Link, Parameter, StatusDetails, TestStepResult
    from allure_commons.utils import represent
    from allure_pytest.utils import format_allure_link

    test = listener.allure_logger.get_test(None)
    if test is None:
        return
    # Set on the listener's current result directly: the same effect as allure.dynamic.*, without
    # a hook round-trip per label (measured as a third of the evidence overhead).
    sc, case, cohort = item.scenario, item.case, item.cohort
    cohort_id = item.cohort_id
    test.name = f"{case.id} [{cohort_id}] {case.title}"
    if sc.description:
        test.description = sc.description
    labels = [
        ("parentSuite", sc.stage_title),
        ("suite", f"Theme {sc.theme}"),
        ("subSuite", f"{sc.id} {sc.title}"),
        ("epic", sc.stage_title),
        ("feature", f"Theme {sc.theme}"),
        ("story", f"{sc.id} {sc.title}"),
        ("severity", SEVERITY.get(case.priority, "normal")),
        ("cohort", cohort_id),
        ("case", case.id),
    ]  # tags need nothing: allure-pytest turns the items' tag markers into tag labels
    if cohort is not None:
        labels += [("participant", f"{role} {p.mpid} {p.dip_id}") for role, p in sorted(cohort.participants.items())]
    test.labels.extend(Label(name, value) for name, value in labels)
    for req in sorted(set(sc.requirements) | set(case.requirements)):
        url = format_allure_link(item.config, req, "requirement")
        test.links.append(Link("requirement", url, req))
    test.parameters.append(Parameter(name="cohort", value=represent(cohort_id)))

    identity = stable_id(case.id, cohort_id)
    test.testCaseId = hashlib.md5(identity.encode()).hexdigest()
    test.historyId = test.testCaseId
    record = item.record
    if record is None:
        return
    for s in record.steps:
        details = StatusDetails(message=s.detail) if s.detail else None
        params = [Parameter(name="at", value=s.location)]
        params += [Parameter(name=f"saved {k}", value=str(v)[:200]) for k, v in s.saved.items()]
        for ex in s.exchanges:
            response = ex.get("response") or {}
            if "status" in response:
                params.append(Parameter(name=f"{ex.get('method')} {ex.get('url')}", value=str(response["status"])))
        test.steps.append(
            TestStepResult(
                name=f"{s.number}. {s.title}",
                status=STATUS.get(s.status, "skipped"),
                statusDetails=details,
                start=int(s.started * 1000) if s.started else None,
                stop=int(s.stopped * 1000) if s.stopped else None,
                parameters=params,
            )
        )
    body = {
        "case": identity,
        "data": record.data_drawn,
        "steps": [
            {"n": s.number, "title": s.title, "status": s.status, "exchanges": s.exchanges, "polls": s.polls}
            for s in record.steps
            if s.exchanges or s.polls
        ],
    }
    secrets = list(secrets)
    if secrets or personal is not None:
        body = redact(body, secrets=secrets, personal=personal)
    allure.attach(
        json.dumps(body, separators=(",", ":"), default=str),
        name="messages and polls",
        attachment_type=allure.attachment_type.JSON,
    )


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
