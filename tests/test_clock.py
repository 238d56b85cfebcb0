"""The UK clock (CR036) in templates, and the `clock` step that moves the local simulator's clock.

``midnight`` is 00:00 UK clock time as a DIP timestamp with its offset; ``today``, ``tomorrow``
and ``yesterday`` are UK clock dates, so the four always agree. Fixed instants either side of both
clock changes of 2026 (BST from 01:00 UTC on 29 March to 01:00 UTC on 25 October).
"""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest

from mhhs_sit.core.yamlsrc import parse_yaml
from mhhs_sit.data.periods import period_count
from mhhs_sit.definitions import templating
from mhhs_sit.definitions.cohorts import load_cohorts
from mhhs_sit.definitions.environments import load_environment
from mhhs_sit.definitions.scenario_build import build_scenario
from mhhs_sit.errors import Problem, StepDefinitionError
from mhhs_sit.execution.case import CaseRun
from mhhs_sit.execution.engine import run_case
from mhhs_sit.execution.runtime import Runtime
from mhhs_sit.execution.steps import STEP_KINDS
from tests.helpers import appointment_scenario, copy_project, write


def _at(text: str) -> dict[str, object]:
    return templating.builtins(dt.datetime.fromisoformat(text))


@pytest.mark.parametrize(
    ("now", "today", "midnight"),
    [
        ("2026-01-15T12:00:00+00:00", "2026-01-15", "2026-01-15T00:00:00+00:00"),  # winter
        ("2026-03-28T23:30:00+00:00", "2026-03-28", "2026-03-28T00:00:00+00:00"),  # the night before spring
        ("2026-03-29T00:30:00+00:00", "2026-03-29", "2026-03-29T00:00:00+00:00"),  # the change day, still GMT
        ("2026-03-29T12:00:00+00:00", "2026-03-29", "2026-03-29T00:00:00+00:00"),  # the change day, BST now
        ("2026-03-29T23:30:00+00:00", "2026-03-30", "2026-03-30T00:00:00+01:00"),  # 00:30 BST: the UK date is ahead
        ("2026-07-01T09:00:00+00:00", "2026-07-01", "2026-07-01T00:00:00+01:00"),  # summer
        ("2026-10-24T23:30:00+00:00", "2026-10-25", "2026-10-25T00:00:00+01:00"),  # 00:30 BST on the autumn day
        ("2026-10-25T12:00:00+00:00", "2026-10-25", "2026-10-25T00:00:00+01:00"),  # the change day, GMT now
        ("2026-10-26T00:30:00+00:00", "2026-10-26", "2026-10-26T00:00:00+00:00"),  # winter again
        ("2026-07-01T23:59:59+01:00", "2026-07-01", "2026-07-01T00:00:00+01:00"),  # a local instant, read as UK time
    ],
)
def test_midnight_is_uk_clock_midnight_and_today_the_uk_date(now, today, midnight):
    values = _at(now)
    assert values["today"] == today
    assert values["midnight"] == midnight
    assert values["midnight"][:10] == values["today"]
    day = dt.date.fromisoformat(today)
    assert values["tomorrow"] == (day + dt.timedelta(days=1)).isoformat()
    assert values["yesterday"] == (day - dt.timedelta(days=1)).isoformat()
    assert values["now"] == dt.datetime.fromisoformat(now).astimezone(dt.UTC).isoformat()  # the DIP's UTC stamp


@pytest.mark.parametrize(("day", "periods"), [("2026-03-29", 46), ("2026-10-25", 50), ("2026-07-01", 48)])
def test_from_midnight_to_the_next_midnight_is_the_settlement_day_of_46_48_or_50_periods(day, periods):
    """``midnight`` of a day and of the next bound the BSC settlement day ``periods`` computes."""
    start = dt.datetime.fromisoformat(str(_at(f"{day}T12:00:00+00:00")["midnight"]))
    end = dt.datetime.fromisoformat(str(_at(f"{_at(f'{day}T12:00:00+00:00')['tomorrow']}T12:00:00+00:00")["midnight"]))
    assert (end - start) / dt.timedelta(minutes=30) == periods == period_count(dt.date.fromisoformat(day), "local")


def test_midnight_agrees_with_the_tz_database_on_every_day_of_two_years():
    """Every UTC hour of 2026-2027 against ``zoneinfo`` Europe/London."""
    try:
        london = ZoneInfo("Europe/London")
    except ZoneInfoNotFoundError:
        pytest.skip("no tz database on this machine (periods.py checks its own rule)")
    moment = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    while moment.year < 2028:
        local = moment.astimezone(london)
        expected = dt.datetime.combine(local.date(), dt.time(), london)
        values = templating.builtins(moment)
        assert (values["today"], values["midnight"]) == (local.date().isoformat(), expected.isoformat()), moment
        moment += dt.timedelta(hours=1)


