"""The interface, event and field paths a step reads from a message, against the catalogue.

An ``expect`` that names an unknown interface or event, or a ``where``/``save`` path that no
message of that event has (``B007.responsCode``), would wait its whole ``within`` and read as a
product defect; here it is a located problem with a suggestion before anything runs. Paths are
matched case-insensitively, as the DIP matches field names, and ``M0.MPANCore`` stands for
``CommonBlock.M0.MPANCore`` as in ``where``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

from mhhs_sit.core.yamlsrc import PathPart, YamlDoc
from mhhs_sit.definitions.matchers import PATH_RE, split_path
from mhhs_sit.definitions.schema_check import suggest
from mhhs_sit.definitions.template_names import Shape, schema_shape
from mhhs_sit.dip.envelope import block_path, unbracketed
from mhhs_sit.errors import Problem

Schema = Mapping[str, object]


def is_block_path(path: str) -> bool:
    """Whether ``path`` reads the message's blocks (``S1.x``, ``B071.x``, ``CommonBlock.x``)."""
    head = block_path(path).split(".", 1)[0].split("[", 1)[0]
    return head in ("CommonBlock", "CustomBlock")


def _literal(value: object) -> str | None:
    return value if isinstance(value, str) and value and "{{" not in value else None


def listened_problems(
    doc: YamlDoc, base: Sequence[PathPart], interface: object, event: object, version: str, at_role: object = None
) -> tuple[list[Problem], tuple[str, ...]]:
    """Problems of an interface and event a step waits for, and the event codes its paths may read."""
    iid, code = _literal(interface), _literal(event)
    if iid is None:
        return [], ()
    from mhhs_sit.catalogue import load_catalogue

    catalogue = load_catalogue()
    try:
        iface = catalogue.interface(iid)
    except KeyError as exc:
        return [doc.problem([*base, "interface"], str(getattr(exc, "text", exc)))], ()
    canonical = catalogue.resolve_version(version)
    events = iface.event_codes(canonical)
    if not events:
        known = ", ".join(iface.versions) or "none"
        return [
            doc.problem([*base, "interface"], f"{iid} does not exist in spec version {version} (it is in: {known})")
        ], ()
    role = _literal(at_role)
    receivers = iface.recipients | iface.always
    if role is not None and receivers and role not in receivers:
        message = f"{role} never receives {iface.id}; its recipients are {', '.join(sorted(receivers))}"
        return [doc.problem([*base, "at"], message)], ()
    if code is None:
        return [], events
    if unbracketed(code) not in events:
        message = (
            f"[{unbracketed(code)}] is not an event code of {iface.id} in spec version {version}"
            f"{suggest(unbracketed(code), events)}; its event codes are: {', '.join(events)} "
            f"(see: mhhs-sit catalogue show {iface.id})"
        )
        return [doc.problem([*base, "event"], message)], ()
    return [], (unbracketed(code),)


@lru_cache(maxsize=512)
def _schema(interface: str, event: str, version: str) -> Schema:
    from mhhs_sit.catalogue import load_catalogue

    return load_catalogue().schema(interface, event, version=version)


def path_problem(path: str, interface: str, events: Sequence[str], version: str) -> str | None:
    """Why no message of ``interface`` with one of ``events`` has ``path`` (None when one may)."""
    if not events or not PATH_RE.match(path):
        return None
    parts = split_path(block_path(path))
    first: str | None = None
    for event in events:
        why = _walk(_schema(interface, event, version), parts)
        if why is None:
            return None
        first = first or why
    shown = f"[{events[0]}]" if len(events) == 1 else "(any event)"
    see = f"mhhs-sit catalogue show {interface} --event {events[0]}"
    return f"'{path}': no {interface} {shown} message has it: {first} (see: {see})"


def _walk(schema: Schema, parts: Sequence[str | int]) -> str | None:
    node: object = schema
    walked = ""
    for part in parts:
        if isinstance(part, int):
            node = node.get("items") if isinstance(node, Mapping) else None
            if node is None:
                return None
            continue
        fields = _properties(node)
        if fields is None:
            return None  # an open object: anything may be below
        match = next((k for k in fields if k.lower() == part.lower()), None)
        if match is None:
            where = walked or "the message"
            return f"{where} has no field '{part}'{suggest(part, fields)}; its fields are {', '.join(fields)}"
        node, walked = fields[match], f"{walked}.{match}" if walked else match
    return None


def _properties(node: object) -> dict[str, object] | None:
    """A schema's named fields (its alternatives' too), or None when it allows any field."""
    if not isinstance(node, Mapping):
        return None
    fields: dict[str, object] = {}
    named = node.get("properties")
    if isinstance(named, Mapping):
        fields.update({str(k): v for k, v in named.items()})
    for keyword in ("allOf", "anyOf", "oneOf"):
        for alternative in node.get(keyword) or []:
            fields.update(_properties(alternative) or {})  # one without fields adds none
    additional = node.get("additionalProperties")
    if not fields or additional not in (None, False) or "patternProperties" in node:
        return None
    return fields


def check_message_paths(
    doc: YamlDoc,
    base: Sequence[PathPart],
    paths: Mapping[object, object],
    interface: str,
    events: Sequence[str],
    version: str,
    *,
    keys: bool,
) -> list[Problem]:
    """Each path in ``paths`` (its keys for ``where``, its values for ``save``) against the schema."""
    problems = []
    for name, target in paths.items():
        path = name if keys else target
        if not isinstance(path, str):
            continue
        why = path_problem(path, interface, events, version)
        if why:
            problems.append(doc.problem([*base, str(name)], why, key=keys))
    return problems


def saved_shapes(
    save: Mapping[object, object], interface: str, events: Sequence[str], version: str
) -> dict[str, Shape]:
    """What each value saved from a message holds, from the schema (a leaf is text: no fields below)."""
    shapes: dict[str, Shape] = {}
    for name, path in save.items():
        if not isinstance(name, str) or not isinstance(path, str) or not is_block_path(path) or not events:
            continue
        if path_problem(path, interface, events, version) is not None:
            continue  # reported where it is saved
        node = _node(_schema(interface, events[0], version), split_path(block_path(path)))
        shapes[name] = schema_shape(node, f"'{path}' of {interface}")
    return shapes


def _node(schema: Schema, parts: Sequence[str | int]) -> object:
    node: object = schema
    for part in parts:
        if isinstance(part, int):
            node = node.get("items") if isinstance(node, Mapping) else None
            continue
        fields = _properties(node) or {}
        node = next((v for k, v in fields.items() if k.lower() == part.lower()), None)
    return node
