"""``mhhs-sit new step`` writes, for every interface and event with a full schema, a send step whose
message, built as a run builds it (the scenario loaded, the case's data drawn, the step rendered
and built by the ``send`` step), has exactly the blocks its event has and breaks no rule of its
schema, and which ``mhhs-sit validate`` accepts in a scenario. An interface no scenario role can
send is refused by the command, and its pairs are skipped with that reason, named below."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from mhhs_sit.catalogue import load_catalogue
from mhhs_sit.definitions.cohorts import load_cohorts
from mhhs_sit.definitions.environments import load_environment
from mhhs_sit.definitions.model import Cohort, Scenario
from mhhs_sit.definitions.payloads import check_message
from mhhs_sit.definitions.scaffold import first_sender, send_step
from mhhs_sit.definitions.scenario_cache import load_scenario_file
from mhhs_sit.definitions.schemas import ROLES
from mhhs_sit.dip.envelope import BUILT_BLOCKS
from mhhs_sit.errors import ConfigError
from mhhs_sit.execution.case import CaseRun
from mhhs_sit.execution.engine import prepare_case
from mhhs_sit.execution.runtime import Runtime
from mhhs_sit.execution.steps import STEP_KINDS
from mhhs_sit.execution.steps.base import rendered
from mhhs_sit.execution.steps.send import SendSpec, build
from tests.helpers import copy_project

CATALOGUE = load_catalogue()
VERSION = CATALOGUE.default_version
PAIRS = [
    (iface.id, event, first_sender(iface.senders))
    for iface in CATALOGUE.interfaces
    if iface.detail == "full"
    for event in iface.event_codes(VERSION)
]
SENDABLE = [(interface, event, role) for interface, event, role in PAIRS if role is not None]
ONLY_THE_DIP_SENDS = {"IF-016"}  # the DIP forwards the data service's consumption (S2: the original sender)


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mhhs_sit.cli.app", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def case_id(n: int) -> str:
    return f"SITNEW-{n:03d}"


@dataclass(frozen=True)
class Project:
    root: Path
    scenario: Scenario
    runtime: Runtime
    cohort: Cohort


def _every_role_cohort() -> str:
    """A cohort with a participant for every role a scenario can act as, so any sender can send."""
    lines = [
        f'  {role}: {{mpid: Z{chr(65 + n)}ZZ, dip_id: "99000001{n:02d}"'
        + (', distributor: "10"}' if role in {"LDSO", "REGS"} else "}")
        for n, role in enumerate(ROLES)
    ]
    return "cohort: CALL\ntitle: every role\ndata_slot: 90\nparticipants:\n" + "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A project whose one scenario has a case per sendable pair: that pair's scaffolded step."""
    root = copy_project(tmp_path_factory.mktemp("new-step"), themes=False)
    (root / "cohorts" / "CALL.yaml").write_text(_every_role_cohort(), encoding="utf-8")
    roles = sorted({role for *_, role in SENDABLE if role})
    cases = "".join(
        f"  - id: {case_id(n)}\n    title: {interface} {event}\n    data:\n      mpan: {{draw: mpan}}\n    steps:\n"
        + textwrap.indent(send_step(interface, event, role, None), " " * 6)
        for n, (interface, event, role) in enumerate(SENDABLE)
    )
    head = f"scenario: SITNEW\ntitle: scaffolded\nstage: sit-functional\ntheme: 9\nroles: [{', '.join(roles)}]\n"
    (root / "test_themes").mkdir()
    path = root / "test_themes" / "new.yaml"
    path.write_text(head + "cases:\n" + cases, encoding="utf-8")
    scenario, problems = load_scenario_file(path, STEP_KINDS, version=VERSION)
    assert scenario is not None and problems == [], problems
    env, problems = load_environment("local", root / "environments", root)
    cohorts, more = load_cohorts(root / "cohorts", root)
    assert env is not None and not problems + more
    runtime = Runtime(environment=env, dip_url="http://127.0.0.1:9", cohorts=cohorts, run_id="r1", version=VERSION)
    return Project(root, scenario, runtime, cohorts["CALL"])


def test_every_full_interface_and_event_is_covered_and_only_the_dips_are_left_out() -> None:
    assert len(PAIRS) == sum(len(i.event_codes(VERSION)) for i in CATALOGUE.interfaces) >= 146
    assert {interface for interface, _, role in PAIRS if role is None} == ONLY_THE_DIP_SENDS


@pytest.mark.parametrize(("interface", "event", "role"), PAIRS, ids=[f"{i}-{e}" for i, e, _ in PAIRS])
def test_the_scaffolded_message_has_its_events_blocks_and_meets_its_schema(
    project: Project, interface: str, event: str, role: str | None
) -> None:
    if role is None:
        with pytest.raises(ConfigError, match="which no scenario can act as") as refused:
            send_step(interface, event, None, None)
        pytest.skip(str(refused.value))
    case = project.scenario.cases[SENDABLE.index((interface, event, role))]
    assert case.id.startswith("SITNEW-") and case.title == f"{interface} {event}"
    run = CaseRun(project.runtime, project.scenario, case, project.cohort)
    prepare_case(run)  # the case's data drawn, as a run draws it
    spec = SendSpec.parse(rendered(run, case.steps[0]))
    assert not spec.refusal_expected  # the blocks the event requires make an ordinary send, checked as one
    message, _ = build(run, spec)
    assert check_message(message, interface, VERSION) == []
    schema = CATALOGUE.schema(interface, event, version=VERSION)
    common = schema["properties"]["CommonBlock"]
    built = set(BUILT_BLOCKS - {"M0"}) | set(common["required"])
    assert set(message["CommonBlock"]) == built, "exactly the blocks the event requires (and A0)"
    assert ("CustomBlock" in message) == ("CustomBlock" in schema["properties"])


