"""The results store: every run of a cycle and every item's outcome, in SQLite or PostgreSQL."""

# Kept here, free of SQLAlchemy, so the plugin can name them without importing a database layer.
DEFAULT_STORE = "results/mhhs-sit.sqlite"
ENV_VAR = "MHHS_SIT_STORE"
RERUN_STATUSES = {"failed": "failed", "broken": "broken", "not-run": "not run", "skipped": "skipped", "error": "error"}
