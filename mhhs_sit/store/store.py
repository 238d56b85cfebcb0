"""The results store: a SQLite file by default, a PostgreSQL URL for a team sharing one.

Only the process that gathers reports (the xdist controller) writes. A run first records every
collected item as *not run*, then turns each into its outcome as it arrives, one committed
transaction per outcome: a run killed at any point leaves every finished case recorded and every
other one honestly *not run*. A running run beats its heartbeat every :data:`HEARTBEAT_S`
(``store/heartbeat.py``); a run row still ``running`` whose process is gone (seen from its own
host) or whose heartbeat is older than :data:`STALE_S` (seen from anywhere: a shared PostgreSQL)
reads as ``interrupted`` for every reader, and the next run writes it so.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    RowMapping,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    null,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry

from mhhs_sit.core.gcpause import paused_gc
from mhhs_sit.errors import ConfigError
from mhhs_sit.results.model import CATEGORY_BY_VALUE, STATUS_BY_VALUE, CaseMeta, CaseResult
from mhhs_sit.results.outcome import Category, Status
from mhhs_sit.results.run import RunFacts
from mhhs_sit.store import DEFAULT_STORE, ENV_VAR
from mhhs_sit.store.rows import CycleSpan, RunLabel, StoredResult, StoredRun
from mhhs_sit.store.schema import SCHEMA_VERSION, meta, metadata, results, runs

__all__ = ["DEFAULT_STORE", "ENV_VAR", "ResultsStore"]
HOST = platform.node()
HEARTBEAT_S = 10.0  # how often a running run says it is alive
STALE_S = 90.0  # a running run silent this long is dead, whichever host looks
RESULT_FIELDS = tuple(c.name for c in results.columns if c.name not in ("run_id", "nodeid"))
_JSON_FIELDS = ("tags", "requirements", "data")


def now() -> str:
    """Microseconds, so runs started in the same second still order."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def resolve_url(spec: str, root: Path) -> str:
    """A database URL from what a user writes: a URL, or a file path (relative to ``root``)."""
    spec = spec.strip()
    if spec.startswith(("postgres://", "postgresql://")):
        return "postgresql+psycopg://" + spec.split("://", 1)[1]
    if "://" in spec:
        return spec
    path = Path(spec).expanduser()
    return f"sqlite:///{(path if path.is_absolute() else root / path).resolve()}"


