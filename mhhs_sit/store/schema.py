"""The store's tables: one row per run, one row per collected item of a run.

Plain SQLAlchemy Core so the same statements serve the default SQLite file and a team's
PostgreSQL. Times are ISO 8601 UTC strings (sortable as text in both databases, readable in a
SQL shell); lists are JSON text, so nothing depends on a database's array or JSON types.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text

SCHEMA_VERSION = 1

metadata = MetaData()

meta = Table(
    "mhhs_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

runs = Table(
    "mhhs_runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("cycle", String(100), index=True),
    Column("sprint", String(100)),
    # running | finished | interrupted; a run killed before it could say so stays "running" until a
    # later run on the same host sees its process gone (readers also work it out, see store.py)
    Column("state", String(16), nullable=False),
    Column("started", String(32), nullable=False),
    Column("finished", String(32)),
    Column("heartbeat", String(32)),  # the last time the run recorded something
    Column("environment", String(200)),
    Column("environment_tag", String(100)),
    Column("ir", String(32)),
    Column("spec_version", String(32)),
    Column("cohorts", Text),  # JSON list
    Column("git_commit", String(64)),
    Column("framework_version", String(32)),
    Column("seed", Integer),
    Column("host", String(255)),
    Column("pid", Integer),
    Column("evidence", Text),  # where this run's evidence is: a directory or URL
    Column("exit_status", Integer),
    Column("command", Text),  # the pytest arguments, for a reviewer asking "what was run?"
)

results = Table(
    "mhhs_results",
    metadata,
    Column("run_id", String(64), ForeignKey("mhhs_runs.run_id", ondelete="CASCADE"), primary_key=True),
    Column("nodeid", String(1000), primary_key=True),
    Column("case_id", String(200), nullable=False),
    Column("cohort", String(100), nullable=False),
    # passed | failed | broken | definition error | skipped | not run. A scenario file that could not
    # be loaded is a definition error whose nodeid is the file (no "::") and cohort ""; runs of
    # earlier versions recorded it as "error", read back as such a definition error
    Column("status", String(16), nullable=False),
    Column("title", Text),
    Column("scenario", String(200)),
    Column("scenario_title", Text),
    Column("stage", String(50)),
    Column("theme", String(50)),
    Column("priority", Integer),
    Column("tags", Text),  # JSON list
    Column("requirements", Text),  # JSON list
    Column("location", Text),
    Column("category", String(50)),
    Column("message", Text),
    Column("failing_step", Text),
    Column("duration_s", Float),
    Column("recorded", String(32)),  # when the outcome was recorded (not run: when collected)
    Column("data", Text),  # JSON: the test data the case drew
    Index("ix_mhhs_results_case", "case_id", "cohort"),
)
