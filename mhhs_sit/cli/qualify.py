"""``mhhs-sit qualify``: a participant's own system under test, while the framework is everyone else.

One command for a qualification session. The simulator starts with every role of the
participant's cohort but the one under test: the roles the qualification scenarios send as (the
driving roles) are played by the framework, the others are simulated. It prints what the
participant's system must be configured with, waits (with a countdown) until that system has
registered its webhooks with the simulator, then runs the role's qualification scenarios as
``mhhs-sit run`` does, against the ``<role>-qualification`` environment, whose URL and secrets
this command hands over in environment variables.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from mhhs_sit.cli.app import add_run_arguments, cmd_run
from mhhs_sit.cli.brought_certs import OPTION, given_pairs, with_brought_certs
from mhhs_sit.cli.common import guarded, project_of, shown
from mhhs_sit.cli.qualify_plan import Needs, SystemUnderTest, find_system, scenario_folder, scenario_needs
from mhhs_sit.cli.rttm import add_qualification_options, load_qualification
from mhhs_sit.cli.stubs import SIGNING_MODES, SIGNING_NOTE, _webhook_hosts
from mhhs_sit.core.durations import parse_duration
from mhhs_sit.core.yamlsrc import load_yaml
from mhhs_sit.definitions.model import Cohort, Environment
from mhhs_sit.errors import ConfigError, render_problems
from mhhs_sit.project import Project

if TYPE_CHECKING:
    from mhhs_stubs import EmbeddedSimulator
    from mhhs_stubs.config import SimulatorConfig

# What the <role>-qualification environment files read (environments/ldso-qualification.yaml).
URL_VAR = "MHHS_QUAL_DIP_URL"
API_KEY_VAR = "MHHS_QUAL_API_KEY_{dip_id}"
CERT_VAR, KEY_VAR = "MHHS_QUAL_CLIENT_CERT", "MHHS_QUAL_CLIENT_KEY"
CONTROL_VAR = "MHHS_SIM_CONTROL_KEY"  # mhhs_sit.execution.local_stubs.CONTROL_KEY_ENV
FRAMEWORK = "mhhs-sit-framework"  # the name on the framework's own signing certificate


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "qualify",
        help="qualify a participant's own system: the framework plays and simulates every other party",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        epilog="examples:\n"
        "  mhhs-sit qualify --role LDSO --participant EELC --participant-cert ldso.pem --out results/qt\n"
        "  mhhs-sit qualify --role SDS --participant SDSA --participant-cert sds.pem --out results/qt\n"
        "then start the system with what it prints; the run starts once its webhooks are registered",
    )
    add_run_arguments(p)
    p.add_argument("--role", required=True, type=str.upper, help="the role under test (e.g. LDSO, SDS)")
    p.add_argument("--participant", required=True, help="the participant under test: its MPID or DIP ID")
    p.add_argument(
        OPTION,
        dest="participant_cert",
        metavar="CERT.pem",
        help="the system's own signing/mTLS certificate (PEM, no key); default: a key and certificate are "
        "made for it and written to the keys directory",
    )
    p.add_argument("--wait", default="10m", help="how long to wait for the system's webhooks (default: 10m)")
    p.add_argument("--host", default="127.0.0.1", help="address the simulator binds (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port the simulator binds (default: a free one)")
    p.add_argument(
        "--allow-webhook-host",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="the system's webhooks may be on this host beyond loopback (repeatable)",
    )
    p.add_argument("--signing", choices=SIGNING_MODES, default="required", help="as stubs up (default: required)")
    add_qualification_options(p)
    p.add_argument("--keys", metavar="DIR", help="write the system's key, if one is made, here (default: temporary)")
    p.set_defaults(func=guarded(cmd_qualify, lambda a: "mhhs-sit qualify"))


@dataclasses.dataclass(frozen=True)
class Session:
    """What one qualification session runs with."""

    project: Project
    system: SystemUnderTest
    cohort: Cohort  # the system's cohort, simulating every role but the system's and the driving ones
    needs: Needs
    paths: list[str]
    url: str


def cmd_qualify(args: argparse.Namespace) -> int:
    args.env = args.env or f"{args.role.lower()}-qualification"
    session = _session(args)
    # checked before anything starts: a session never waits for a system on reliance it cannot honour
    args.qualification = load_qualification(args, session.project, [args.role])
    work = Path(tempfile.mkdtemp(prefix="mhhs-qualify-"))
    sim = None
    try:
        with _environ({URL_VAR: session.url}):
            env = _environment(session.project)
        config = _config(args, session, env, work)
        from mhhs_stubs import EmbeddedSimulator

        host, port = session.url.rsplit("//", 1)[1].rsplit(":", 1)
        sim = EmbeddedSimulator(config, host=host, port=int(port)).start()
        _announce(args, session, sim, work)
        if not wait_for_webhooks(sim, session.system.dip_id, session.needs.webhooks, parse_duration(args.wait)):
            return 2
        with _environ(_run_variables(session, config, work)):
            return cmd_run(_run_args(args, session, work))
    finally:
        if sim is not None:
            sim.stop()
        shutil.rmtree(work, ignore_errors=True)


def _session(args: argparse.Namespace) -> Session:
    project = project_of(args)
    cohorts, problems = project.cohorts
    if problems:
        raise ConfigError(render_problems(problems))
    folder = scenario_folder(args.role)
    paths = args.paths or [str(d / "qualification" / folder) for d in project.scenario_dirs]
    paths = [p for p in paths if Path(p).exists()]
    if not paths:
        looked = ", ".join(shown(project, d / "qualification" / folder) for d in project.scenario_dirs)
        raise ConfigError(f"--role {args.role}: no qualification scenarios for {args.role} (looked in {looked})")
    needs = scenario_needs([Path(p) for p in paths], args.role)
    system, cohort = find_system(cohorts, args.role, args.participant, args.cohort)
    played = cohort.roles - {args.role}
    cohort = dataclasses.replace(cohort, simulated=played - needs.drives)
    port = args.port
    if not port:
        from mhhs_stubs.server import free_port

        port = free_port(args.host)
    return Session(project, system, cohort, needs, paths, f"http://{args.host}:{port}")


def _environment(project: Project) -> Environment:
    env, problems = project.environment
    if problems or env is None:
        raise ConfigError(render_problems(problems))
    if env.stubs != "none":
        raise ConfigError(
            f"--env {env.name}: qualify starts the simulator itself; use a qualification environment "
            "(stubs: none, dip_url: ${MHHS_QUAL_DIP_URL}), e.g. --env ldso-qualification"
        )
    return env


def _config(args: argparse.Namespace, session: Session, env: Environment, work: Path) -> SimulatorConfig:
    """The simulator's config: the cohort, the framework's certificate trusted for the roles it
    plays, the system's own certificate (or a key made for it), the allowed webhook hosts."""
    from mhhs_sit.execution.local_stubs import simulator_config

    config = simulator_config(env, [session.cohort], signing=args.signing)
    if args.allow_webhook_host:
        config = dataclasses.replace(config, webhook_hosts=tuple(_webhook_hosts(args.allow_webhook_host)))
    framework = config.credentials.ca.participant(FRAMEWORK)
    (work / "framework.pem").write_bytes(framework.cert_pem)
    key = work / "framework.key"
    key.touch(mode=0o600)
    key.write_bytes(framework.key_pem)
    played = [d for d, p in config.participants.items() if not p.simulated and d != session.system.dip_id]
    pairs = [(d, work / "framework.pem") for d in played]
    if args.participant_cert:
        pairs += given_pairs([f"{session.system.dip_id}={args.participant_cert}"], None)
    return with_brought_certs(config, pairs)