def display_url(url: str) -> str:
    """The URL with any password masked: what is printed and recorded."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # WAL: readers never block the writer, and a killed writer loses nothing it committed.
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _pg_session(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # A commit per outcome need not wait for the server's disk flush: our process dying loses
    # nothing committed; only a crash of the database server itself could lose the last instant.
    cur = dbapi_connection.cursor()
    cur.execute("SET synchronous_commit = off")
    cur.close()
    dbapi_connection.commit()


class ResultsStore:
    def __init__(self, url: str):
        self.url = url
        self.shown = display_url(url)
        try:
            self.engine: Engine = create_engine(url, pool_pre_ping=True)
        except (ArgumentError, NoSuchModuleError) as exc:
            raise ConfigError(f"results store {self.shown}: not a database URL this tool can open: {exc}") from None
        if self.engine.dialect.name == "sqlite":
            database = make_url(url).database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            event.listen(self.engine, "connect", _sqlite_pragmas)
        elif self.engine.dialect.name == "postgresql":
            event.listen(self.engine, "connect", _pg_session)
        with self._guard("open"):
            self._create()

    @classmethod
    def open(cls, spec: str, root: Path) -> ResultsStore:
        return cls(resolve_url(spec, root))

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        try:
            yield
        except DBAPIError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise ConfigError(f"results store {self.shown}: cannot {doing}: {reason}") from None
        except SQLAlchemyError as exc:
            raise ConfigError(f"results store {self.shown}: cannot {doing}: {exc}") from None

    def _create(self) -> None:
        try:
            metadata.create_all(self.engine)
        except DBAPIError:  # another process created the tables at the same moment
            metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            found = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
            if found is None:
                conn.execute(insert(meta).values(key="schema_version", value=str(SCHEMA_VERSION)))
            elif int(found) > SCHEMA_VERSION:
                raise ConfigError(
                    f"results store {self.shown} was written by a newer mhhs-sit (schema {found}, this one "
                    f"reads {SCHEMA_VERSION}): upgrade mhhs-sit or use another store"
                )

    def close(self) -> None:
        self.engine.dispose()

    # -- writing (the controller only) --------------------------------------------------------

    def begin_run(
        self,
        run_id: str,
        *,
        cycle: str | None = None,
        sprint: str | None = None,
        framework_version: str | None = None,
        seed: int | None = None,
        evidence: str | None = None,
        command: str | None = None,
        cohorts: Sequence[str] | None = None,
        pid: int | None = None,
    ) -> None:
        stamp = now()
        values = {
            "run_id": run_id, "state": "running", "started": stamp, "heartbeat": stamp, "host": HOST,
            "pid": os.getpid() if pid is None else pid, "cycle": cycle, "sprint": sprint,
            "framework_version": framework_version, "seed": seed, "evidence": evidence, "command": command,
            "cohorts": None if cohorts is None else json.dumps(list(cohorts)),
        }  # fmt: skip
        with self._guard("record the run"), self.engine.begin() as conn:
            conn.execute(insert(runs).values(values))

    def add_items(self, run_id: str, items: Iterable[CaseResult]) -> None:
        """Collected items, each as it stands (*not run* until its outcome is recorded), in one transaction."""
        stamp = now()
        rows = [_row(run_id, r, stamp) for r in items]
        if not rows:
            return
        with self._guard("record the collected items"), self.engine.begin() as conn:
            conn.execute(insert(results), rows)

    def record(self, run_id: str, result: CaseResult) -> None:
        """One item's outcome, committed at once."""
        self.record_many(run_id, [result])

    def record_many(self, run_id: str, outcomes: Sequence[CaseResult]) -> None:
        """Outcomes in one transaction: announced items updated, others inserted.

        What a result does not say (None) keeps what the announcement said. The statements are
        built once (module level): building them per outcome cost more than the case itself.
        """
        if not outcomes:
            return
        stamp = now()
        # A case can settle twice in one batch (failed call, then a teardown error): each result
        # is the item's whole state so far, so the last one wins; two inserts would collide.
        latest = {r.nodeid: r for r in outcomes}
        rows = [_row(run_id, r, stamp) for r in latest.values()]
        with self._guard("record results"), self.engine.begin() as conn:
            existing = _existing(conn, run_id, list(latest))
            updates = [_update_params(r) for r in rows if r["nodeid"] in existing]
            inserts = [r for r in rows if r["nodeid"] not in existing]
            if updates:
                conn.execute(_UPDATE, updates)
            if inserts:
                conn.execute(insert(results), inserts)
            conn.execute(_HEARTBEAT, {"k_run": run_id, "v_heartbeat": stamp})

    def finish_run(self, run_id: str, state: str, facts: RunFacts | None = None) -> None:
        said = {} if facts is None else {k: v for k, v in facts.to_json().items() if v is not None}
        values = {**said, "cohorts": json.dumps(said["cohorts"])} if "cohorts" in said else said
        stamp = now()
        finished = None if state == "running" else stamp  # still running: its reports are being written
        with self._guard("close the run"), self.engine.begin() as conn:
            conn.execute(
                update(runs)
                .where(runs.c.run_id == run_id)
                .values(state=state, finished=finished, heartbeat=stamp, **values)
            )

    def beat(self, run_id: str) -> None:
        """The run is alive: its heartbeat now."""
        with self._guard("record the heartbeat"), self.engine.begin() as conn:
            conn.execute(_HEARTBEAT, {"k_run": run_id, "v_heartbeat": now()})

    def set_state(self, run_id: str, state: str) -> None:
        """The run's state alone (e.g. *finished* once `mhhs-sit run` has written its reports)."""
        stamp = now()
        with self._guard("close the run"), self.engine.begin() as conn:
            conn.execute(
                update(runs).where(runs.c.run_id == run_id).values(state=state, finished=stamp, heartbeat=stamp)
            )

    def close_abandoned_runs(self) -> list[str]:
        """Runs left ``running`` by a process that no longer exists, or silent past STALE_S -> interrupted."""
        with self._guard("check earlier runs"), self.engine.begin() as conn:
            rows = conn.execute(
                select(runs.c.run_id, runs.c.host, runs.c.pid, runs.c.started, runs.c.heartbeat).where(
                    runs.c.state == "running"
                )
            ).all()
            gone = [r for r in rows if run_state("running", r.host, r.pid, r.heartbeat or r.started) != "running"]
            for r in gone:
                conn.execute(
                    update(runs).where(runs.c.run_id == r.run_id).values(state="interrupted", finished=r.heartbeat)
                )
        return [r.run_id for r in gone]

    # -- reading ------------------------------------------------------------------------------

    def runs(self, cycle: str | None = None) -> list[StoredRun]:
        """Runs oldest first, with the state a reader should believe (see ``run_state``)."""
        query = select(runs).order_by(runs.c.started, runs.c.run_id)
        if cycle is not None:
            query = query.where(runs.c.cycle == cycle)
        with self._guard("read runs"), self.engine.connect() as conn:
            found = [r._mapping for r in conn.execute(query)]
            per_run = select(results.c.run_id, func.count()).group_by(results.c.run_id)
            counts = {str(run_id): int(n) for run_id, n in conn.execute(per_run)}
        return [_stored_run(r, counts.get(r["run_id"], 0)) for r in found]

    def cycles(self) -> list[CycleSpan]:
        """Each cycle's runs, first and last start and sprints, in the order the cycles first ran."""
        by: dict[str | None, list[StoredRun]] = {}
        for r in self.runs():
            by.setdefault(r.cycle, []).append(r)
        return [
            CycleSpan(cycle, len(rs), rs[0].started, rs[-1].started, frozenset(r.sprint for r in rs if r.sprint))
            for cycle, rs in by.items()
        ]

    @paused_gc()
    def results(
        self,
        cycle: str | None = None,
        *,
        exclude_run: str | None = None,
        run_ids: Sequence[str] | None = None,
        fields: Iterable[str] | None = None,
    ) -> list[StoredResult]:
        """Every recorded item of the cycle's runs, oldest run first, with its run's labels.

        ``fields`` names the result columns wanted (``run_id``, ``nodeid``, ``case_id``, ``cohort``,
        ``status`` and ``category`` always come; the others read as None): reading 100,000 results,
        each column left out saves time. The runs are read first and their labels shared by their results, so
        the database neither joins nor sorts.
        """
        query = select(*_RUN_LABELS).order_by(runs.c.started, runs.c.run_id)
        if cycle is not None:
            query = query.where(runs.c.cycle == cycle)
        if exclude_run is not None:
            query = query.where(runs.c.run_id != exclude_run)
        if run_ids is not None:
            query = query.where(runs.c.run_id.in_(list(run_ids)))
        cols = _result_columns(fields)
        with self._guard("read results"), self.engine.connect() as conn:
            labels = {r[0]: RunLabel._make(r) for r in conn.execute(query)}
            order = {run_id: n for n, run_id in enumerate(labels)}
            wanted = list(labels)
            rows: list[Row[Any]] = []
            for start in range(0, len(wanted), RUNS_PER_QUERY):
                chunk = wanted[start : start + RUNS_PER_QUERY]
                rows += conn.execute(select(*cols).where(results.c.run_id.in_(chunk))).all()
        rows.sort(key=lambda r: order[r[0]])  # stable: within a run, the database's order
        return _stored_results(rows, labels, [i for i, c in enumerate(cols) if c.name in _JSON_FIELDS])