def test_validate_accepts_every_scaffolded_step(project: Project) -> None:
    run = cli("validate", "--ir", VERSION, cwd=project.root)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr


def test_the_command_prints_the_step_and_refuses_unknown_values_in_one_line() -> None:
    run = cli("new", "step", "--interface", "IF-031", "--event", "DSApp", "--as", "SUP")
    assert run.returncode == 0, run.stderr
    assert (
        '        proposedDataServiceDIPID: "{{ cohort.SDS.dip_id }}"  # a DIP participant id of exactly 10'
        in run.stdout
    )
    for args, line in (
        (
            ["--interface", "IF-031", "--event", "DSAp"],
            "--event: IF-031 has no event [DSAp] in 2.1.0 (did you mean 'DSApp'?)",
        ),
        (["--interface", "IF-035", "--event", "DSAppAccepted", "--as", "SUP"], "--as: SUP may not send IF-035"),
        (["--interface", "IF-0355", "--event", "X"], "--interface: unknown interface 'IF-0355'; did you mean IF-035"),
        (
            ["--interface", "IF-016", "--event", "ActivePower"],
            "--interface: IF-016 is sent only by DIP, which no scenario can act as",
        ),
        (["--interface", "IF-016", "--event", "ActivePower", "--as", "DIP"], "--as: DIP is not a role a scenario"),
    ):
        bad = cli("new", "step", *args)
        assert bad.returncode == 2 and line in bad.stderr and len(bad.stderr.strip().splitlines()) == 1, bad.stderr


def test_the_step_writes_the_blocks_its_event_has_through_the_send_steps_keys() -> None:
    """M1 and R0 under common: (no mpan: where M0 is not allowed); R0 for a report-like answer; no
    custom: where the event carries no CustomBlock; an optional block named in a comment."""
    linked = send_step("IF-020", "RelatedAdd", "LDSO", None)
    assert "mpan:" not in linked
    assert '      M1:\n        principalMPAN: "{{ mpan }}"  # a 13-digit MPAN core' in linked
    assert '        distributorDIPID: "{{ cohort.LDSO.dip_id }}"' in linked
    assert '      R0:\n        responseCode: "A"  # one of A, R, L, W, x' in linked
    removal = send_step("IF-039", "DirectContractMSRemove", None, None)
    assert '    mpan: "{{ mpan }}"' in removal and "      R0:\n" in removal and "custom:" not in removal
    answer = send_step("IF-032", "MSAppInitialResp", None, None)
    assert "event: MSAppInitialResp  # optional common block R0: add under common:" in answer
    assert "\n    common:" not in answer


def _run_scenario(pytester: pytest.Pytester, step: str, then: str = "", data: str = "") -> pytest.RunResult:
    """One case for C2 (whose supplier and data service the framework plays): ``step``, then ``then``."""
    copy_project(pytester.path, themes=False)
    steps = textwrap.indent(step + textwrap.dedent(then), " " * 6)
    (pytester.path / "test_themes").mkdir()
    (pytester.path / "test_themes" / "r0.yaml").write_text(
        "scenario: SITNEW-R0\ntitle: a block the event requires, under common\nstage: sit-functional\ntheme: 9\n"
        f"roles: [{'SDS, SUP' if then else 'SDS'}]\ncases:\n  - id: SITNEW-R0-TC01\n    title: amendment answered\n"
        f"    data:\n      mpan: {{draw: mpan}}\n{data}    steps:\n{steps}",
        encoding="utf-8",
    )
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", "--cohort", "C2", timeout=120)


def test_a_scaffolded_step_with_an_r0_block_is_sent_and_delivered_with_it(pytester: pytest.Pytester) -> None:
    step = send_step("IF-028", "ConsumptionAmendment", "SDS", None)
    then = """
    - expect:
        at: SUP
        interface: IF-028
        event: ConsumptionAmendment
        within: 10s
        where: {M0.MPANCore: "{{ mpan }}", R0.responseCode: A, "R0.responseMessages[0]": TEST}
    """
    result = _run_scenario(pytester, step, then)
    result.assert_outcomes(passed=1)


def test_a_wrong_value_in_an_added_block_is_caught_before_the_message_is_sent(pytester: pytest.Pytester) -> None:
    step = send_step("IF-028", "ConsumptionAmendment", "SDS", None)
    result = _run_scenario(pytester, step.replace('"A"  # one of', '"{{ code }}"  # one of'), data="      code: Z\n")
    out = result.stdout.str()
    assert result.ret == 1 and "1 definition error" in out, out
    assert "the message this step builds breaks spec version 1.8.2: /CommonBlock/R0/responseCode" in out, out
    assert "CommonBlock.R0.responseCode is 'Z'" in out