def _announce(args: argparse.Namespace, session: Session, sim: EmbeddedSimulator, work: Path) -> None:
    """What the participant's system must be configured with: its own credentials and nothing else."""
    system, config = session.system, sim.config
    me = config.participants[system.dip_id]
    print(f"qualification of {system.role} {system.dip_id} ({system.mpid} {system.name}), cohort {session.cohort.id}")
    print(f"simulated: {', '.join(sorted(session.cohort.simulated)) or 'none'}")
    print(f"played by the framework: {', '.join(sorted(session.needs.drives)) or 'none'}")
    print("configure the system under test with:")
    print(f"  DIP URL      {sim.url}")
    print(f"  DIP ID       {system.dip_id} (role {system.role}, MPID {system.mpid})")
    print(f"  X-API-Key    {me.api_key}")
    if me.trusted_cert_files:
        print(f"  signing      its own certificate is accepted: {', '.join(me.trusted_cert_files)}")
    else:
        keys = Path(args.keys) if args.keys else work / "keys"
        config.credentials.write(keys, [system.dip_id])
        print(f"  signing      {keys / (system.dip_id + '.key')} and {keys / (system.dip_id + '.pem')}")
    print(f"  signatures   {config.signing} {SIGNING_NOTE[config.signing]}")
    print(f"  DIP's certificate (to verify deliveries): {_dip_certificate(sim, work)}")
    hosts = ", ".join(config.webhook_hosts) or "loopback only"
    print(f"  webhooks     POST {sim.url}/dip-channel/<IF>/pubconfig/{system.dip_id} (hosts: {hosts})")
    print(f"               for {', '.join(session.needs.webhooks)}", flush=True)