# What each result carries of its run (``run_id`` first: the rows are matched on it).
_RUN_LABELS = (
    runs.c.run_id,
    runs.c.started,
    runs.c.finished,
    runs.c.heartbeat,
    runs.c.cycle,
    runs.c.sprint,
    runs.c.evidence,
    runs.c.environment,
)
_ALWAYS_READ = ("run_id", "nodeid", "case_id", "cohort", "status", "category")  # category: see _stored_results
_STATUS, _CATEGORY = 4, 14  # their places in a result row (the table's column order)
_BROKEN, _DEFINITION = Status.BROKEN, Category.TEST_DEFINITION
RUNS_PER_QUERY = 500  # run ids bound in one IN (...): well under every database's parameter limit


def _result_columns(fields: Iterable[str] | None) -> list[ColumnElement[Any]]:
    """Every result column, ``run_id`` first, in the table's order; a column not wanted reads as NULL.
    By default all but the drawn test data (which is for evidence, not history)."""
    wanted = {c.name for c in results.columns if c.name != "data"} if fields is None else set(fields)
    unknown = wanted - set(results.columns.keys())
    if unknown:
        raise ValueError(f"not result columns: {', '.join(sorted(unknown))}")
    return [c if c.name in _ALWAYS_READ or c.name in wanted else null().label(c.name) for c in results.columns]


def _stored_results(
    rows: Sequence[Row[Any]], labels: Mapping[str, RunLabel], decode: Sequence[int]
) -> list[StoredResult]:
    """Database rows as StoredResults: status and category as enums, JSON lists as tuples, the run's label."""
    status, category = STATUS_BY_VALUE, CATEGORY_BY_VALUE
    make = StoredResult._make
    cache: dict[str, object] = {}  # many rows share the same tags and requirements
    out = []
    for r in rows:
        values = list(r)
        values[_STATUS] = status[values[_STATUS]]
        if values[_CATEGORY] is not None:
            values[_CATEGORY] = category.get(values[_CATEGORY])
            if values[_STATUS] is _BROKEN and values[_CATEGORY] is _DEFINITION:  # a row of an older run
                values[_STATUS] = Status.DEFINITION_ERROR
        for i in decode:
            raw = values[i]
            if raw:
                value = cache.get(raw)
                if value is None:
                    value = cache[raw] = _decoded(raw)
                values[i] = value
        values.append(labels[values[0]])
        out.append(make(values))
    return out


