"""``mhhs-sit new scenario``: a runnable skeleton of one process for one cohort.

The send step is ``mhhs-sit new step``'s (every required field valid for the cohort's roles), the
expects are the answers the simulated roles' rules send back (``processes.py``), each with a
comment naming the role and rules file that answers it. The cohort must play the sending role and
simulate the answering ones; anything else is a usage error naming a cohort that fits.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from mhhs_sit.cli.answering import Answer, answers
from mhhs_sit.cli.processes import BY_NAME, Process
from mhhs_sit.definitions.model import Cohort
from mhhs_sit.definitions.schema_check import suggest
from mhhs_sit.errors import ConfigError

_ID = re.compile(r"[^A-Za-z0-9_.-]+")
_COHORT_ROLE = re.compile(r"\{\{\s*cohort\.([A-Z]+)\.")


def process_named(name: str) -> Process:
    found = BY_NAME.get(name)
    if found is None:
        raise ConfigError(
            f"--process: unknown process '{name}'{suggest(name, BY_NAME)}; the processes are {', '.join(BY_NAME)}"
        )
    return found


def fitting(process: Process, cohort: Cohort) -> str | None:
    """Why ``cohort`` cannot run ``process`` (None when it can)."""
    if process.sender not in cohort.participants:
        return f"the process is started by {process.sender}, which cohort {cohort.id} has no participant for"
    if process.sender in cohort.simulated:
        return f"the process is started by {process.sender}, which cohort {cohort.id} simulates (no test acts as it)"
    missing = [r for r in process.simulated if r not in cohort.simulated]
    if missing:
        return f"cohort {cohort.id} does not simulate {', '.join(missing)}, which answer{'s' * (len(missing) == 1)} it"
    return None


def check_cohort(process: Process, cohort: Cohort, cohorts: Mapping[str, Cohort]) -> None:
    problem = fitting(process, cohort)
    if problem:
        others = [c.id for c in cohorts.values() if fitting(process, c) is None]
        hint = f"; cohorts that fit: {', '.join(others)}" if others else "; no cohort of this project fits"
        raise ConfigError(f"--cohort: {problem}{hint}")


def scenario_id(out: Path) -> str:
    """The scenario id from the file's name (``SITFT-03-010.yaml`` -> ``SITFT-03-010``)."""
    found = _ID.sub("-", out.stem).strip("-._") or "SITNEW"
    return found if found[0].isalnum() else f"S{found}"


def skeleton(process: Process, cohort: Cohort, out: Path, version: str, schema: Path) -> str:
    """The scenario file's text."""
    from mhhs_sit.definitions.scaffold import send_step

    sid = scenario_id(out)
    send = _adjusted(send_step(process.interface, process.event, process.sender, version), process)
    named = _COHORT_ROLE.findall(send)  # a role the message names must be one of the scenario's
    roles = list(dict.fromkeys([process.sender, *process.simulated, *named]))
    lines = [
        f"# yaml-language-server: $schema={_relative(schema, out.parent)}",
        f"# A skeleton of '{process.name}' for cohort {cohort.id}, written by mhhs-sit new scenario: {process.about}.",
        "# It runs as written against the local simulator; make it yours: the title, the values of the message,",
        "# what each expect checks (mhhs-sit catalogue show IF-0nn --event X lists an event's fields), more cases.",
        *([f"# As written it is refused: {process.refused_why}."] if process.refused_why else []),
        f"scenario: {sid}",
        f"title: {process.title}",
        "stage: sit-functional",
        f"theme: {process.theme}",
        "tags: [skeleton]",
        f"roles: [{', '.join(roles)}]",
        "cases:",
        f"  - id: {sid}-TC01",
        f"    title: {process.title}, and is answered",
        "    data:",
        "      mpan: {draw: mpan}",
        "    steps:",
        *_indented(send.rstrip("\n").splitlines(), 6),
        *(line for answer in process.answers for line in _expect(process, answer, version)),
    ]
    return "\n".join(lines) + "\n"


def _adjusted(step: str, process: Process) -> str:
    """The scaffolded step with the process's own values and extra blocks."""
    for name, value in process.fields.items():
        pattern = re.compile(rf"^(\s*{re.escape(name)}:) [^#\n]*?(\s*#.*)?$", re.M)
        step = pattern.sub(_replacement(value), step)  # where the version's event has the field
    if process.blocks:
        head, sep, tail = step.partition("\n    custom:")
        extra = "".join(f"      {block}\n" for block in process.blocks)
        if not sep:  # no CustomBlock field is required: the blocks are the custom part
            return step + "    custom:\n" + extra
        line_end = tail.index("\n") + 1
        step = head + sep + tail[:line_end] + extra + tail[line_end:]
    return step


def _replacement(value: str) -> Callable[[re.Match[str]], str]:
    """A field line's value replaced, its key and format comment kept."""
    return lambda found: f"{found.group(1)} {value}{found.group(2) or ''}"


def _expect(process: Process, answer: tuple[str, str], version: str) -> list[str]:
    interface, event = answer
    where = {**_mpan_check(interface, event, version)}
    said = _answered_by(interface, event, process.simulated)
    if interface in process.refused:
        refusal = json.dumps(process.refused[interface])
        where.update({"R0.responseCode": "R", json.dumps("R0.responseMessages[0]"): refusal})
        said = f"refused: {process.refused_why}"
    elif interface in process.accepted:
        where[process.accepted[interface]] = "A"
    shown = ", ".join(f"{path}: {value}" for path, value in where.items())
    return [
        f"      - expect:  # {said}",
        f"          at: {process.sender}",
        f"          interface: {interface}",
        f"          event: {event}",
        *([f"          where: {{{shown}}}"] if shown else []),
    ]


def _mpan_check(interface: str, event: str, version: str) -> dict[str, str]:
    """The check that the answer is about the case's MPAN, in the block the event carries it."""
    from mhhs_sit.catalogue import load_catalogue

    message = load_catalogue().schema(interface, event, version=version)
    common = _properties(_properties(message).get("CommonBlock"))
    if "M0" in common:
        return {"M0.MPANCore": '"{{ mpan }}"'}
    if "principalMPAN" in _properties(common.get("M1")):
        return {"M1.principalMPAN": '"{{ mpan }}"'}
    return {}


def _properties(node: object) -> Mapping[str, object]:
    found = node.get("properties") if isinstance(node, Mapping) else None
    return found if isinstance(found, Mapping) else {}


def _answered_by(interface: str, event: str, roles: Iterable[str]) -> str:
    """Which simulated role's rule sends this answer, read off the shipped rules: the rule that sends
    exactly this event and accepts, where there is one."""
    wanted = set(roles)
    found: dict[str, tuple[tuple[bool, bool, bool], Answer]] = {}
    for rules in answers().values():
        for a in rules:
            exact = (interface, event) in a.sends
            if not exact and not any(i == interface and "{{" in e for i, e in a.sends):
                continue
            rank = (not exact, a.rejects, a.fallback)
            for role in sorted(wanted & set(a.roles)):
                if role not in found or rank < found[role][0]:
                    found[role] = (rank, a)
    named = "; ".join(f"{role}: '{a.rule}' (stubs/rules/{a.file})" for role, (_, a) in sorted(found.items()))
    return f"sent by the simulated {named}" if named else "sent by the simulator"


def _indented(lines: Iterable[str], by: int) -> list[str]:
    return [" " * by + line for line in lines]


def _relative(target: Path, start: Path) -> str:
    try:
        return Path(os.path.relpath(target.resolve(), start.resolve())).as_posix()
    except ValueError:  # another drive (Windows)
        return target.resolve().as_posix()
