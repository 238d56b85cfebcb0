"""Allure results for the other pytest tests of a session (plain Python tests beside the scenarios).

mhhs-sit owns ``--alluredir``, so it writes these too, in Allure's documented format. A test
may use allure-commons' public API (``allure.dynamic.label``, ``allure.step``, ``allure.attach``,
``@allure.title`` and the label and link decorators): ``AllureApi`` implements its hooks for the
test running in this process. Fixtures are not reported as setup and teardown containers.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import allure_commons
import pytest

from mhhs_sit.evidence.allure_case import Json, outcome, process_labels, status_message
from mhhs_sit.evidence.allure_results import STATUS, full_name_of, md5_hex, node_path, title_path_of
from mhhs_sit.results.outcome import Status, classify

LABEL_MARK = "allure_label"
LINK_MARK = "allure_link"
TITLE_ATTRIBUTE = "__allure_display_name__"
DESCRIPTION_ATTRIBUTE = "__allure_description__"
Submit = Callable[[str, bytes], None]


def _now_ms() -> int:
    return int(time.time() * 1000)


def _entries(holder: Json, key: str) -> list[object]:
    """``holder[key]``, the list of steps, attachments, labels ... made on first use."""
    entries = holder.setdefault(key, [])
    assert isinstance(entries, list)
    return entries


@dataclass
class PlainRun:
    """What a plain test has produced so far: its result and the steps still open."""

    result: Json
    open_steps: list[Json] = field(default_factory=list)

    def _innermost(self) -> Json:
        return self.open_steps[-1] if self.open_steps else self.result

    def children(self) -> list[object]:
        """Where a new step goes: into the innermost open step, else the test."""
        return _entries(self._innermost(), "steps")

    def attachments(self) -> list[object]:
        """Where a new attachment goes: the innermost open step's, else the test's."""
        return _entries(self._innermost(), "attachments")

    def add(self, key: str, entry: Json) -> None:
        _entries(self.result, key).append(entry)


def _extension(attachment_type: object, extension: str | None) -> tuple[str | None, str]:
    """(MIME type, file extension) of an attachment: ``AttachmentType`` members carry both."""
    mime = getattr(attachment_type, "mime_type", attachment_type if isinstance(attachment_type, str) else None)
    ext = extension or getattr(attachment_type, "extension", None) or "attach"
    return mime, ext


class AllureApi:
    """allure-commons' hooks (``allure.dynamic``, ``allure.step``, ``allure.attach``, decorators)."""

    def __init__(self, report_dir: Path, submit: Submit) -> None:
        self._dir = os.fspath(report_dir)
        self._submit = submit
        self.current: PlainRun | None = None

    # decorators: kept as pytest marks and function attributes, read when the test's result is made
    @allure_commons.hookimpl
    def decorate_as_label(self, label_type: str, labels: tuple[str, ...]) -> object:
        return getattr(pytest.mark, LABEL_MARK)(*labels, label_type=label_type)

    @allure_commons.hookimpl
    def decorate_as_link(self, url: str, link_type: str, name: str | None) -> object:
        return getattr(pytest.mark, LINK_MARK)(url, name=name or url, link_type=link_type)

    @allure_commons.hookimpl
    def decorate_as_title(self, test_title: str) -> Callable[[object], object]:
        return _setting(TITLE_ATTRIBUTE, test_title)

    @allure_commons.hookimpl
    def decorate_as_description(self, test_description: str) -> Callable[[object], object]:
        return _setting(DESCRIPTION_ATTRIBUTE, test_description)

    # allure.dynamic
    @allure_commons.hookimpl
    def add_label(self, label_type: str, labels: tuple[str, ...]) -> None:
        if self.current is not None:
            for value in labels:
                self.current.add("labels", {"name": label_type, "value": value})

    @allure_commons.hookimpl
    def add_link(self, url: str, link_type: str, name: str | None) -> None:
        if self.current is not None:
            self.current.add("links", {"type": link_type, "url": url, "name": name or url})

    @allure_commons.hookimpl
    def add_parameter(self, name: str, value: object, excluded: bool | None, mode: object) -> None:
        if self.current is not None:
            self.current.add("parameters", {"name": name, "value": repr(value)})

    @allure_commons.hookimpl
    def add_title(self, test_title: str) -> None:
        if self.current is not None:
            self.current.result["name"] = test_title

    @allure_commons.hookimpl
    def add_description(self, test_description: str) -> None:
        if self.current is not None:
            self.current.result["description"] = test_description

    @allure_commons.hookimpl
    def add_description_html(self, test_description_html: str) -> None:
        if self.current is not None:
            self.current.result["descriptionHtml"] = test_description_html

    # allure.step
    @allure_commons.hookimpl
    def start_step(self, uuid: str, title: str, params: dict[str, object]) -> None:
        if self.current is None:
            return
        step: Json = {"name": title, "stage": "running", "start": _now_ms()}
        step["parameters"] = [{"name": k, "value": repr(v)} for k, v in (params or {}).items()]
        self.current.children().append(step)
        self.current.open_steps.append(step)

    @allure_commons.hookimpl
    def stop_step(
        self,
        uuid: str,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        if self.current is None or not self.current.open_steps:
            return
        step = self.current.open_steps.pop()
        step.update(stage="finished", stop=_now_ms())
        if exc_val is None:
            step["status"] = Status.PASSED.value
        else:
            step["status"] = STATUS[classify(exc_val).status.value]
            step["statusDetails"] = {"message": f"{type(exc_val).__name__}: {exc_val}"}

    # allure.attach
    @allure_commons.hookimpl
    def attach_data(self, body: str | bytes, name: str, attachment_type: object, extension: str | None) -> None:
        self._attach(body.encode("utf-8") if isinstance(body, str) else body, name, attachment_type, extension)

    @allure_commons.hookimpl
    def attach_file(self, source: str, name: str, attachment_type: object, extension: str | None) -> None:
        self._attach(Path(source).read_bytes(), name, attachment_type, extension)

    def _attach(self, blob: bytes, name: str, attachment_type: object, extension: str | None) -> None:
        if self.current is None:
            return
        mime, ext = _extension(attachment_type, extension)
        source = f"{uuid.uuid4()}-attachment.{ext}"
        self._submit(os.path.join(self._dir, source), blob)
        entry: Json = {"name": name or source, "source": source}
        if mime:
            entry["type"] = mime
        self.current.attachments().append(entry)


def _setting(attribute: str, value: str) -> Callable[[object], object]:
    def decorate(function: object) -> object:
        setattr(function, attribute, value)
        return function

    return decorate


def _labels(item: pytest.Item) -> list[tuple[str, str]]:
    """Suites from the node id (directories, module, classes), then the labels and tags of its marks."""
    directories, module, classes, _ = node_path(item.nodeid)
    suites = [("parentSuite", ".".join(directories)), ("suite", module), ("subSuite", " > ".join(classes))]
    labels = [(name, value) for name, value in suites if value]
    labels += [(m.kwargs["label_type"], str(v)) for m in item.iter_markers(LABEL_MARK) for v in m.args]
    labels += [("tag", m.name) for m in item.iter_markers() if not (m.args or m.kwargs or m.name.startswith("allure"))]
    return [*labels, *process_labels(item.nodeid)]


def _links(item: pytest.Item) -> list[Json]:
    return [
        {"type": m.kwargs["link_type"], "url": m.args[0], "name": m.kwargs["name"]}
        for m in item.iter_markers(LINK_MARK)
    ]


def start_result(item: pytest.Item) -> PlainRun:
    """A plain test's result as it starts: names, identity, the labels and links of its marks."""
    nodeid = item.nodeid
    function = getattr(item, "obj", None)
    result: Json = {
        "uuid": str(uuid.uuid4()),
        "historyId": md5_hex(nodeid),
        "testCaseId": md5_hex(full_name_of(nodeid)),
        "fullName": full_name_of(nodeid),
        "name": getattr(function, TITLE_ATTRIBUTE, None) or item.name,
        "status": Status.PASSED.value,
        "stage": "running",
        "start": _now_ms(),
        "labels": [{"name": n, "value": v} for n, v in _labels(item)],
        "links": _links(item),
        "titlePath": title_path_of(nodeid),
    }
    description = getattr(function, DESCRIPTION_ATTRIBUTE, None) or getattr(function, "__doc__", None)
    if description:
        result["description"] = description
    return PlainRun(result)


def record_phase(run: PlainRun, report: pytest.TestReport, excinfo: pytest.ExceptionInfo[BaseException] | None) -> None:
    """Fold one phase (setup, call, teardown) into the result: the first phase that did not pass says why."""
    if run.result["status"] != Status.PASSED or report.passed:
        return
    status = outcome(report, excinfo)
    if report.when != "call" and status == Status.FAILED:
        status = Status.BROKEN.value  # an assertion in a fixture is the test's setup that broke, not the product
    run.result["status"] = status
    run.result["statusDetails"] = status_message(report, excinfo)


def finish_result(run: PlainRun) -> Json:
    run.result.update(stage="finished", stop=_now_ms())
    return run.result