def _decoded(raw: str) -> object:
    value = json.loads(raw)
    return tuple(value) if isinstance(value, list) else value


def _existing(conn: Connection, run_id: str, nodeids: Sequence[str]) -> set[str]:
    """Which of these items the run already holds (announced at collection)."""
    found: set[str] = set()
    for start in range(0, len(nodeids), 500):
        found.update(
            conn.execute(_EXISTING, {"k_run": run_id, "k_nodes": list(nodeids[start : start + 500])}).scalars()
        )
    return found


_EXISTING = select(results.c.nodeid).where(
    results.c.run_id == bindparam("k_run"), results.c.nodeid.in_(bindparam("k_nodes", expanding=True))
)
_UPDATE = (
    update(results)
    .where(results.c.run_id == bindparam("k_run"), results.c.nodeid == bindparam("k_node"))
    .values({name: func.coalesce(bindparam(f"v_{name}"), results.c[name]) for name in RESULT_FIELDS})
)
_HEARTBEAT = update(runs).where(runs.c.run_id == bindparam("k_run")).values(heartbeat=bindparam("v_heartbeat"))


def _update_params(row: Mapping[str, object]) -> dict[str, object]:
    params = {f"v_{name}": row.get(name) for name in RESULT_FIELDS}
    params["k_run"], params["k_node"] = row["run_id"], row["nodeid"]
    return params


_NOT_DESCRIBED: dict[str, object] = dict.fromkeys(
    ("title", "scenario", "scenario_title", "stage", "theme", "priority", "tags", "requirements", "location")
)


def _row(run_id: str, result: CaseResult, stamp: str) -> dict[str, object]:
    """The ``mhhs_results`` row of a result: what it does not say is None (kept by an update)."""
    step = result.failing_step()
    execution = result.execution
    return {
        "run_id": run_id,
        "nodeid": result.nodeid,
        "case_id": result.case_id,
        "cohort": result.cohort,
        "status": result.status.value,
        **(_NOT_DESCRIBED if result.about is None else _described(result.about)),
        "location": result.about.location if result.about is not None else result.location,
        "category": None if result.category is None else result.category.value,
        "message": None if result.message is None else result.message[:4000],
        "failing_step": None if step is None else step.text(),
        "duration_s": result.duration_s,
        "recorded": stamp,
        "data": None if execution is None else _json(execution.data),
    }


def _described(about: CaseMeta) -> dict[str, object]:
    return {
        "title": about.title,
        "scenario": about.scenario,
        "scenario_title": about.scenario_title,
        "stage": about.stage,
        "theme": about.theme,
        "priority": about.priority,
        "tags": _json(about.tags),
        "requirements": _json(about.requirements),
    }


def _json(value: object) -> str:
    return json.dumps(value, default=str, separators=(",", ":"))


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, belongs to someone else
        return True
    return True


def _stored_run(row: RowMapping, results_count: int) -> StoredRun:
    cohorts = row["cohorts"]
    return StoredRun(
        run_id=row["run_id"], cycle=row["cycle"], sprint=row["sprint"],
        state=run_state(row["state"], row["host"], row["pid"], row["heartbeat"] or row["started"]),
        started=row["started"], finished=row["finished"],
        heartbeat=row["heartbeat"], environment=row["environment"], environment_tag=row["environment_tag"],
        ir=row["ir"], spec_version=row["spec_version"], cohorts=tuple(json.loads(cohorts)) if cohorts else (),
        git_commit=row["git_commit"], framework_version=row["framework_version"], seed=row["seed"],
        host=row["host"], pid=row["pid"], evidence=row["evidence"], exit_status=row["exit_status"],
        command=row["command"], results=results_count,
    )  # fmt: skip


def run_state(state: str, host: str | None, pid: int | None, heartbeat: str | None = None) -> str:
    """``running`` only while its process lives (when that can be checked from here) and its
    heartbeat is fresh (whoever looks)."""
    if state != "running":
        return state
    if host == HOST and not _alive(pid):
        return "interrupted"
    if heartbeat is not None and _age_s(heartbeat) > STALE_S:
        return "interrupted"
    return state


def _age_s(stamp: str) -> float:
    try:
        then = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return 0.0
    if then.tzinfo is None:
        then = then.replace(tzinfo=dt.UTC)
    return (dt.datetime.now(dt.UTC) - then).total_seconds()
