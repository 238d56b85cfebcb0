"""Comparing two schemas on the facts a message must satisfy, not on their prose or layout."""

from __future__ import annotations

from mhhs_sit.catalogue.specdiff import facts, schema_differences


def differences(a: object, b: object) -> list[tuple[str, str, object, object]]:
    return list(schema_differences(a, b))


def test_prose_annotations_and_the_order_of_sets_are_not_differences() -> None:
    ours = {"type": "object", "required": ["b", "a"], "x-expected": "ours", "properties": {"a": {"enum": [2, 1]}}}
    theirs = {"type": "object", "required": ["a", "b"], "description": "theirs", "properties": {"a": {"enum": [1, 2]}}}
    assert differences(ours, theirs) == []
    assert facts({"type": ["null", "string"], "example": "x"}) == {"type": ["null", "string"]}


def test_each_fact_that_differs_is_named_by_pointer_and_keyword() -> None:
    ours = {
        "type": "object",
        "properties": {
            "B070": {"type": "object", "properties": {"code": {"type": "string", "maxLength": 2}, "extra": {}}},
            "list": {"type": "array", "items": {"type": "string", "pattern": "^a$"}},
        },
    }
    theirs = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "B070": {"type": "object", "properties": {"code": {"type": "string", "maxLength": 1}}},
            "list": {"type": "array", "items": {"type": "string"}},
        },
    }
    assert differences(ours, theirs) == [
        ("", "additionalProperties", None, False),
        ("/B070/code", "maxLength", 2, 1),
        ("/B070/extra", "property", "present", None),
        ("/list/*", "pattern", "^a$", None),
    ]


def test_a_nullable_reference_to_a_nullable_type_is_the_same_as_one_null() -> None:
    once = {"anyOf": [{"minLength": 1}, {"type": "null"}]}
    twice = {"anyOf": [once, {"type": "null"}]}
    assert differences(once, twice) == []
