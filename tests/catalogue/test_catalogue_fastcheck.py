"""The fast check agrees with jsonschema exactly: it decides "valid"; jsonschema explains faults."""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator, Draft202012Validator

from mhhs_sit.catalogue import Catalogue
from mhhs_sit.catalogue.dipspec import load_dip_spec
from mhhs_sit.catalogue.fastcheck import compile_check


@pytest.mark.parametrize(
    ("schema", "instance"),
    [
        ({"type": "integer"}, True),
        ({"type": "integer"}, 1.0),
        ({"type": "number"}, False),
        ({"enum": [1, "a", None]}, True),
        ({"enum": [1, "a", None]}, 1.0),
        ({"enum": [True]}, 1),
        ({"const": 5}, 6),
        ({"multipleOf": 15}, 30.0),
        ({"multipleOf": 15}, 31),
        ({"type": ["string", "null"], "minLength": 2}, None),
        ({"type": ["string", "null"], "enum": ["a"]}, None),
        ({"type": ["null", "string"], "enum": ["a", None], "maxLength": 1}, None),
        ({"type": "string", "enum": ["a", "bb"], "maxLength": 1}, "bb"),
        ({"type": "string", "minLength": 2, "format": "date"}, "x"),
        ({"type": "string", "pattern": "^a"}, "ba"),
        ({"minimum": 3}, "not a number"),
        ({"exclusiveMaximum": 3}, 3),
        (
            {"properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "integer"}},
            {"a": "x", "b": "y"},
        ),
        ({"oneOf": [{"type": "string"}, {"minLength": 1}]}, "two"),
        ({"anyOf": [{"type": "string"}, {"type": "null"}]}, 3),
        ({"not": {"type": "string"}}, 3),
        ({"items": {"type": "integer"}, "maxItems": 2}, [1, 2, 3]),
        ({"type": "object", "required": ["a"], "nullable": True, "x-anything": 1}, {}),
    ],
)
@pytest.mark.parametrize("dialect", [Draft202012Validator, Draft4Validator])
def test_tricky_cases_agree_with_jsonschema(dialect: Any, schema: dict[str, Any], instance: Any) -> None:
    if dialect is Draft4Validator and "exclusiveMaximum" in schema:
        assert compile_check(schema, dialect) is None  # draft 4 reads it as a flag: left to jsonschema
        return
    check = compile_check(schema, dialect)
    assert check is not None
    assert check(instance) == dialect(schema).is_valid(instance)


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "#/x"},
        {"patternProperties": {"^a": {}}},
        {"uniqueItems": True},
        {"if": {}, "then": {}},
        {"multipleOf": 0.5},
        {"items": [{"type": "string"}]},
    ],
)
def test_keywords_it_does_not_implement_leave_the_decision_to_jsonschema(
    schema: dict[str, Any],
) -> None:
    dialect = Draft4Validator if isinstance(schema.get("items"), list) else Draft202012Validator
    assert compile_check(schema, dialect) is None


def mutations(payload: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """``payload`` with one to three random edits of the kinds senders get wrong."""
    out = copy.deepcopy(payload)
    for _ in range(rng.randint(1, 3)):
        parent, key = _pick(out, rng)
        if parent is None:
            continue
        value = parent[key]
        edit = rng.randrange(8)
        if edit == 0:
            del parent[key]
        elif edit == 1 and isinstance(parent, dict):
            parent[key + "X"] = value
        elif edit == 2:
            parent[key] = rng.choice([None, True, 0, 1.5, [], {}, "", "x" * 70])
        elif edit == 3 and isinstance(value, str):
            parent[key] = value[:-1] if value else "A"
        elif edit == 4 and isinstance(value, str):
            parent[key] = value.lower() if value != value.lower() else value.upper()
        elif edit == 5 and isinstance(parent, dict) and isinstance(key, str):
            parent[key.swapcase()] = parent.pop(key)
        elif edit == 6 and isinstance(value, list):
            parent[key] = value * 3
        else:
            parent[key] = str(value)
    return out


def _pick(node: Any, rng: random.Random) -> tuple[Any, Any]:
    slots: list[tuple[Any, Any]] = []

    def walk(container: Any) -> None:
        items = container.items() if isinstance(container, dict) else enumerate(container)
        for key, value in items:
            slots.append((container, key))
            if isinstance(value, dict | list):
                walk(value)

    walk(node)
    return rng.choice(slots) if slots else (None, None)


def _agree(schema: dict[str, Any], dialect: Any, payload: dict[str, Any], seed: int) -> int:
    check = compile_check(schema, dialect)
    assert check is not None
    validator = dialect(schema)
    rng = random.Random(seed)
    invalid = 0
    for _ in range(400):
        mutated = mutations(payload, rng)
        expected = validator.is_valid(mutated)
        assert check(mutated) == expected, mutated
        invalid += not expected
    return invalid


def test_random_faults_in_catalogue_messages_get_the_same_verdict(
    cat: Catalogue, ds_app: dict[str, Any], consumption: dict[str, Any]
) -> None:
    for version in cat.versions:
        for payload, iid, event in (
            (ds_app, "IF-031", "DSApp"),
            (consumption, "IF-021", "ActivePower"),
        ):
            invalid = _agree(cat.schema(iid, event, version=version), Draft202012Validator, payload, 7)
            assert invalid > 200  # the mutations do find faults


def test_random_faults_in_official_spec_messages_get_the_same_verdict(spec_dir: Path, ds_app: dict[str, Any]) -> None:
    branch = load_dip_spec(spec_dir).schema("IF-031")["oneOf"][1]
    assert _agree(branch, Draft4Validator, ds_app, 11) > 200
