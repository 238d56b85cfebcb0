"""Allure results for mhhs-sit cases, written by mhhs-sit itself in one pass.

allure-pytest's per-item machinery (a scheduled result, hooks around setup, call and teardown, a
label hook per marker, a streamed JSON dump) cost a third of the run time on our ~6 ms cases, so
``bench/`` showed evidence far above its 10% budget. Cases therefore bypass the allure-pytest
listener (``ListenerFilter`` hands it every other item unchanged) and ``write_case_result`` writes
the same Allure 2 result format directly: one ``json.dumps`` for the result, one for the
attachment of every exchange and poll. The files are created by a separate writer process
(``ResultWriter`` and ``file_sink``): on a disk, creating files costs more than the case itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import sys
import threading
import time
import uuid
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from mhhs_sit.core.background import BatchWorker
from mhhs_sit.evidence import file_sink
from mhhs_sit.evidence.allure_results import SEVERITY, STATUS, stable_id
from mhhs_sit.evidence.redact import Scrubber, redact


def _is_case(item: Any) -> bool:
    """An mhhs-sit case (``CaseItem`` says so of itself: evidence does not import collection)."""
    return getattr(item, "is_mhhs_case", False) is True


def _delegate(hook: Any, *args: Any) -> Generator[None, Any, None]:
    """Run one of allure-pytest's old-style hook wrappers around ``yield``."""
    gen = hook(*args)
    next(gen)
    outcome = yield
    with contextlib.suppress(StopIteration):
        gen.send(outcome)


class ListenerFilter:
    """allure-pytest's listener for every item except mhhs-sit cases (written by us instead)."""

    def __init__(self, listener: Any):
        self._listener = listener

    def __getattr__(self, name: str) -> Any:  # allure_logger, config ... as the listener has them
        return getattr(self._listener, name)

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Any:
        if _is_case(item):
            yield
            return
        yield from _delegate(self._listener.pytest_runtest_protocol, item, nextitem)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Any:
        if _is_case(item):
            yield
            return
        yield from _delegate(self._listener.pytest_runtest_setup, item)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Any:
        if _is_case(item):
            yield
            return
        yield from _delegate(self._listener.pytest_runtest_call, item)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Any:
        if _is_case(item):
            yield
            return
        yield from _delegate(self._listener.pytest_runtest_teardown, item)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        if _is_case(item):
            yield
            return
        yield from _delegate(self._listener.pytest_runtest_makereport, item, call)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef: Any, request: Any) -> Any:
        yield from _delegate(self._listener.pytest_fixture_setup, fixturedef, request)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_post_finalizer(self, fixturedef: Any) -> Any:
        yield from _delegate(self._listener.pytest_fixture_post_finalizer, fixturedef)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> Any:
        yield from _delegate(self._listener.pytest_runtest_logfinish, nodeid, location)


def install(config: pytest.Config) -> Path | None:
    """Put the filter in place of allure-pytest's listener; the results directory, or None."""
    name = "allure_listener"
    listener = config.pluginmanager.get_plugin(name)
    report_dir = config.getoption("allure_report_dir", None)
    if listener is None or not report_dir or isinstance(listener, ListenerFilter):
        return Path(report_dir).resolve() if report_dir else None
    config.pluginmanager.unregister(listener, name)
    config.pluginmanager.register(ListenerFilter(listener), name)
    return Path(report_dir).resolve()


_HOST = platform.node()


Job = tuple[Path, bytes]  # where, what


def _dumps(payload: Any) -> bytes:
    """Compact UTF-8 JSON. orjson, because this runs twice a case on the run's own thread and
    json.dumps made up a third of the evidence cost there; json for what orjson refuses."""
    try:
        return orjson.dumps(payload, default=str, option=orjson.OPT_NON_STR_KEYS)
    except (orjson.JSONEncodeError, TypeError):  # an integer beyond 64 bits, a lone surrogate ...
        return json.dumps(payload, separators=(",", ":"), default=str).encode("utf-8")


def _dumps_text(payload: Any) -> str:
    return _dumps(payload).decode("utf-8")


def _write_jobs(jobs: list[Job]) -> list[str]:
    problems = []
    for path, blob in jobs:
        try:
            file_sink.write_file(os.fspath(path), blob)
        except Exception as exc:  # reported at close: a lost evidence file must not pass unnoticed
            problems.append(f"{path.name}: {exc}")
    return problems


class ResultWriter:
    """Hands result files to a writer process (``file_sink``); ``close`` waits for every file to land.

    The test process only encodes each file and writes it into a pipe. Creating the files from a
    thread of the test process instead (three calls a file, each giving up and winning back the
    interpreter lock from the thread running the cases, and the file system's own work on the same
    cores) made evidence cost 8-17 % of a run of 1,000 fast cases: bench/bench_http_vs_tavern.py.
    Should the process not start or die, files are written from a background thread instead, and
    that is said at close.
    """

    def __init__(self) -> None:
        self.problems: list[str] = []
        self._lock = threading.Lock()
        self._fallback: BatchWorker[Job] | None = None
        self._sink: file_sink.SinkProcess | None = None
        self._sink_started = False  # on the first file: an xdist controller writes none, so starts none
        self._closed = False

    def _start_sink(self) -> None:
        self._sink_started = True
        if not sys.executable:
            return
        try:
            self._sink = file_sink.SinkProcess()
        except OSError as exc:
            self.problems.append(f"evidence writer process did not start ({exc}); files written in-process")

    def submit(self, path: Path | str, payload: Any) -> None:
        """One JSON file."""
        try:
            blob = _dumps(payload)
        except Exception as exc:  # e.g. a circular value: said at close, the run goes on
            with self._lock:
                self.problems.append(f"{os.path.basename(path)}: {exc}")
            return
        self.submit_files([(path, blob)])

    def submit_files(self, files: Sequence[tuple[Path | str, bytes]]) -> None:
        """Files whose bytes are ready, in one write to the writer process."""
        with self._lock:
            if not self._sink_started:
                self._start_sink()
            if self._sink is not None and self._sink.send(files):
                return
            if self._fallback is None:
                self._fallback = BatchWorker(_write_jobs, name="mhhs-allure-writer")
            for path, blob in files:
                self._fallback.submit((Path(path), blob))

    def close(self) -> list[str]:
        """Wait for the queued files; the problems met writing them (empty when all landed)."""
        with self._lock:
            if not self._closed:
                self._closed = True
                if self._sink is not None:
                    self.problems += self._sink.close()
                if self._fallback is not None:
                    self.problems += self._fallback.close()
            return self.problems


