"""Hands the run's Allure files to a writer process, encoded once and with secrets masked.

allure-pytest's per-item machinery (a scheduled result, hooks around setup, call and teardown, a
label hook per marker, a streamed JSON dump) cost a third of the run time on our ~6 ms cases, so
mhhs-sit writes Allure's result format itself: one encoding a file (``encoded``), and the files
created by a separate writer process (``ResultWriter`` and ``file_sink``), because on a disk
creating files costs more than the case itself.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import orjson

from mhhs_sit.core.background import BatchWorker
from mhhs_sit.evidence import file_sink
from mhhs_sit.evidence.redact import Scrubber

Job = tuple[Path, bytes]  # where, what


def _dumps(payload: object) -> bytes:
    """Compact UTF-8 JSON. orjson, because this runs twice a case on the run's own thread and
    json.dumps made up a third of the evidence cost there; json for what orjson refuses."""
    try:
        return orjson.dumps(payload, default=str, option=orjson.OPT_NON_STR_KEYS)
    except (orjson.JSONEncodeError, TypeError):  # an integer beyond 64 bits, a lone surrogate ...
        return json.dumps(payload, separators=(",", ":"), default=str).encode("utf-8")


def _dumps_text(payload: object) -> str:
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

    def submit(self, path: Path | str, payload: object) -> None:
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


def encoded(data: object, scrub: Scrubber | None) -> bytes:
    """A file's bytes: ``data`` as JSON, every secret masked when a scrubber is given."""
    blob = _dumps(data)
    if not scrub:
        return blob
    return scrub(blob.decode("utf-8"), data, _dumps_text).encode("utf-8")