@pytest.mark.parametrize(
    ("value", "midnight"),
    [
        ("2026-03-29", "2026-03-29T00:00:00+00:00"),
        ("2026-03-30", "2026-03-30T00:00:00+01:00"),
        ("2026-10-25T12:00:00+00:00", "2026-10-25T00:00:00+01:00"),
        ("2026-10-26", "2026-10-26T00:00:00+00:00"),
    ],
)
def test_the_midnight_filter_gives_a_dates_uk_clock_midnight(value, midnight):
    assert templating.render("{{ day | midnight }}", {"day": value}) == midnight
    assert (
        templating.render("{{ day | plus_days(1) | midnight }}", {"day": "2026-03-29"}) == "2026-03-30T00:00:00+01:00"
    )


# ---- the clock step ------------------------------------------------------------------------------

CLOCK_SCENARIO = """\
scenario: S-CLOCK
title: clock
stage: sit-functional
theme: 1
roles: [SUP]
cases:
  - id: MOVES
    title: moves the clock
    steps:
      - clock: {body}
"""


def _load(body: str) -> tuple[object, list[Problem]]:
    return build_scenario(parse_yaml(CLOCK_SCENARIO.format(body=body), "s.yaml"), STEP_KINDS)


@pytest.mark.parametrize(
    "body",
    [
        "{advance: 2d}",
        "{advance: 90m}",
        "{advance: 3600}",
        '{set: "2026-04-01T00:00:00+01:00"}',
        "{set: 2026-10-25T00:00:00+01:00}",  # unquoted: YAML may read it as a timestamp
        '{set: "2026-04-01T00:00:00Z"}',
        '{set: "{{ tomorrow | midnight }}"}',  # a template: checked when it runs
    ],
)
def test_a_valid_clock_step_loads(body):
    scenario, problems = _load(body)
    assert problems == [] and scenario is not None


@pytest.mark.parametrize(
    ("body", "path", "says"),
    [
        ("{}", "cases[0].steps[0].clock", ""),  # the schema: at least one key
        ("{advance: 2d, set: '2026-04-01T00:00:00+01:00'}", "cases[0].steps[0].clock", "exactly one of advance, set"),
        ("{advance: 2x}", "cases[0].steps[0].clock.advance", "'2x' is not a duration; write e.g. 2d, 6h, 90m or 30s"),
        ("{advance: 0}", "cases[0].steps[0].clock.advance", "the clock only moves forward"),
        ("{set: '2026-04-01T00:00:00'}", "cases[0].steps[0].clock.set", "has no offset"),
        ("{set: 'next Tuesday'}", "cases[0].steps[0].clock.set", "is not a timestamp"),
        ("{adavnce: 2d}", "cases[0].steps[0].clock.adavnce", "unknown key"),
        ("{reset: true}", "cases[0].steps[0].clock.reset", "unknown key"),  # the control API's, not a step's
        ("2d", "cases[0].steps[0].clock", ""),
    ],
)
def test_a_bad_clock_step_is_a_problem_at_its_file_line_and_field(body, path, says):
    _, problems = _load(body)
    assert problems, body
    assert all(p.file == "s.yaml" and p.line == 10 for p in problems), problems
    assert any(p.path == path and says in p.message for p in problems), problems


def test_a_clock_step_binds_its_cohort_and_runs_alone():
    kind = STEP_KINDS["clock"]
    assert kind.exclusive({"advance": "2d"}) and kind.binds_cohort({"advance": "2d"})
    assert kind.title({"advance": "2d"}) == "simulation clock: advance 2d"


def test_a_clock_step_outside_the_local_simulator_is_broken_with_the_reason(tmp_path):
    """Against SIT-A/B (``stubs: none``) nothing is sent: the step says why it cannot run."""
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "sit.yaml").write_text(
        "environment: sit\nenvironment_tag: SIT\nstubs: none\ndip_url: http://127.0.0.1:9\n"
    )
    (tmp_path / "cohorts").mkdir()
    (tmp_path / "cohorts" / "c1.yaml").write_text(
        "cohort: C1\nparticipants:\n  SUP: {mpid: SUPA, dip_id: SUP0000001}\n"
    )
    env, problems = load_environment("sit", tmp_path / "envs", tmp_path)
    assert not problems and env is not None
    cohorts, problems = load_cohorts(tmp_path / "cohorts", tmp_path)
    assert not problems
    scenario, problems = _load("{advance: 2d}")
    assert not problems and scenario is not None
    runtime = Runtime(environment=env, dip_url="http://127.0.0.1:9", cohorts=cohorts, run_id="r1")
    run = CaseRun(runtime, scenario, scenario.cases[0], cohorts["C1"])  # type: ignore[attr-defined]
    with pytest.raises(StepDefinitionError, match=r"a clock step needs the local simulator .* stubs: none"):
        run_case(run)
    assert [s.status for s in run.record.steps] == ["definition error"]  # the test cannot run here


