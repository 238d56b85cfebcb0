"""The MPAN core check digit: examples, the validator's contract, and what it can catch."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mhhs_sit.data import (
    DISTRIBUTORS,
    check_digit,
    full_mpan_problem,
    is_valid_mpan_core,
    mpan_core_problem,
)
from mhhs_sit.data.checkdigit import WEIGHTS, check_value
from mhhs_sit.data.partition import REGISTERED_ROWS, ROW_ITEMS, UNREGISTERED_ROWS, block

# The DIP spec's example and cores checked by hand in DOMAIN-FACTS 5.1.
VALID = ["2000056535971", "1312345678907", "2499999999991", "1900012374324"]

distributor_ids = st.sampled_from(sorted(DISTRIBUTORS))
first12s = st.builds(
    lambda d, rest: d + "".join(map(str, rest)),
    distributor_ids,
    st.lists(st.integers(0, 9), min_size=10, max_size=10),
)


@st.composite
def generated_cores(draw: st.DrawFn) -> str:
    """Any core the generator can issue: any live distributor, cohort slot, seed, row, column."""
    dist = draw(st.sampled_from([d for d in sorted(DISTRIBUTORS) if not DISTRIBUTORS[d].ended]))
    b = block(dist, draw(st.integers(0, 99)), draw(st.integers(0, 99)))
    row = draw(st.sampled_from([*REGISTERED_ROWS, *UNREGISTERED_ROWS]))
    return b.cell(row, draw(st.integers(0, ROW_ITEMS - 1)))[0]


def corruptions(core: str) -> list[str]:
    """Every core that differs from ``core`` in exactly one digit (13 x 9 of them)."""
    return [core[:i] + d + core[i + 1 :] for i in range(13) for d in "0123456789" if d != core[i]]


@pytest.mark.parametrize("core", VALID)
def test_known_valid_cores(core: str) -> None:
    assert is_valid_mpan_core(core)
    assert mpan_core_problem(core) is None
    assert check_digit(core[:12]) == int(core[12])


def test_a_third_party_fixture_that_is_invalid() -> None:
    assert mpan_core_problem("1315001165123") == (
        "MPAN core '1315001165123' ends in check digit 3 but its first 12 digits give 2"
    )


@pytest.mark.parametrize(
    ("core", "fragment"),
    [
        (2000056535971, "not int"),
        (None, "not NoneType"),
        ("200005653597", "has 12 characters"),
        ("20000565359711", "has 14 characters"),
        ("20000565359 1", "contains ' '"),
        ("2000056535９71", "contains '９'"),  # a full-width digit: str.isdigit() says yes
        ("0900056535971", "distributor id '09'"),
        ("3900056535971", "distributor id '39'"),
        ("2000056535972", "ends in check digit 2 but its first 12 digits give 1"),
    ],
)
def test_each_problem_is_named(core: object, fragment: str) -> None:
    problem = mpan_core_problem(core)
    assert problem is not None and fragment in problem
    assert not is_valid_mpan_core(core)


@given(st.one_of(st.text(max_size=20), st.integers(), st.none(), st.binary(), st.floats()))
def test_validation_never_raises(value: object) -> None:
    assert is_valid_mpan_core(value) in (True, False)


@pytest.mark.parametrize("bad", ["12345678901", "1234567890123", "12345678901a", 123456789012])
def test_check_digit_refuses_bad_input(bad: object) -> None:
    with pytest.raises(ValueError, match="first 12 digits"):
        check_digit(bad)  # type: ignore[arg-type]


@given(first12s)
def test_check_digit_matches_the_mpan_package(first12: str) -> None:
    mpan = pytest.importorskip("mpan")
    core = first12 + str(check_digit(first12))
    assert mpan.is_valid(core)
    assert is_valid_mpan_core(core)
    wrong = first12 + str((check_digit(first12) + 1) % 10)
    assert not mpan.is_valid(wrong)
    assert not is_valid_mpan_core(wrong)


@given(generated_cores())
def test_every_generated_core_is_valid_with_a_nonzero_check_digit(core: str) -> None:
    assert mpan_core_problem(core) is None
    assert core[12] != "0"


@given(generated_cores())
def test_every_single_digit_corruption_of_a_generated_core_is_rejected(core: str) -> None:
    accepted = [c for c in corruptions(core) if is_valid_mpan_core(c)]
    assert accepted == []


def _predicted_misses(core: str) -> set[str]:
    """The corruptions the rule misses, by the argument in ``checkdigit``'s docstring: only
    when the check value moves between 0 and 10 (and the distributor id is still known)."""
    s = check_value(core[:12])
    misses = set()
    for i, w in enumerate(WEIGHTS):
        for d in range(10):
            delta = d - int(core[i])
            if delta and {s, (s + w * delta) % 11} == {0, 10}:
                candidate = core[:i] + str(d) + core[i + 1 :]
                if candidate[:2] in DISTRIBUTORS:
                    misses.add(candidate)
    return misses


@given(first12s)
def test_the_rule_misses_exactly_the_predicted_corruptions(first12: str) -> None:
    core = first12 + str(check_digit(first12))
    missed = {c for c in corruptions(core) if is_valid_mpan_core(c)}
    assert missed == _predicted_misses(core)
    if core[12] != "0":
        assert missed == set()


def test_a_check_digit_zero_core_can_hide_a_typo() -> None:
    # Check value 10 (digit 0); +1 on the digit weighted 23 (= 1 mod 11) moves it to 0 (digit 0).
    candidates = (f"12{n:010d}" for n in range(10**6))
    first12 = next(c for c in candidates if check_value(c) == 10 and c[6] != "9")
    core = first12 + "0"
    typo = core[:6] + str(int(core[6]) + 1) + core[7:]
    assert is_valid_mpan_core(core) and is_valid_mpan_core(typo) and core != typo


@pytest.mark.parametrize(
    ("mpan", "fragment"),
    [
        ("018012342000056535971", None),
        ("098012342000056535971", "profile class 09"),
        ("010002342000056535971", "meter timeswitch code 000"),
        ("0180123a2000056535971", "must be 21 characters"),
        ("01801234200005653597", "must be 21 characters"),
        ("018012342000056535972", "check digit"),
    ],
)
def test_full_mpan_problem(mpan: str, fragment: str | None) -> None:
    problem = full_mpan_problem(mpan)
    if fragment is None:
        assert problem is None
    else:
        assert problem is not None and fragment in problem
