"""Synthetic test data: valid, unique MPANs and metering points per cohort, at scale.

The public names below are what the loader, the step engine and the CLI use; the modules behind
them may change. ``partition`` explains why cohorts, workers and seeds can never share an MPAN;
``checkdigit`` explains exactly which typos the MPAN check digit catches.
"""

from mhhs_sit.data.checkdigit import (
    check_digit,
    full_mpan_problem,
    is_valid_mpan_core,
    mpan_core_problem,
)
from mhhs_sit.data.distributors import DISTRIBUTORS, DNO_IDS, GSP_GROUPS, Distributor
from mhhs_sit.data.partition import (
    check_cohort_indices,
    cohort_index_for,
    describe_core,
)
from mhhs_sit.data.pool import DRAW_KINDS, CohortPool

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
