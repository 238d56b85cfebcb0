"""The fast schema check's own form of a schema gives the verdict of the schema as written."""

from __future__ import annotations

import jsonschema
import pytest

from mhhs_sit.core.yamlsrc import YamlDoc
from mhhs_sit.definitions.schema_check import FileSchema, _any_for_one
from mhhs_sit.definitions.schemas import DURATION

_STATUS = {"oneOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}]}
_OVERLAPPING = {"oneOf": [{"type": "integer"}, {"type": "number", "minimum": 0}]}  # 3 is both: refused


@pytest.mark.parametrize("schema", [DURATION, _STATUS, _OVERLAPPING])
@pytest.mark.parametrize("value", ["10s", "500ms", "ten", 3, 2.5, -1, [1, 2], ["x"], None, True, {"a": 1}])
def test_the_fast_check_agrees_with_the_schema_as_written(schema, value):
    wrapped = {"type": "object", "properties": {"v": schema}}
    expected = jsonschema.Draft202012Validator(wrapped).is_valid({"v": value})
    assert (FileSchema(wrapped).problems(YamlDoc("f.yaml", {"v": value})) == []) is expected


def test_only_a_one_of_of_different_types_becomes_an_any_of_text_first():
    assert _any_for_one(DURATION)["anyOf"] == [DURATION["oneOf"][1], DURATION["oneOf"][0]]
    assert "oneOf" not in _any_for_one({"items": DURATION})["items"]
    assert _any_for_one(_OVERLAPPING) == _OVERLAPPING  # integer and number overlap: exactly one still counts
