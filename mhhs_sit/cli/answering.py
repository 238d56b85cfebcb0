"""Which simulated role answers each interface, with what, and what makes it reject: read off the
simulator's shipped rules (``stubs/rules``), so the reference pages and ``mhhs-sit new scenario``
say what the simulator really does rather than a hand-kept copy of it.

A rule *answers* when it sends something, and *rejects* when what it sends is a refusal: a
``responseCode: R`` in its ``R0`` or ``B007`` block, or an event code naming a rejection. Its
condition is its ``when: where`` (the message) and ``given`` (what the role remembers).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from mhhs_stubs.rule_files import RULES_DIR, TRIGGER_PREFIX, Rule, load_rules


@dataclass(frozen=True)
class Answer:
    """One rule of the shipped simulator that a message on ``interface`` can meet."""

    roles: tuple[str, ...]
    file: str  # the rules file's name, e.g. registration.yaml
    rule: str
    event: str | None  # the event code the rule is for, None for any
    sends: tuple[tuple[str, str], ...]  # (interface, event code or its template)
    rejects: bool
    condition: str  # the rule's where/given in words; "" when it always applies
    fallback: bool


@lru_cache(maxsize=2)
def answers(directory: Path = RULES_DIR) -> Mapping[str, tuple[Answer, ...]]:
    """Every rule, by each interface it is for (off-DIP triggers left out), in the rules' order."""
    by_rule: dict[str, tuple[Rule, list[str]]] = {}
    for role, rules in load_rules(directory).items():
        for rule in rules:
            by_rule.setdefault(rule.source, (rule, []))[1].append(role)
    found: dict[str, list[Answer]] = {}
    for rule, roles in by_rule.values():
        answer = _answer(rule, roles)
        for interface in rule.interfaces:
            if not interface.startswith(TRIGGER_PREFIX):
                found.setdefault(interface, []).append(answer)
    return {interface: tuple(items) for interface, items in found.items()}


def _answer(rule: Rule, roles: Iterable[str]) -> Answer:
    sends = tuple((str(s.get("interface")), str(s.get("event"))) for s in rule.send)
    return Answer(
        roles=tuple(sorted(set(roles))),
        file=Path(rule.source.rsplit(":", 1)[0]).name,
        rule=rule.name,
        event=rule.event,
        sends=sends,
        rejects=any(_refusal(send) for send in rule.send),
        condition=condition(rule),
        fallback=rule.fallback,
    )


def _refusal(send: Mapping[str, object]) -> bool:
    if "Rejected" in str(send.get("event")):
        return True
    blocks = [send.get("common"), send.get("custom")]
    return any(_code_r(_get(b, "R0")) or _code_r(_get(b, "B007")) for b in blocks)


def _get(block: object, key: str) -> object:
    return block.get(key) if isinstance(block, Mapping) else None


def _code_r(block: object) -> bool:
    return isinstance(block, Mapping) and block.get("responseCode") == "R"


def condition(rule: Rule) -> str:
    """The rule's condition in words: ``B071.x`` startswith ``REJECT``; given ``mpan.known`` = ``false``."""
    parts = [_expectation(path, expected) for path, expected in rule.where.items()]
    parts += [f"remembered {_expectation(path, expected)}" for path, expected in (rule.given or {}).items()]
    return "; ".join(parts)


def _expectation(path: str, expected: object) -> str:
    if isinstance(expected, Mapping) and expected and all(isinstance(k, str) and k.islower() for k in expected):
        return " and ".join(f"`{path}` {op} `{json.dumps(value)}`" for op, value in expected.items())
    return f"`{path}` = `{json.dumps(expected)}`"


def answering_roles(interface: str, event: str | None = None) -> tuple[str, ...]:
    """The roles whose rules answer (send something to) a message on ``interface`` [``event``]."""
    return tuple(
        sorted({role for a in answers().get(interface, ()) if a.sends and a.event in (None, event) for role in a.roles})
    )
