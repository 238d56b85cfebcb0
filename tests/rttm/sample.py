"""Hand-built RTTMs for the renderer tests: every verdict, a re-run history, a file that could not be loaded,
unknown requirement ids, the qualification variant, and a large matrix for scale."""

from __future__ import annotations

from mhhs_sit.definitions.requirements import Requirement
from mhhs_sit.rttm.model import Cell, Outcome, Row, Rttm, RunSummary

COHORTS = ("C1", "C2", "C3")
RUN1, RUN2 = "20261102-0900-a1b2", "20261109-1400-c3d4"
T1, T2 = "2026-11-02T10:15:00+00:00", "2026-11-09T15:40:30+00:00"
EVIDENCE1 = "/srv/evidence/C2/run-1"
EVIDENCE2 = "https://evidence.example/sit/C2/run-2/report/index.html"
MALICIOUS = 'Appointments <script>alert("x")</script> & "quotes"'
PARTICIPANT = "LDSO DNOA (2300000501)"


def req(
    rid: str,
    title: str,
    source: str = "business process",
    stage: str = "sit-functional",
    priority: int | None = 1,
    roles: tuple[str, ...] = (),
) -> Requirement:
    return Requirement(rid, title, source, stage, priority, roles, location=f"test_data/requirements/rttm.yaml:{rid}")


def outcome(status: str, run: int = 1, **kw: str) -> Outcome:
    run_id, finished, evidence = (RUN1, T1, EVIDENCE1) if run == 1 else (RUN2, T2, EVIDENCE2)
    return Outcome(run_id=run_id, finished=finished, status=status, sprint=str(run), evidence=evidence, **kw)


def cell(*statuses: str) -> Cell:
    """A cell whose history is one outcome per run, in order; the last one decides."""
    history = tuple(outcome(s, run=i) for i, s in enumerate(statuses, start=1))
    return Cell(latest=history[-1], history=history)


NOT_RUN = Cell(Outcome(run_id="", finished="", status="not run"), ())

BP003 = req("BP003", MALICIOUS, roles=("SUP",))
IF031 = req(
    "IF-031", "Data service accepts the appointment\nand replies within the window", "interface", priority=2,
    roles=("SUP", "LDSO"),
)  # fmt: skip
E2E1009 = req("E2E1009", "Migration of a legacy MPAN", stage="sit-migration", priority=3, roles=("LDSO",))
NFR7 = req("NFR-7", "DIP throughput under load", "non-functional", "sit-non-functional", None, ("LDSO",))
DES2 = req("DES-2", "Registration design rules", "design", "", 4)


def sample_rttm(*, qualification: bool = False) -> Rttm:
    """Five requirements, one per verdict, over three cohorts and two runs (a failure, then its re-run)."""
    late = Cell(outcome("failed", 2, category="product defect", message="IF-035 late"), (outcome("failed", 2),))
    rows = [
        Row(
            BP003, "SITFT-01-001-TC01", "Supplier books an appointment", "SITFT-01-001", "sit-functional", "1", 1,
            "test_themes/t1.yaml:12", {"C1": cell("failed", "passed"), "C2": cell("passed")}, "covered", T2, EVIDENCE2,
        ),
        Row(
            BP003, "SITFT-01-001-TC02", "Supplier cancels", "SITFT-01-001", "sit-functional", "1", 2,
            "test_themes/t1.yaml:40", {"C1": cell("passed"), "C3": cell("skipped")}, "covered", T1, EVIDENCE1,
        ),
        Row(
            IF031, "SITFT-03-002-TC01", "IF-031 round trip", "SITFT-03-002", "sit-functional", "3", 1,
            "test_themes/t3.yaml:8", {"C1": cell("passed"), "C2": late, "C3": cell("broken")}, "failing", T2, EVIDENCE2,
        ),
        Row(
            E2E1009, "SITMT-02-001-TC01", "Legacy MPAN migrates", "SITMT-02-001", "sit-migration", "2", 3,
            "test_themes/m2.yaml:5", dict.fromkeys(COHORTS, NOT_RUN), "not executed",
        ),
        Row(NFR7, None, stage="sit-non-functional"),
        Row(
            DES2, "test_themes/broken.yaml", location="test_themes/broken.yaml", verdict="definition error (file)",
            cells={"C1": Cell(Outcome(RUN2, T2, "definition error", "2", message="oops: 1 is not a field"), ())},
        ),
    ]  # fmt: skip
    verdicts = {
        "BP003": "covered",
        "IF-031": "failing",
        "E2E1009": "not executed",
        "NFR-7": "uncovered",
        "DES-2": "definition error (file)",
    }
    if qualification:
        rows = [r for r in rows if r.requirement.applies_to({"LDSO"})]
        verdicts = {k: v for k, v in verdicts.items() if k in {r.requirement.id for r in rows}}
    runs = (
        RunSummary(RUN1, "2026-11-02T09:00:00+00:00", T1, "finished", "C2", "1", "sit-a", "IR8.2", EVIDENCE1, 40),
        RunSummary(RUN2, "2026-11-09T14:00:00+00:00", T2, "interrupted", "C2", "2", "sit-a", "IR8.2", EVIDENCE2, 7),
    )
    return Rttm(
        cycle="C2",
        generated="2026-11-10T08:30:00+00:00",
        cohorts=COHORTS,
        rows=tuple(rows),
        requirement_verdicts=verdicts,
        runs=runs,
        roles=("LDSO",) if qualification else (),
        participant=PARTICIPANT if qualification else None,
        unknown_requirements=(("BP999", "SITFT-01-001-TC02"), ("IF-404", "SITFT-03-002-TC01")),
    )


def large_rttm(rows: int = 6000, cohorts: int = 3) -> Rttm:
    """``rows`` rows, two cases per requirement, every tenth requirement failing, with full histories."""
    names = tuple(f"C{i}" for i in range(1, cohorts + 1))
    out: list[Row] = []
    verdicts: dict[str, str] = {}
    for n in range(rows):
        title = f"Requirement {n // 2} of the business process, long enough to wrap " * 2
        r = req(f"BP{n // 2:05d}", title, roles=("SUP", "LDSO"))
        failing = (n // 2) % 10 == 0
        cells = {c: cell("failed", "failed" if failing and c == "C1" else "passed") for c in names}
        verdict = "failing" if failing else "covered"
        case = f"SITFT-{n % 20:02d}-{n:04d}"
        where = f"test_themes/t{n % 20}.yaml:{n}"
        out.append(
            Row(r, f"{case}-TC01", f"Case {n}", case, "sit-functional", str(n % 20), 1, where, cells, verdict, T2,
                EVIDENCE2)
        )  # fmt: skip
        verdicts[r.id] = verdict
    return Rttm("C9", "2026-11-10T08:30:00+00:00", names, tuple(out), verdicts, sample_rttm().runs)