def _dip_certificate(sim: EmbeddedSimulator, work: Path) -> Path:
    path = work / "dip.pem"
    path.write_bytes(sim.config.credentials.dip().cert_pem)
    return path


def registered(sim: EmbeddedSimulator, dip_id: str, wanted: tuple[str, ...]) -> list[str]:
    """The interfaces of ``wanted`` the system has a webhook for, read from the simulator."""
    have = {interface for interface, owner in list(sim.sim.dip.delivery.subscriptions) if owner == dip_id}
    return [i for i in wanted if i.upper() in have]


def wait_for_webhooks(sim: EmbeddedSimulator, dip_id: str, wanted: tuple[str, ...], timeout: float) -> bool:
    """Wait until every wanted webhook is registered, counting down: one updating line on a
    terminal, a plain line every 10 s otherwise; False (and why) when time runs out."""
    tty = sys.stdout.isatty()
    deadline = time.monotonic() + timeout
    last = 0.0
    while True:
        have = registered(sim, dip_id, wanted)
        left = deadline - time.monotonic()
        line = f"waiting for {dip_id}'s webhooks: {len(have)} of {len(wanted)} registered, {_clock(left)} left"
        if len(have) == len(wanted):
            print(("\r" if tty else "") + f"webhooks registered for {', '.join(wanted)}; running the scenarios")
            return True
        if left <= 0:
            missing = [i for i in wanted if i not in have]
            print(("\n" if tty else "") + f"no webhook from {dip_id} for {', '.join(missing)} within {_clock(timeout)}")
            return False
        if tty:
            print("\r" + line, end="", flush=True)
        elif time.monotonic() - last >= 10:
            print(line, flush=True)
            last = time.monotonic()
        time.sleep(0.2)


def _clock(seconds: float) -> str:
    whole = max(math.ceil(seconds), 0)
    return f"{whole // 60}m{whole % 60:02d}s"


def _run_variables(session: Session, config: SimulatorConfig, work: Path) -> dict[str, str]:
    """The secrets the run reads through its environment file: the played roles' API keys only."""
    played = {p.dip_id: p.api_key for p in config.participants.values() if p.role in session.needs.drives}
    out = {API_KEY_VAR.format(dip_id=d): key for d, key in played.items()}
    out |= {
        URL_VAR: session.url,
        CERT_VAR: str(work / "framework.pem"),
        KEY_VAR: str(work / "framework.key"),
        CONTROL_VAR: config.control_key,
    }
    return out


def _run_args(args: argparse.Namespace, session: Session, work: Path) -> argparse.Namespace:
    """``mhhs-sit run``'s arguments: the role's scenarios, stage qualification, the session's cohort."""
    cohorts = work / "cohorts"
    cohorts.mkdir()
    source = Path(session.cohort.location.file)
    source = source if source.is_absolute() else session.project.root / source
    doc = load_yaml(source)  # bounded, as every user's file is read; validated already by the project
    if doc.problems or not isinstance(doc.data, dict):
        raise ConfigError(f"{doc.problems[0] if doc.problems else source}: cannot read the cohort file")
    data = dict(doc.data)
    data["simulated"] = sorted(session.cohort.simulated)
    (cohorts / source.name).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    run = argparse.Namespace(**vars(args))
    run.paths = session.paths
    run.stage = ["qualification"]
    run.cohort = [session.cohort.id]
    run.rttm_roles, run.rttm_participant = [session.system.role], session.system.dip_id
    system = session.system
    who = f"{system.name or system.mpid} ({system.mpid}, DIP ID {system.dip_id})"
    run.completion_participant = f"{who} as {system.role}"
    run.pytest_args = [*args.pytest_args, "-o", f"mhhs_cohorts={cohorts}"]
    return run


@contextlib.contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    """These environment variables for the block, the previous values back after it."""
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
