"""Cohort files -> ``Cohort`` objects: participants, simulated roles, one role per DIP ID, one data slot each.

Checks span files (a DIP ID or data slot used twice), so the whole cohorts directory is read together.
"""

from __future__ import annotations

from pathlib import Path

from mhhs_sit.core.yamlsrc import YamlDoc, load_yaml
from mhhs_sit.definitions.model import Cohort, Location, Participant
from mhhs_sit.definitions.scenario_files import display_path, scenario_files
from mhhs_sit.definitions.schema_check import schema_problems
from mhhs_sit.errors import ConfigError, Problem


def load_cohorts(directory: Path, root: Path | None = None) -> tuple[dict[str, Cohort], list[Problem]]:
    cohorts: dict[str, Cohort] = {}
    problems: list[Problem] = []
    if not directory.is_dir():
        return cohorts, [
            Problem(
                display_path(directory, root),
                0,
                0,
                "",
                "cohorts directory not found; create it with one YAML file per cohort",
            )
        ]
    where: dict[str, str] = {}
    dip_owner: dict[str, tuple[str, str]] = {}
    built: list[tuple[YamlDoc, Cohort]] = []
    for f in scenario_files([directory]):
        doc = load_yaml(f, display=display_path(f, root))
        problems += doc.problems
        if not isinstance(doc.data, dict):
            if not doc.problems:
                problems.append(doc.problem([], "expected a mapping starting with 'cohort: <id>'"))
            continue
        file_problems = schema_problems(doc, "cohort")
        problems += file_problems
        if file_problems:
            continue
        data = doc.data
        cid = data["cohort"]
        if cid in where:
            problems.append(doc.problem(["cohort"], f"cohort '{cid}' is also defined in {where[cid]}"))
            continue
        where[cid] = doc.file
        participants = {
            role: Participant(role, p["dip_id"], p["mpid"], p.get("name", ""), p.get("distributor"))
            for role, p in data["participants"].items()
        }
        simulated = frozenset(data.get("simulated") or [])
        for role in sorted(simulated - set(participants)):
            idx = data["simulated"].index(role)
            problems.append(
                doc.problem(["simulated", idx], f"role '{role}' is simulated but has no participant in 'participants:'")
            )
        for role, p in participants.items():
            owner = dip_owner.get(p.dip_id)
            if owner and owner[1] != role:
                problems.append(
                    doc.problem(
                        ["participants", role, "dip_id"],
                        f"DIP ID {p.dip_id} is already {owner[1]} in cohort {owner[0]}; a DIP ID has exactly one role",
                    )
                )
            dip_owner.setdefault(p.dip_id, (cid, role))
        line, col = doc.line_of(data)
        built.append(
            (doc, Cohort(cid, str(data.get("title", cid)), participants, simulated, Location(doc.file, line, col)))
        )
    from mhhs_sit.data import cohort_index_for

    slot_owner: dict[int, str] = {}
    for doc, cohort in sorted(built, key=lambda b: b[1].id):
        # Each cohort owns a slice of the MPAN space (C1..C49 and MVC by name, others by data_slot).
        try:
            slot = cohort_index_for(cohort.id, doc.data.get("data_slot"))
        except ConfigError as exc:
            problems.append(doc.problem(["data_slot"] if "data_slot" in doc.data else ["cohort"], str(exc)))
            continue
        if slot in slot_owner:
            problems.append(
                doc.problem(
                    ["data_slot"],
                    f"data slot {slot} is already used by cohort {slot_owner[slot]}; choose a free slot in 50-99",
                )
            )
            continue
        slot_owner[slot] = cohort.id
        cohorts[cohort.id] = Cohort(
            cohort.id, cohort.title, cohort.participants, cohort.simulated, cohort.location, slot
        )
    return cohorts, problems
