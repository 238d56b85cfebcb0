import pytest

from mhhs_sit.definitions.matchers import MISSING, mismatch, mismatches, resolve

MESSAGE = {
    "CommonBlock": {"S1": {"senderDIPID": "2300000101"}, "M0": {"MPANCore": "1000000000011"}},
    "CustomBlock": {"B007": {"responseCode": "A"}, "list": [{"v": "1.000"}]},
}


def test_block_shortcuts_resolve_into_common_and_custom_blocks():
    assert resolve(MESSAGE, "S1.senderDIPID", blocks=True) == "2300000101"
    assert resolve(MESSAGE, "B007.responseCode", blocks=True) == "A"
    assert resolve(MESSAGE, "CustomBlock.list[0].v") == "1.000"
    assert resolve(MESSAGE, "S1.senderDIPID") is MISSING  # without the shortcut


def test_case_insensitive_field_names():
    assert resolve(MESSAGE, "m0.mpancore", blocks=True) == "1000000000011"


def test_plain_equality_and_type_hint():
    assert mismatch("x", "A", "A") is None
    assert "quote the YAML value" in mismatch("x", "1", 1)
    assert mismatch("x", 1, 1.0) is None
    assert mismatch("x", True, 1) is not None


@pytest.mark.parametrize(
    ("actual", "expected", "ok"),
    [
        ("CI-1", {"matches": "^CI-"}, True),
        ("XX", {"matches": "^CI-"}, False),
        ("A", {"in": ["A", "R"]}, True),
        ("L", {"in": ["A", "R"]}, False),
        (5, {"gt": 3, "le": 5}, True),
        (5, {"lt": 5}, False),
        ("2026-12-05T00:00:00+00:00", {"before": "2026-12-06"}, True),
        ("2026-12-06T00:00:00+00:00", {"before": "2026-12-06"}, False),
        ("2026-12-07", {"before": "2026-12-06T00:00:00+00:00"}, False),
        (None, {"before": "2026-12-06"}, False),
        ([1, 2], {"length": 2}, True),
        ("abc", {"contains": "b"}, True),
        (MISSING, {"exists": False}, True),
        ("x", {"exists": False}, False),
        ("x", {"type": "string"}, True),
        (1, {"type": "number"}, True),
    ],
)
def test_operators(actual, expected, ok):
    assert (mismatch("v", actual, expected) is None) is ok


def test_mismatches_lists_every_failure_with_the_path():
    problems = mismatches(MESSAGE, {"B007.responseCode": "R", "M0.MPANCore": {"startswith": "2"}}, blocks=True)
    assert len(problems) == 2
    assert "B007.responseCode is 'A', expected 'R'" in problems[0]
