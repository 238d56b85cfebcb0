"""The simulator's timers: a timer runs when the simulation clock reaches it (moved or running on
in real time), in date order, once; a later timer under the same key replaces it; a timer that
sets a due timer has it run in the same pass; and a rule's ``schedule`` is checked at load with
file, line and key."""

from __future__ import annotations

import asyncio
import datetime as dt
import textwrap

import pytest

from mhhs_sit.core.clock_change import ClockChange
from mhhs_sit.errors import DefinitionError
from mhhs_stubs.clock import SimClock
from mhhs_stubs.rule_files import load_rules
from mhhs_stubs.scheduler import Scheduler, Timer

START = dt.datetime(2026, 3, 28, 12, 0, tzinfo=dt.UTC).timestamp()


class Frozen:
    """Real time that stands still unless the test moves it."""

    def __init__(self) -> None:
        self.t = START

    def __call__(self) -> float:
        return self.t


def scheduler() -> tuple[SimClock, Scheduler, list[Timer]]:
    clock = SimClock(real=Frozen())
    ran: list[Timer] = []
    return clock, Scheduler(clock, ran.append), ran


def test_a_timer_runs_once_when_the_clock_passes_it_and_timers_run_in_date_order():
    clock, timers, ran = scheduler()
    timers.add(START + 3 * 86400, "2200000101", "Later")
    timers.add(START + 86400, "2200000101", "Sooner", data={"n": 1}, where={"MPANCore": "1000000000015"})
    clock.change(ClockChange(advance=dt.timedelta(hours=23)))
    assert ran == [] and [t.trigger for t in timers.ahead()] == ["Sooner", "Later"]
    clock.change(ClockChange(advance=dt.timedelta(days=5)))
    assert [t.trigger for t in ran] == ["Sooner", "Later"]
    assert ran[0].data == {"n": 1} and ran[0].where == {"MPANCore": "1000000000015"}
    assert ran[0].due == "2026-03-29T12:00:00+00:00"
    clock.change(ClockChange(advance=dt.timedelta(days=5)))
    assert len(ran) == 2 and len(timers) == 0


def test_a_timer_under_a_key_replaces_the_one_set_before_it():
    clock, timers, ran = scheduler()
    timers.add(START + 86400, "2200000101", "Run", key="RUN:2026-03-28:SF", data={"first": True})
    timers.add(START + 2 * 86400, "2200000101", "Run", key="RUN:2026-03-28:SF", data={"first": False})
    timers.add(START + 86400, "2200000101", "Run", key="RUN:2026-03-28:R1")
    assert [t.key for t in timers.ahead()] == ["RUN:2026-03-28:R1", "RUN:2026-03-28:SF"]
    clock.change(ClockChange(set=dt.datetime(2026, 4, 10, tzinfo=dt.UTC)))
    assert [(t.key, t.data) for t in ran] == [("RUN:2026-03-28:R1", {}), ("RUN:2026-03-28:SF", {"first": False})]


def test_a_timer_that_sets_a_due_timer_has_it_run_in_the_same_pass():
    clock = SimClock(real=Frozen())
    ran: list[str] = []

    def run(timer: Timer) -> None:
        ran.append(timer.trigger)
        if timer.trigger == "SettlementRun":  # VAS's run hands its results to ECS at once
            chain.add(clock.now().timestamp(), "2000000606", "PublishReports")

    chain = Scheduler(clock, run)
    chain.add(START + 60, "1900000606", "SettlementRun")
    clock.change(ClockChange(advance=dt.timedelta(minutes=2)))
    assert ran == ["SettlementRun", "PublishReports"]


def test_timers_for_one_party_are_listed_without_the_others():
    _, timers, _ = scheduler()
    timers.add(START + 60, "A000000001", "X", source="rules/x.yaml:3")
    timers.add(START + 60, "B000000002", "Y")
    assert [t.as_dict() for t in timers.ahead("A000000001")] == [
        {"trigger": "X", "dipId": "A000000001", "due": "2026-03-28T12:01:00+00:00", "key": None,
         "setBy": "rules/x.yaml:3"}
    ]  # fmt: skip


def test_a_timer_runs_when_real_time_reaches_it_without_the_clock_being_moved():
    clock = SimClock()  # real time
    ran: list[str] = []

    async def main() -> None:
        timers = Scheduler(clock, lambda t: ran.append(t.trigger))
        timers.add(clock.now().timestamp() + 0.2, "2200000101", "Soon")
        timers.add(clock.now().timestamp() + 3600, "2200000101", "InAnHour")
        await asyncio.sleep(0.05)
        assert ran == []
        await asyncio.sleep(0.4)

    asyncio.run(main())
    assert ran == ["Soon"]


@pytest.mark.parametrize(
    ("timer", "says"),
    [
        ("{trigger: Lapse}", "exactly one of 'at' (an instant) or 'after'"),
        ("{trigger: Lapse, after: 5d, at: '2026-01-01T00:00:00+00:00'}", "given: at, after"),
        ("{trigger: Lapse, after: five days}", "'five days' is not a duration"),
        ("{trigger: two words, after: 5d}", "a timer names the trigger it fires"),
        ("{trigger: Lapse, after: 5d, when: soon}", "unknown key 'when' in a timer"),
        ("{trigger: Lapse, after: 5d, data: [1]}", "a timer's 'data' is a mapping"),
        ("{trigger: Lapse, after: '{{ nonsense.x }}'}", "names 'nonsense', which rules do not define"),
        ("[1]", "each timer is a mapping"),
    ],
)
def test_a_bad_timer_is_reported_with_its_file_line_and_key(tmp_path, timer, says):
    (tmp_path / "regs.yaml").write_text(
        textwrap.dedent(f"""\
            role: REGS
            rules:
              - name: sets a timer
                when: {{interface: IF-031}}
                schedule: {timer}
        """)
    )
    with pytest.raises(DefinitionError) as caught:
        load_rules(tmp_path)
    text = str(caught.value)
    assert says in text, text
    assert "regs.yaml:5" in text, text


def test_timers_are_bounded_and_replaced_ones_do_not_pile_up():
    clock = SimClock(real=Frozen())
    timers = Scheduler(clock, lambda t: None, limit=3)
    assert all(timers.add(START + 60 * n, "X", "T", key=f"K{n}") for n in range(3))
    assert timers.add(START + 600, "X", "T") is None  # full
    assert timers.add(START + 600, "X", "T", key="K0") is not None  # a replacement is always set
    assert [t.key for t in timers.ahead()] == ["K1", "K2", "K0"]
    many = Scheduler(clock, lambda t: None)
    for n in range(5000):  # one MPAN's lapse timer replaced again and again
        many.add(START + n, "X", "AppointmentLapse", key="LAPSE:MS:1000000000015")
    assert len(many) == 1 and len(many._ahead) <= 1025
