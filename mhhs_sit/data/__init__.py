"""Synthetic test data: valid, unique MPANs and metering points per cohort, at scale.

The public names below are what the loader, the step engine and the CLI use; the modules behind
them may change. ``partition`` explains why cohorts, workers and seeds can never share an MPAN;
``checkdigit`` explains exactly which typos the MPAN check digit catches.

They are imported on first use (PEP 562): reading a settlement period's date (``data.periods``,
which templating needs at every start) should not build the MPAN pool's tables (15 ms a process,
and a run under xdist has three).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mhhs_sit.core.lazy_names import lazy_names

if TYPE_CHECKING:
    from mhhs_sit.data.checkdigit import check_digit, full_mpan_problem, is_valid_mpan_core, mpan_core_problem
    from mhhs_sit.data.distributors import DISTRIBUTORS, DNO_IDS, GSP_GROUPS, Distributor
    from mhhs_sit.data.partition import check_cohort_indices, cohort_index_for, describe_core
    from mhhs_sit.data.pool import DRAW_KINDS, CohortPool

_WHERE = {
    "DISTRIBUTORS": "distributors",
    "DNO_IDS": "distributors",
    "DRAW_KINDS": "pool",
    "GSP_GROUPS": "distributors",
    "CohortPool": "pool",
    "Distributor": "distributors",
    "check_cohort_indices": "partition",
    "check_digit": "checkdigit",
    "cohort_index_for": "partition",
    "describe_core": "partition",
    "full_mpan_problem": "checkdigit",
    "is_valid_mpan_core": "checkdigit",
    "mpan_core_problem": "checkdigit",
}

__all__ = [
    "DISTRIBUTORS",
    "DNO_IDS",
    "DRAW_KINDS",
    "GSP_GROUPS",
    "CohortPool",
    "Distributor",
    "check_cohort_indices",
    "check_digit",
    "cohort_index_for",
    "describe_core",
    "full_mpan_problem",
    "is_valid_mpan_core",
    "mpan_core_problem",
]


__getattr__ = lazy_names(__name__, _WHERE, globals())
