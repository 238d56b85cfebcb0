"""The results store: every run of a cycle and every item's outcome, in SQLite or PostgreSQL."""

from mhhs_sit.results.outcome import Status

# Kept here, free of SQLAlchemy, so the plugin can name them without importing a database layer.
DEFAULT_STORE = "results/mhhs-sit.sqlite"
ENV_VAR = "MHHS_SIT_STORE"
RERUN_STATUSES = {
    "failed": Status.FAILED.value,
    "broken": Status.BROKEN.value,
    "not-run": Status.NOT_RUN.value,
    "skipped": Status.SKIPPED.value,
    "error": Status.ERROR.value,
}