def write_case_result(
    item: Any,
    report: pytest.TestReport,
    excinfo: pytest.ExceptionInfo[BaseException] | None,
    report_dir: Path,
    *,
    writer: ResultWriter,
    scrub: Scrubber | None = None,
    personal: frozenset[str] | None = None,
) -> None:
    """The case's result file and its attachment of messages and polls, secrets masked in both."""
    from allure_pytest.utils import allure_full_name, allure_package, allure_title_path, format_allure_link

    sc, case, cohort = item.scenario, item.case, item.cohort
    cohort_id = item.cohort_id
    record = item.record
    now_ms = int(time.time() * 1000)
    identity = stable_id(case.id, cohort_id)
    full_name = allure_full_name(item)
    test_id = hashlib.md5(identity.encode()).hexdigest()
    result_id = str(uuid.uuid4())  # the attachment is named after it too: one random id a case
    if report.skipped:
        status = "skipped"
    elif report.passed:
        status = "passed"
    elif excinfo is not None and isinstance(excinfo.value, AssertionError):
        status = "failed"
    else:
        status = "broken"
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
        *(("tag", tag) for tag in case.tags),
        *(
            ("participant", f"{role} {p.mpid} {p.dip_id}")
            for role, p in (sorted(cohort.participants.items()) if cohort else [])
        ),
        ("host", _HOST),
        ("thread", f"{os.getpid()}-{threading.current_thread().name}"),
        ("framework", "pytest"),
        ("language", "cpython3"),
        ("package", allure_package(item)),
    ]
    result: dict[str, Any] = {
        "uuid": result_id,
        "historyId": test_id,
        "testCaseId": test_id,
        "fullName": full_name,
        "name": f"{case.id} [{cohort_id}] {case.title}",
        "status": status,
        "stage": "finished",
        "start": int(record.started * 1000) if record and record.started else now_ms,
        "stop": int(record.stopped * 1000) if record and record.stopped else now_ms,
        "labels": [{"name": n, "value": v} for n, v in labels],
        "links": [
            {"type": "requirement", "url": format_allure_link(item.config, req, "requirement"), "name": req}
            for req in sorted(set(sc.requirements) | set(case.requirements))
        ],
        "parameters": [{"name": "cohort", "value": repr(cohort_id)}],
        "titlePath": list(allure_title_path(item)),
    }
    if sc.description:
        result["description"] = sc.description
    if status != "passed":
        message = excinfo.exconly() if excinfo is not None else _skip_message(report)
        result["statusDetails"] = {"message": message, "trace": report.longreprtext}
    files: list[tuple[str, bytes]] = []
    base = os.fspath(report_dir)
    if record is not None:
        result["steps"] = [_step(s) for s in record.steps]
        body: dict[str, Any] = {
            "case": identity,
            "data": record.data_drawn,
            "steps": [
                {"n": s.number, "title": s.title, "status": s.status, "exchanges": s.exchanges, "polls": s.polls}
                for s in record.steps
                if s.exchanges or s.polls
            ],
        }
        if personal is not None:
            body = redact(body, personal=personal)
        source = f"{result_id}-attachment.json"
        files.append((os.path.join(base, source), _scrubbed(body, scrub)))
        result["attachments"] = [{"name": "messages and polls", "source": source, "type": "application/json"}]
    files.append((os.path.join(base, f"{result_id}-result.json"), _scrubbed(result, scrub)))
    writer.submit_files(files)


def _scrubbed(data: Any, scrub: Scrubber | None) -> bytes:
    blob = _dumps(data)
    if not scrub:
        return blob
    return scrub(blob.decode("utf-8"), data, _dumps_text).encode("utf-8")


def _step(s: Any) -> dict[str, Any]:
    params = [{"name": "at", "value": s.location}]
    params += [{"name": f"saved {k}", "value": str(v)[:200]} for k, v in s.saved.items()]
    for ex in s.exchanges:
        response = ex.get("response") or {}
        if "status" in response:
            params.append({"name": f"{ex.get('method')} {ex.get('url')}", "value": str(response["status"])})
    step: dict[str, Any] = {
        "name": f"{s.number}. {s.title}",
        "status": STATUS.get(s.status, "skipped"),
        "stage": "finished",
        "parameters": params,
    }
    if s.started:
        step["start"] = int(s.started * 1000)
        step["stop"] = int((s.stopped or s.started) * 1000)
    if s.detail:
        step["statusDetails"] = {"message": s.detail}
    return step


def _skip_message(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return f"Skipped: {str(longrepr[2]).removeprefix('Skipped: ')}"
    return str(longrepr)