# ---- end to end against the real embedded simulator (nothing mocked) ------------------------------


@pytest.fixture
def project(pytester):
    return copy_project(pytester.path, themes=False)


def run(pytester, *args):
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=120)


SUMMER_CHECKS = """
- expect:
    at: SUP
    interface: IF-035
    event: DSAppAccepted
    within: 10s
    where: {M0.MPANCore: "{{ mpan }}"}
  save: {stamped: D0.transactionTimestamp, sent: S1.senderTimestamp, from: B071.proposedDataServiceDIPEffectiveFromDate}
- assert:
    - {value: "{{ today }}", eq: "2026-07-01"}
    - {value: "{{ midnight }}", eq: "2026-07-01T00:00:00+01:00"}
    - {value: "{{ from }}", eq: "2026-07-01T00:00:00+01:00"}
    - {value: "{{ stamped }}", startswith: "2026-07-01T08:"}
    - {value: "{{ sent }}", startswith: "2026-07-01T08:"}
- clock: {advance: 2d}
- http:
    url: /_sim/clock
    expect: {status: 200, json: {today: "2026-07-03", simulated: true}}
- assert:
    - {value: "{{ tomorrow }}", eq: "2026-07-04"}
"""


def test_a_clock_step_moves_the_simulators_clock_for_its_case_only(pytester, project):
    """Set to a summer morning: the case's {{ midnight }} and what the simulated roles stamp are in
    that time; advanced two days; the next case finds the clock back on real time."""
    moved = appointment_scenario("T-20-001", SUMMER_CHECKS).replace(
        "    steps:\n", '    steps:\n      - clock: {set: "2026-07-01T09:00:00+01:00"}\n', 1
    )
    write(project, "test_themes/a_clock.yaml", moved)
    after = """
        - http:
            url: /_sim/clock
            expect: {status: 200, json: {simulated: false, offsetSeconds: 0}}
    """
    write(project, "test_themes/b_after.yaml", appointment_scenario("T-20-002", after))
    result = run(pytester, "-q", "--cohort", "C1", "-p", "no:randomly", "--mhhs-results", "out/results.json")
    result.assert_outcomes(passed=2)
    cases = {c["case"]: c for c in json.loads((pytester.path / "out" / "results.json").read_text())["cases"]}
    steps = cases["T-20-001-TC01"]["steps"]
    assert steps[0]["title"] == "simulation clock: set 2026-07-01T09:00:00+01:00" and steps[0]["status"] == "passed"


def test_a_bad_clock_step_is_a_definition_error_at_its_line(pytester, project):
    bad = appointment_scenario("T-20-003").replace("    steps:\n", "    steps:\n      - clock: {advance: 2 days}\n", 1)
    write(project, "test_themes/bad_clock.yaml", bad)
    result = run(pytester, "-q", "--cohort", "C1")
    out = result.stdout.str()
    assert "test_themes/bad_clock.yaml:" in out and "[cases[0].steps[0].clock.advance]" in out
    assert "is not a duration; write e.g. 2d, 6h, 90m or 30s" in out
    assert "Traceback" not in out


FUTURE_DATED = """
- expect:
    at: SUP
    interface: IF-036
    event: DSAppActive
    within: 10s
    where: {M0.MPANCore: "{{ mpan }}", B015.incomingDataServiceEffectiveFromDate: "{{ tomorrow | midnight }}"}
- http:
    url: "/_sim/appointments/{{ mpan }}"
    expect:
      status: 200
      json: {appointed.SDS: {exists: false}, "pending[0].dipId": "{{ cohort.SDS.dip_id }}", pending: {length: 1}}
- clock: {advance: 2d}
- http:
    url: "/_sim/appointments/{{ mpan }}"
    expect:
      status: 200
      json: {appointed.SDS: "{{ cohort.SDS.dip_id }}", pending: {length: 0}}
"""


def test_a_future_dated_appointment_routes_to_the_new_service_once_the_clock_step_reaches_it(pytester, project):
    """The supplier appoints its data service from tomorrow's UK midnight: accepted and announced
    now, in the DIP's routing only after ``clock: {advance: 2d}``."""
    scenario = appointment_scenario("T-20-004", FUTURE_DATED).replace(
        'proposedDataServiceDIPEffectiveFromDate: "{{ midnight }}"',
        'proposedDataServiceDIPEffectiveFromDate: "{{ tomorrow | midnight }}"',
    )
    assert "{{ tomorrow | midnight }}" in scenario
    write(project, "test_themes/future.yaml", scenario)
    result = run(pytester, "-q", "--cohort", "C1")
    result.assert_outcomes(passed=1)
