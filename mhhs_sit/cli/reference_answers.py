"""The interfaces page's part on the simulator: per interface, which simulated role answers it and
with what, which only record it, and the conditions under which the shipped rules reject it."""

from __future__ import annotations

from collections.abc import Iterable

from mhhs_sit.cli.answering import Answer, answers


def simulated_section(interfaces: Iterable[tuple[str, str]]) -> str:
    """``## Simulated answers``: one ``###`` part per (interface id, DIP name)."""
    found = answers()
    parts = [
        "\n## Simulated answers\n\nWhat the participant simulators' shipped rules (`stubs/rules/`, docs/simulator.md) "
        "do with a message on each interface: who answers it and with what, who only records it, and what makes "
        "a simulated role reject it (a rule's condition: the message's fields, and what the role remembers "
        "about the MPAN). A role the cohort does not simulate is played by a party under test instead.\n"
    ]
    for interface, name in interfaces:
        parts.append(f"\n### {interface} {name}\n\n{_about(found.get(interface, ()))}")
    return "".join(parts)


def _about(rules: tuple[Answer, ...]) -> str:
    if not rules:
        return "No simulated role receives it.\n"
    lines = []
    for roles, files, sends in _answered(rules):
        lines.append(f"- answered by {roles} ({files}) with {sends}")
    recorders = sorted({role for a in rules if not a.sends for role in a.roles} - _answering(rules))
    if recorders:
        lines.append(f"- recorded, not answered, by {', '.join(recorders)}")
    rejects = [a for a in rules if a.rejects]
    if rejects:
        lines.append("- rejected by the simulated role when:")
        lines += [f"  - {_when(a)}: *{a.rule}* ({a.file})" for a in rejects]
    return "\n".join(lines) + "\n"


def _answering(rules: tuple[Answer, ...]) -> set[str]:
    return {role for a in rules if a.sends for role in a.roles}


def _answered(rules: tuple[Answer, ...]) -> list[tuple[str, str, str]]:
    """(roles, rules files, what they send) per set of roles that answers, in the rules' order."""
    grouped: dict[tuple[str, ...], tuple[dict[str, None], dict[str, None]]] = {}
    for a in rules:
        if a.sends:
            files, sends = grouped.setdefault(a.roles, ({}, {}))
            files[a.file] = None
            for interface, event in a.sends:
                sends[f"{interface} `{event}`"] = None
    return [(", ".join(roles), ", ".join(files), ", ".join(sends)) for roles, (files, sends) in grouped.items()]


def _when(a: Answer) -> str:
    event = f"[{a.event}] " if a.event else ""
    if a.fallback:
        return f"{event}no other rule applies"
    return f"{event}{a.condition}" if a.condition else f"{event}no earlier rule applies"
