"""The JSON Schema of the simulator's rule files, built from the loader's own key sets.

``mhhs_stubs.rule_files`` checks a rule file against ``FILE_KEYS``, ``RULE_KEYS``, ``WHEN_KEYS``
(``TRIGGER_WHEN_KEYS`` for a trigger rule), ``SEND_KEYS``, ``REMEMBER_KEYS``, ``TRIGGER_NAME`` and
the catalogue's roles and interfaces; this schema is made of the very same values, so an editor
flags what the simulator would refuse at start. What needs a rule's context (which role receives
an interface, template names, matcher operators inside ``where``) is still the loader's.
"""

from __future__ import annotations

from collections.abc import Collection

from mhhs_stubs import rule_files

Schema = dict[str, object]


def _closed(keys: Collection[str], properties: Schema, required: Collection[str] = ()) -> Schema:
    """An object with exactly ``keys``, each described where ``properties`` says more than 'any value'."""
    schema: Schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {key: properties.get(key, {}) for key in sorted(keys)},
    }
    return {**schema, "required": list(required)} if required else schema


def _one_or_list(item: Schema) -> Schema:
    return {"anyOf": [item, {"type": "array", "minItems": 1, "items": item}]}


def rules_schema() -> Schema:
    """The schema of one ``rules/*.yaml`` file."""
    from mhhs_sit.catalogue import load_catalogue

    catalogue = load_catalogue()
    role: Schema = {"type": "string", "enum": sorted(catalogue.roles)}
    interface: Schema = {"type": "string", "enum": [i.id for i in catalogue.interfaces]}
    checks: Schema = {"type": "object", "description": "field path -> expectation (a value or {operator: value})"}
    message_when = _closed(
        rule_files.WHEN_KEYS,
        {"interface": _one_or_list(interface), "event": {"type": "string"}, "where": checks, "given": checks},
        required=["interface"],
    )
    trigger = {"type": "string", "pattern": rule_files.TRIGGER_NAME.pattern}
    trigger_when = _closed(rule_files.TRIGGER_WHEN_KEYS, {"trigger": trigger, "where": checks, "given": checks})
    remember = _closed(rule_files.REMEMBER_KEYS, {"key": {"type": "string"}}, required=["key"])
    send = _closed(
        rule_files.SEND_KEYS,
        {
            "interface": interface,
            "event": {"type": "string"},
            "to": _one_or_list({"type": "string"}),
            "custom": {"type": ["object", "string"], "description": "blocks, or a template naming them"},
        },
        required=["interface", "event"],
    )
    rule = _closed(
        rule_files.RULE_KEYS,
        {
            "name": {"type": "string"},
            "when": {"if": {"required": ["trigger"]}, "then": trigger_when, "else": message_when},
            "lookup": {"type": "object", "additionalProperties": {"type": "string"}},
            "remember": {"anyOf": [remember, {"type": "array", "items": remember}]},
            "forget": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
            "send": {"type": "array", "items": send},
            "note": {"type": ["string", "null"]},  # null drops a note a merged rule brought
            "continue": {"type": "boolean"},
        },
        required=["when"],
    )
    sections = {name: {"type": "array", "items": rule} for name, _ in rule_files.SECTIONS}
    file = _closed(rule_files.FILE_KEYS, {"role": role, "roles": {"type": "array", "items": role}, **sections})
    return {**file, "anyOf": [{"required": ["role"]}, {"required": ["roles"]}]}
