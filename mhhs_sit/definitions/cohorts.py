"""Cohort files -> ``Cohort`` objects: participants, simulated roles, one role per DIP ID, one data slot each.

Checks span files (a DIP ID or data slot used twice), so the whole cohorts directory is read together.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mhhs_sit.core.yamlsrc import YamlDoc, load_yaml
from mhhs_sit.definitions.model import UNOBSERVABLE, Cohort, Location, Participant, Scenario
from mhhs_sit.definitions.scenario_files import display_path, scenario_files
from mhhs_sit.definitions.schema_check import schema_problems
from mhhs_sit.errors import ConfigError, Problem


def load_cohorts(directory: Path, root: Path | None = None) -> tuple[dict[str, Cohort], list[Problem]]:
    """Every cohort in ``directory`` (one file each), or the problems that stop one being used."""
    if not directory.is_dir():
        message = "cohorts directory not found; create it with one YAML file per cohort"
        return {}, [Problem(display_path(directory, root), 0, 0, "", message)]
    reader = _Reader()
    for f in scenario_files([directory]):
        reader.read(load_yaml(f, display=display_path(f, root)))
    reader.check_simulated_elsewhere()
    return reader.with_data_slots(), reader.problems


class _Reader:
    """The cohort files read so far, with the checks that span files (ids, DIP IDs, data slots)."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.where: dict[str, str] = {}  # cohort id -> file
        self.dip_owner: dict[str, tuple[str, str]] = {}  # DIP ID -> (cohort, role)
        self.built: list[tuple[YamlDoc, Cohort]] = []

    def read(self, doc: YamlDoc) -> None:
        self.problems += doc.problems
        if not isinstance(doc.data, dict):
            if not doc.problems:
                self.problems.append(doc.problem([], "expected a mapping starting with 'cohort: <id>'"))
            return
        file_problems = schema_problems(doc, "cohort")
        self.problems += file_problems
        if file_problems:
            return
        data = doc.data
        cid = data["cohort"]
        if cid in self.where:
            self.problems.append(doc.problem(["cohort"], f"cohort '{cid}' is also defined in {self.where[cid]}"))
            return
        self.where[cid] = doc.file
        participants = {
            role: Participant(role, p["dip_id"], p["mpid"], p.get("name", ""), p.get("distributor"))
            for role, p in data["participants"].items()
        }
        simulated = frozenset(data.get("simulated") or [])
        self._check_simulated(doc, simulated, participants)
        self._check_dip_ids(doc, cid, participants)
        cohort = Cohort(
            cid, str(data.get("title", cid)), participants, simulated, Location(doc.file, *doc.line_of(data))
        )
        self.built.append((doc, cohort))

    def _check_simulated(self, doc: YamlDoc, simulated: frozenset[str], participants: dict[str, Participant]) -> None:
        for role in sorted(simulated - set(participants)):
            idx = doc.data["simulated"].index(role)
            self.problems.append(
                doc.problem(["simulated", idx], f"role '{role}' is simulated but has no participant in 'participants:'")
            )

    def _check_dip_ids(self, doc: YamlDoc, cid: str, participants: dict[str, Participant]) -> None:
        for role, p in participants.items():
            owner = self.dip_owner.get(p.dip_id)
            if owner and owner[1] != role:
                self.problems.append(
                    doc.problem(
                        ["participants", role, "dip_id"],
                        f"DIP ID {p.dip_id} is already {owner[1]} in cohort {owner[0]}; a DIP ID has exactly one role",
                    )
                )
            self.dip_owner.setdefault(p.dip_id, (cid, role))

    def check_simulated_elsewhere(self) -> None:
        """A DIP ID one cohort simulates cannot be played by the framework in another: the simulator
        answers every message to it, those of the other cohort's cases included."""
        simulated_in: dict[tuple[str, str], str] = {}  # (DIP ID, role) -> the first cohort simulating it
        for _, cohort in sorted(self.built, key=lambda b: b[1].id):
            for role in sorted(cohort.simulated & set(cohort.participants)):
                simulated_in.setdefault((cohort.participants[role].dip_id, role), cohort.id)
        for doc, cohort in self.built:
            for role, p in cohort.participants.items():
                other = simulated_in.get((p.dip_id, role))  # another role's DIP ID: refused already
                if role in cohort.simulated or other is None or other == cohort.id:
                    continue
                self.problems.append(
                    doc.problem(
                        ["participants", role, "dip_id"],
                        f"DIP ID {p.dip_id} is simulated in cohort {other}, so the simulator answers every message "
                        f"to it; here the framework plays {role} with it: give one of them a DIP ID of its own, "
                        f"or simulate {role} here too",
                    )
                )

    def with_data_slots(self) -> dict[str, Cohort]:
        """Each cohort owns a slice of the MPAN space (C1..C49 and MVC by name, others by data_slot)."""
        from mhhs_sit.data import cohort_index_for

        cohorts: dict[str, Cohort] = {}
        slot_owner: dict[int, str] = {}
        for doc, cohort in sorted(self.built, key=lambda b: b[1].id):
            try:
                slot = cohort_index_for(cohort.id, doc.data.get("data_slot"))
            except ConfigError as exc:
                self.problems.append(doc.problem(["data_slot"] if "data_slot" in doc.data else ["cohort"], str(exc)))
                continue
            if slot in slot_owner:
                self.problems.append(
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
        return cohorts


def unobservable_problems(scenario: Scenario, cohorts: Mapping[str, Cohort]) -> list[Problem]:
    """An ``expect at:`` a role that every cohort able to run the case simulates can never be seen:
    refused before the run, located at the step (a cohort that merely simulates it is ineligible)."""
    problems = []
    able = sorted(c.id for c in cohorts.values() if all(r in c.participants for r in scenario.roles))
    for case in scenario.cases:
        for role, where in case.listens.items():
            if able and all(role in cohorts[cid].simulated for cid in able):
                problems.append(
                    Problem(
                        where.file,
                        where.line,
                        where.column,
                        next((f"{s.path}.{s.kind}.at" for s in case.steps if s.location == where), case.path),
                        f"'expect at: {role}': every cohort that could run {case.id} ({', '.join(able)}) "
                        f"simulates {role}; {UNOBSERVABLE}",
                    )
                )
    return problems
