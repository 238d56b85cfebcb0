"""The results store: every run of a cycle and every item's outcome, in SQLite or PostgreSQL."""

from mhhs_sit.results.outcome import Status

# Kept here, free of SQLAlchemy, so the plugin can name them without importing a database layer.
DEFAULT_STORE = "results/mhhs-sit.sqlite"
ENV_VAR = "MHHS_SIT_STORE"
# ``--rerun`` spellings ("not-run") -> the statuses they select, as plain strings (handed to xdist workers)
RERUN_STATUSES = {
    s.value.replace(" ", "-"): s.value
    for s in (Status.FAILED, Status.BROKEN, Status.DEFINITION_ERROR, Status.NOT_RUN, Status.SKIPPED)
}
