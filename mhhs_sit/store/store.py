"""The results store: a SQLite file by default, a PostgreSQL URL for a team sharing one.

Only the process that gathers reports (the xdist controller) writes. A run first records every
collected item as *not run*, then turns each into its outcome as it arrives, one committed
transaction per outcome: a run killed at any point leaves every finished case recorded and every
other one honestly *not run*, and its run row ``running`` until a later run (or a reader) on the
same host sees that its process is gone and calls it ``interrupted``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, create_engine, event, func, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from mhhs_sit.core.gcpause import paused_gc
from mhhs_sit.errors import ConfigError
from mhhs_sit.results.outcome import Status
from mhhs_sit.store import DEFAULT_STORE, ENV_VAR
from mhhs_sit.store.schema import SCHEMA_VERSION, meta, metadata, results, runs

__all__ = ["DEFAULT_STORE", "ENV_VAR", "ResultsStore"]
HOST = platform.node()
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


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL: readers never block the writer, and a killed writer loses nothing it committed.
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _pg_session(dbapi_connection: Any, _record: Any) -> None:
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

    def begin_run(self, run_id: str, **fields: Any) -> None:
        values = {"state": "running", "started": now(), "host": HOST, "pid": os.getpid(), **fields}
        values["heartbeat"] = values["started"]
        if isinstance(values.get("cohorts"), list | tuple):
            values["cohorts"] = json.dumps(list(values["cohorts"]))
        with self._guard("record the run"), self.engine.begin() as conn:
            conn.execute(insert(runs).values(run_id=run_id, **values))

    def add_items(self, run_id: str, records: Iterable[dict[str, Any]]) -> None:
        """Collected items, each *not run* until its outcome is recorded (one transaction)."""
        stamp = now()
        rows = [_row(run_id, {**r, "status": r.get("status") or Status.NOT_RUN.value}, stamp) for r in records]
        if not rows:
            return
        with self._guard("record the collected items"), self.engine.begin() as conn:
            conn.execute(insert(results), rows)

    def record(self, run_id: str, record: dict[str, Any]) -> None:
        """One item's outcome, committed at once."""
        self.record_many(run_id, [record])

    def record_many(self, run_id: str, records: Sequence[dict[str, Any]]) -> None:
        """Outcomes in one transaction: announced items updated, others inserted.

        What a record does not say (None) keeps what the announcement said. The statements are
        built once (module level): building them per outcome cost more than the case itself.
        """
        if not records:
            return
        stamp = now()
        # A case can settle twice in one batch (failed call, then a teardown error): each record
        # is the item's whole state so far, so the last one wins; two inserts would collide.
        latest = {r["nodeid"]: r for r in records}
        rows = [_row(run_id, r, stamp) for r in latest.values()]
        with self._guard("record results"), self.engine.begin() as conn:
            nodeids = [r["nodeid"] for r in rows]
            existing: set[str] = set()
            for start in range(0, len(nodeids), 500):
                chunk = nodeids[start : start + 500]
                existing.update(conn.execute(_EXISTING, {"k_run": run_id, "k_nodes": chunk}).scalars())
            updates = [_update_params(r) for r in rows if r["nodeid"] in existing]
            inserts = [r for r in rows if r["nodeid"] not in existing]
            if updates:
                conn.execute(_UPDATE, updates)
            if inserts:
                conn.execute(insert(results), inserts)
            conn.execute(_HEARTBEAT, {"k_run": run_id, "v_heartbeat": stamp})

    def finish_run(self, run_id: str, state: str, **fields: Any) -> None:
        if isinstance(fields.get("cohorts"), list | tuple):
            fields["cohorts"] = json.dumps(list(fields["cohorts"]))
        stamp = now()
        with self._guard("close the run"), self.engine.begin() as conn:
            conn.execute(
                update(runs)
                .where(runs.c.run_id == run_id)
                .values(state=state, finished=stamp, heartbeat=stamp, **fields)
            )

    def close_abandoned_runs(self) -> list[str]:
        """Runs of this host left ``running`` by a process that no longer exists -> interrupted."""
        with self._guard("check earlier runs"), self.engine.begin() as conn:
            rows = conn.execute(
                select(runs.c.run_id, runs.c.pid, runs.c.heartbeat).where(
                    runs.c.state == "running", runs.c.host == HOST
                )
            ).all()
            gone = [r for r in rows if not _alive(r.pid)]
            for r in gone:
                conn.execute(
                    update(runs).where(runs.c.run_id == r.run_id).values(state="interrupted", finished=r.heartbeat)
                )
        return [r.run_id for r in gone]

    # -- reading ------------------------------------------------------------------------------

    def runs(self, cycle: str | None = None) -> list[dict[str, Any]]:
        """Runs oldest first, with the state a reader should believe (see ``run_state``)."""
        query = select(runs).order_by(runs.c.started, runs.c.run_id)
        if cycle is not None:
            query = query.where(runs.c.cycle == cycle)
        with self._guard("read runs"), self.engine.connect() as conn:
            found = [dict(r._mapping) for r in conn.execute(query)]
            per_run = select(results.c.run_id, func.count()).group_by(results.c.run_id)
            counts = {str(run_id): int(n) for run_id, n in conn.execute(per_run)}
        for r in found:
            r["cohorts"] = json.loads(r["cohorts"]) if r.get("cohorts") else []
            r["state"] = run_state(r)
            r["results"] = counts.get(r["run_id"], 0)
        return found

    def cycles(self) -> list[dict[str, Any]]:
        by: dict[str | None, dict[str, Any]] = {}
        for r in self.runs():
            c = by.setdefault(r["cycle"], {"cycle": r["cycle"], "runs": 0, "first": r["started"], "sprints": set()})
            c["runs"] += 1
            c["last"] = r["started"]
            if r["sprint"]:
                c["sprints"].add(r["sprint"])
        return list(by.values())

    @paused_gc()
    def results(
        self,
        cycle: str | None = None,
        *,
        exclude_run: str | None = None,
        run_ids: Sequence[str] | None = None,
        fields: Iterable[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Every recorded item of the cycle's runs, oldest run first, with its run's labels.

        ``fields`` names the result columns wanted (``run_id``, ``nodeid``, ``case_id``, ``cohort``
        and ``status`` always come): reading 100,000 results, each column left out saves time. The
        runs are read first and their labels added here, so the database neither joins nor sorts.
        """
        query = select(*_RUN_LABELS).order_by(runs.c.started, runs.c.run_id)
        if cycle is not None:
            query = query.where(runs.c.cycle == cycle)
        if exclude_run is not None:
            query = query.where(runs.c.run_id != exclude_run)
        if run_ids is not None:
            query = query.where(runs.c.run_id.in_(list(run_ids)))
        cols = _result_columns(fields)
        keys = [c.name for c in cols]
        with self._guard("read results"), self.engine.connect() as conn:
            labels = {r[0]: dict(zip(_RUN_LABEL_KEYS, r, strict=True)) for r in conn.execute(query)}
            order = {run_id: n for n, run_id in enumerate(labels)}
            wanted = list(labels)
            rows: list[Any] = []
            for start in range(0, len(wanted), RUNS_PER_QUERY):
                chunk = wanted[start : start + RUNS_PER_QUERY]
                rows += conn.execute(select(*cols).where(results.c.run_id.in_(chunk))).all()
        rows.sort(key=lambda r: order[r[0]])  # stable: within a run, the database's order
        decode = [(i, k) for i, k in enumerate(keys) if k in _JSON_FIELDS]
        out = []
        cache: dict[str, Any] = {}  # many rows share the same tags and requirements
        for r in rows:
            d = dict(zip(keys, r, strict=True))
            d.update(labels[r[0]])
            for i, key in decode:
                raw = r[i]
                if raw:
                    value = cache.get(raw)
                    if value is None:
                        value = cache[raw] = json.loads(raw)
                    d[key] = value
            out.append(d)
        return out


# What each result row carries of its run (``run_id`` first: the rows are matched on it).
_RUN_LABELS = (
    runs.c.run_id,
    runs.c.started.label("run_started"),
    runs.c.finished.label("run_finished"),
    runs.c.heartbeat.label("run_heartbeat"),
    runs.c.cycle,
    runs.c.sprint,
    runs.c.evidence,
    runs.c.environment,
)
_RUN_LABEL_KEYS = tuple(c.name for c in _RUN_LABELS)
_ALWAYS_READ = ("run_id", "nodeid", "case_id", "cohort", "status")
RUNS_PER_QUERY = 500  # run ids bound in one IN (...): well under every database's parameter limit


def _result_columns(fields: Iterable[str] | None) -> list[Any]:
    """The result columns to read, ``run_id`` first; by default all but the drawn test data (which
    is for evidence, not history)."""
    if fields is None:
        return [c for c in results.columns if c.name != "data"]
    wanted = set(fields)
    unknown = wanted - set(results.columns.keys())
    if unknown:
        raise ValueError(f"not result columns: {', '.join(sorted(unknown))}")
    return [c for c in results.columns if c.name in _ALWAYS_READ or c.name in wanted]


_EXISTING = select(results.c.nodeid).where(
    results.c.run_id == bindparam("k_run"), results.c.nodeid.in_(bindparam("k_nodes", expanding=True))
)
_UPDATE = (
    update(results)
    .where(results.c.run_id == bindparam("k_run"), results.c.nodeid == bindparam("k_node"))
    .values({name: func.coalesce(bindparam(f"v_{name}"), results.c[name]) for name in RESULT_FIELDS})
)
_HEARTBEAT = update(runs).where(runs.c.run_id == bindparam("k_run")).values(heartbeat=bindparam("v_heartbeat"))


def _update_params(row: dict[str, Any]) -> dict[str, Any]:
    params = {f"v_{name}": row.get(name) for name in RESULT_FIELDS}
    params["k_run"], params["k_node"] = row["run_id"], row["nodeid"]
    return params


def _row(run_id: str, record: dict[str, Any], stamp: str) -> dict[str, Any]:
    row: dict[str, Any] = {"run_id": run_id, "nodeid": record["nodeid"], "recorded": stamp}
    for key in RESULT_FIELDS:
        if key == "recorded":
            continue
        source = "case" if key == "case_id" else key
        value = record.get(source)
        if key in _JSON_FIELDS and value is not None:
            value = json.dumps(value, default=str, separators=(",", ":"))
        elif key == "theme" and value is not None:
            value = str(value)
        elif key == "message" and value is not None:
            value = str(value)[:4000]
        row[key] = value
    row["case_id"] = row["case_id"] or record["nodeid"]
    row["cohort"] = row["cohort"] or ""
    row["status"] = row["status"] or Status.NOT_RUN.value
    return row


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


def run_state(run: dict[str, Any]) -> str:
    """``running`` only while its process lives (when that can be checked from here)."""
    if run["state"] == "running" and run.get("host") == HOST and not _alive(run.get("pid")):
        return "interrupted"
    return str(run["state"])
