"""Scenario messages checked against the interface catalogue for one spec version.

At collection, every ``send`` step is checked with what is known before it runs: the interface
exists in that version, the role may send it, the event belongs to it, and the literal parts of
the CustomBlock satisfy the schema (a missing required field, a wrong type, a renamed field).
Values produced by templates are only known when the step runs; ``check_message`` checks the
built message then. The CommonBlock is the framework's to fill, so only the CustomBlock is
checked at collection.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from mhhs_sit.core.yamlsrc import PathPart, YamlDoc
from mhhs_sit.dip.envelope import BUILT_BLOCKS, ReferenceSource, Sender, build_message, unbracketed
from mhhs_sit.errors import Problem

if TYPE_CHECKING:
    from mhhs_sit.catalogue.model import Interface

_REFS = ReferenceSource("chk")


def _templated(value: object) -> bool:
    return isinstance(value, str) and "{{" in value


def carries_custom_block(interface_id: str, event: str) -> bool:
    """Whether messages of the interface's event code carry a CustomBlock (unknown ones: assume so)."""
    from mhhs_sit.catalogue import load_catalogue

    try:
        return load_catalogue().interface(interface_id).has_custom_block(unbracketed(event))
    except KeyError:
        return True


def expects_refusal(spec: Mapping[str, object]) -> bool:
    """A negative test sends an invalid message on purpose and expects the DIP to refuse it: it
    expects a 4xx, or its ``common:`` overrides a block the framework builds (S0, S1, A0, M0).
    Adding a block the event requires (R0, R1, M1…) is an ordinary send, checked as one."""
    response = spec.get("response")
    status = response.get("status") if isinstance(response, Mapping) else None
    common = spec.get("common")
    overrides = isinstance(common, Mapping) and any(str(k).upper() in BUILT_BLOCKS for k in common)
    return (
        (isinstance(status, int) and status >= 400) or overrides or (bool(common) and not isinstance(common, Mapping))
    )


def _within_template(custom: object, parts: list[str]) -> bool:
    """True when the pointer runs into a value that a template will produce at run time."""
    node = custom
    for part in parts:
        if _templated(node):
            return True
        if isinstance(node, Mapping):
            match = next((k for k in node if str(k).lower() == part.lower()), None)
            if match is None:
                return False
            node = node[match]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return _templated(node)


def schema_violations(message: Mapping[str, Any], interface_id: str, version: str, dip_spec: str | None) -> list[Any]:
    """Violations against an official DIP spec when one is given, else the project's catalogue."""
    if dip_spec:
        from mhhs_sit.catalogue.dipspec import load_dip_spec

        return list(load_dip_spec(dip_spec).validate(dict(message), interface_id))
    from mhhs_sit.catalogue import load_catalogue

    return list(load_catalogue().validate(dict(message), version=version, interface_id=interface_id))


def send_problems(
    doc: YamlDoc, base: list[PathPart], spec: Mapping[str, object], version: str, dip_spec: str | None
) -> list[Problem]:
    """A ``send`` body's problems against the catalogue: interface, sender role, event, CustomBlock."""
    iid, event, role = spec.get("interface"), spec.get("event"), spec.get("as")
    if not (isinstance(iid, str) and isinstance(event, str) and isinstance(role, str)):
        return []
    if any(_templated(x) for x in (iid, event, role)):
        return []
    from mhhs_sit.catalogue import load_catalogue

    try:
        iface = load_catalogue().interface(iid)
    except KeyError as exc:
        return [doc.problem([*base, "interface"], str(getattr(exc, "text", exc)))]
    if version not in iface.versions:
        known = ", ".join(iface.versions) or "none"
        return [
            doc.problem([*base, "interface"], f"{iid} does not exist in spec version {version} (it is in: {known})")
        ]
    problems = _sender_and_event(doc, base, iface, spec, version)
    if problems or expects_refusal(spec):
        return problems
    return _custom_block_problems(doc, base, spec, version, dip_spec)


def _sender_and_event(
    doc: YamlDoc, base: list[PathPart], iface: Interface, spec: Mapping[str, object], version: str
) -> list[Problem]:
    iid, event, role = iface.id, str(spec["event"]), str(spec["as"])
    problems = []
    if role not in iface.senders and not spec.get("sender_role"):
        problems.append(
            doc.problem([*base, "as"], f"{role} may not send {iid}; its senders are {', '.join(sorted(iface.senders))}")
        )
    events = iface.event_codes(version)
    if unbracketed(event) not in events:
        problems.append(
            doc.problem(
                [*base, "event"],
                f"[{unbracketed(event)}] is not an event code of {iid} in spec version {version}; "
                f"its event codes are: {', '.join(events)}",
            )
        )
    return problems


# (interface, event, role, version, DIP spec, the CustomBlock as written) -> its violations (path
# below ``custom``, message). A library repeats one CustomBlock across many cases: a 10,000-case
# file validated each of its sends against the schema in 2 ms, two thirds of validate's time;
# the same block gives the same violations, so each distinct one is checked once.
_CHECKED: dict[tuple[object, ...], tuple[tuple[list[PathPart], str], ...]] = {}
_CHECKED_MAX = 4096  # distinct blocks remembered; forgotten all at once past it (a bound, not a policy)


def _custom_block_problems(
    doc: YamlDoc, base: list[PathPart], spec: Mapping[str, object], version: str, dip_spec: str | None
) -> list[Problem]:
    """The literal parts of the CustomBlock against the schema (templated parts wait for the run)."""
    given = spec.get("custom")
    key = (spec["interface"], spec["event"], spec["as"], version, dip_spec, type(given), repr(given))
    found = _CHECKED.get(key)
    if found is None:
        if len(_CHECKED) >= _CHECKED_MAX:
            _CHECKED.clear()
        found = _CHECKED[key] = tuple(_custom_block_violations(spec, version, dip_spec))
    return [doc.problem([*base, "custom", *below], message) for below, message in found]


def _custom_block_violations(
    spec: Mapping[str, object], version: str, dip_spec: str | None
) -> Iterator[tuple[list[PathPart], str]]:
    iid = str(spec["interface"])
    given = spec.get("custom")
    custom: Mapping[str, object] = given if isinstance(given, Mapping) else {}
    with_custom = isinstance(given, Mapping) or carries_custom_block(iid, str(spec["event"]))
    message = build_message(
        interface_id=iid,
        event=str(spec["event"]),
        sender=Sender("0000000000", str(spec["as"])),
        environment_tag="DEV",
        refs=_REFS,
        custom=custom,
        mpan="0000000000000",
        distributor_dip_id="0000000000",
        gsp_group="_A",
        custom_block=with_custom,
    )
    against = f"the DIP spec at {dip_spec}" if dip_spec else f"spec version {version}"
    for v in schema_violations(message, iid, version, dip_spec):
        parts = [p for p in v.pointer.split("/") if p]
        if not parts or parts[0] != "CustomBlock" or _within_template(custom, parts[1:]):
            continue
        yield [int(p) if p.isdigit() else p for p in parts[1:]], f"under {against}: {v.message}"


def check_message(
    message: Mapping[str, object], interface_id: str, version: str, dip_spec: str | None = None
) -> list[str]:
    """Every schema violation of a built message, as sentences with their JSON pointer."""
    return [str(v) for v in schema_violations(message, interface_id, version, dip_spec)]
