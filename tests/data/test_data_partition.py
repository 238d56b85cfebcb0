"""Partitioning: cohorts, seeds, streams and workers never share a core; a seed repeats exactly."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mhhs_sit.data import check_cohort_indices, cohort_index_for, describe_core, is_valid_mpan_core
from mhhs_sit.data.generate import iter_core_chunks, iter_cores
from mhhs_sit.data.partition import (
    REGISTERED_ROWS,
    ROW_ITEMS,
    ROWS,
    UNREGISTERED_ROWS,
    block,
    check_seed,
)
from mhhs_sit.data.sequence import make_stream
from mhhs_sit.errors import ConfigError

LIVE = ["10", "12", "17", "19", "23", "24", "31", "38"]


@pytest.mark.parametrize(("cohort", "slot"), [("MVC", 0), ("C1", 1), ("C3", 3), ("C49", 49)])
def test_canonical_cohorts_own_their_slot(cohort: str, slot: int) -> None:
    assert cohort_index_for(cohort) == slot
    assert cohort_index_for(cohort, slot) == slot


def test_a_canonical_cohort_cannot_take_another_slot() -> None:
    with pytest.raises(ConfigError, match="C3 owns data slot 3"):
        cohort_index_for("C3", 5)


@pytest.mark.parametrize("cohort", ["C50", "C0", "C03", "cohort-a", "c3"])
def test_other_cohorts_need_an_explicit_slot_in_50_to_99(cohort: str) -> None:
    with pytest.raises(ConfigError, match="explicit data slot in 50-99"):
        cohort_index_for(cohort)
    with pytest.raises(ConfigError, match="must be in 50-99"):
        cohort_index_for(cohort, 7)
    assert cohort_index_for(cohort, 77) == 77


def test_two_cohorts_on_one_slot_are_refused() -> None:
    assert check_cohort_indices({"C1": None, "MVC": 0, "north": 50}) == {
        "C1": 1,
        "MVC": 0,
        "north": 50,
    }
    with pytest.raises(ConfigError, match="north and south both use data slot 50"):
        check_cohort_indices({"north": 50, "south": 50})


@pytest.mark.parametrize("seed", [-1, 100, 1.0, True, "3"])
def test_seed_must_be_a_slot(seed: object) -> None:
    with pytest.raises(ConfigError, match="0 to 99"):
        check_seed(seed)


def test_a_whole_block_is_unique_valid_and_never_uses_check_digit_zero() -> None:
    b = block("12", 3, 0)
    cores = [r.prefix + tail for r in map(b.row, range(ROWS)) for tail in r.tails]
    assert len(cores) == ROWS * ROW_ITEMS == len(set(cores))
    assert all(c.startswith("120300") and c[12] != "0" for c in cores)
    assert all(is_valid_mpan_core(c) for c in cores[:: ROW_ITEMS + 1])  # one per row, skewed


@settings(max_examples=200)
@given(
    st.sampled_from(LIVE),
    st.integers(0, 99),
    st.integers(0, 99),
    st.integers(0, ROWS - 1),
    st.integers(0, ROW_ITEMS - 1),
)
def test_locate_inverts_cell(dist: str, cohort: int, seed: int, row: int, col: int) -> None:
    b = block(dist, cohort, seed)
    core, high, low = b.cell(row, col)
    assert b.row(row).prefix + b.row(row).tails[col] == core
    assert core[6:9] == f"{high:03d}" and core[9:12] == f"{low:03d}"
    assert b.locate(core) == (row, col)
    origin = describe_core(core)
    assert origin is not None
    assert (origin.distributor_id, origin.cohort_index, origin.seed) == (dist, cohort, seed)


def test_describe_core_refuses_what_no_block_issues() -> None:
    assert describe_core("1312345678900") is None  # check digit 0
    assert describe_core("not a core") is None


configs = st.tuples(
    st.integers(0, 99),  # cohort slot
    st.integers(0, 99),  # seed
    st.booleans(),  # registered
    st.integers(1, 4),  # workers
).flatmap(lambda c: st.tuples(st.just(c), st.integers(0, c[3] - 1)))


@settings(max_examples=60, deadline=None)
@given(configs, configs, st.lists(st.sampled_from(LIVE), min_size=1, max_size=3, unique=True))
def test_different_cohorts_seeds_streams_or_workers_never_share_a_core(a: tuple, b: tuple, dists: list[str]) -> None:
    (slot_a, seed_a, reg_a, workers_a), worker_a = a
    (slot_b, seed_b, reg_b, workers_b), worker_b = b
    same_stream = (slot_a, seed_a, reg_a) == (slot_b, seed_b, reg_b)
    if same_stream and workers_a != workers_b:
        return  # one run has one worker count; workers are only disjoint within it
    sa = make_stream(slot_a, dists, seed_a, registered=reg_a, worker=worker_a, workers=workers_a)
    sb = make_stream(slot_b, dists, seed_b, registered=reg_b, worker=worker_b, workers=workers_b)
    first_a = list(iter_cores(sa, 3000))
    first_b = list(iter_cores(sb, 3000))
    assert len(set(first_a)) == 3000
    if a == b:
        assert first_a == first_b  # the same seed gives the same data
    else:
        assert not set(first_a) & set(first_b)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 5), st.integers(0, 5000), st.lists(st.sampled_from(LIVE), min_size=1,
       max_size=4, unique=True))  # fmt: skip
def test_workers_split_what_generate_writes_for_the_whole_cohort(workers: int, count: int, dists: list[str]) -> None:
    whole = list(iter_cores(make_stream(3, dists, 7), count))
    streams = [make_stream(3, dists, 7, worker=w, workers=workers) for w in range(workers)]
    shares = [list(iter_cores(s, len(whole[w::workers]))) for w, s in enumerate(streams)]
    for w, share in enumerate(shares):
        assert share == whole[w::workers]


def test_distributor_order_does_not_matter() -> None:
    assert list(iter_cores(make_stream(3, ["19", "12"], 0), 2000)) == list(
        iter_cores(make_stream(3, ["12", "19", "12"], 0), 2000)
    )


def test_the_canonical_order_round_robins_distributors() -> None:
    cores = list(iter_cores(make_stream(3, ["12", "19", "24"], 0), 12))
    assert [c[:2] for c in cores] == ["12", "19", "24"] * 4


def test_stream_positions_and_index_of_agree() -> None:
    stream = make_stream(8, ["10", "11", "12"], 2, worker=1, workers=3)
    for t in (0, 1, 817, 818, 5000, stream.capacity - 1):
        b, row, col = stream.position(t)
        assert stream.index_of(b, row, col) == t
    with pytest.raises(IndexError):
        stream.position(stream.capacity)


def test_registered_and_unregistered_rows_split_every_block() -> None:
    assert REGISTERED_ROWS.stop == UNREGISTERED_ROWS.start and UNREGISTERED_ROWS.stop == ROWS
    registered = make_stream(3, ["12"], 0)
    assert registered.capacity == 654_400
    assert make_stream(3, ["12"], 0, registered=False).capacity == 163_600
    assert make_stream(3, ["12"], 0, worker=2, workers=3).capacity == 654_400 // 3


def test_asking_for_more_than_a_stream_holds_is_refused_up_front() -> None:
    with pytest.raises(ConfigError, match="holds 654,400"):
        iter_core_chunks(make_stream(3, ["12"], 0), 654_401)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"distributor_ids": ["28"]}, "stopped issuing MPANs on 2014-12-17"),
        ({"distributor_ids": ["40"]}, "unknown distributor id '40'"),
        ({"distributor_ids": []}, "at least one distributor"),
        ({"distributor_ids": "12"}, "not one string"),
        ({"worker": 2, "workers": 2}, "worker must be in 0..workers-1"),
        ({"cohort_index": 100}, "cohort slot must be an integer 0-99"),
    ],
)
def test_bad_stream_arguments(kwargs: dict, message: str) -> None:
    args = {"cohort_index": 3, "distributor_ids": ["12"], "seed": 0, **kwargs}
    with pytest.raises(ConfigError, match=message):
        make_stream(args.pop("cohort_index"), args.pop("distributor_ids"), args.pop("seed"), **args)
