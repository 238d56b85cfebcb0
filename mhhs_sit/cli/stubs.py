"""``mhhs-sit stubs up``: the DIP simulator standalone, in the foreground, for a system under test.

The roles a cohort does not simulate are played from outside: by the participant's own system
(an LDSO qualifying its system, say), which gets credentials from the file this writes and
registers its webhooks with the simulator as it would with the real DIP.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mhhs_sit.cli.brought_certs import LIST_OPTION, OPTION, given_pairs, with_brought_certs
from mhhs_sit.cli.common import guarded, project_of, shown
from mhhs_sit.core.yamlsrc import load_yaml
from mhhs_sit.definitions.environments import WEBHOOK_HOST, find_environment
from mhhs_sit.definitions.model import Cohort, Environment
from mhhs_sit.definitions.schema_check import suggest
from mhhs_sit.definitions.schemas import ROLES
from mhhs_sit.errors import ConfigError, render_problems
from mhhs_sit.execution.local_stubs import CONTROL_HEADER
from mhhs_sit.project import Project

if TYPE_CHECKING:
    from mhhs_stubs.config import SimulatorConfig

SIGNING_MODES = ("required", "optional", "off")  # mhhs_stubs.config.SIGNING_MODES
SIGNING_NOTE = {
    "required": "(required, as on the real DIP: an unsigned request is refused)",
    "optional": "(optional here: a signature that is sent is checked)",
    "off": "(off: signatures are not checked)",
}
WEBHOOK_HOWTO = 'POST {url}/dip-channel/<IF-nnn>/pubconfig/<DIP ID> {{"callbackURL": "http://127.0.0.1:<port>/..."}}'


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "stubs",
        help="run the local DIP simulator standalone for a system under test",
        description="The local DIP simulator and participant simulators outside a test run.",
    )
    sub = p.add_subparsers(dest="stubs_command", metavar="ACTION", required=True)
    up = sub.add_parser(
        "up",
        help="run the simulator in the foreground until Ctrl-C",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Run the DIP simulator with the participants of some cohorts, in the foreground until Ctrl-C.\n\n"
            "Simulated roles are answered by the simulator. Every other role of those cohorts is expected from\n"
            "outside: a system under test that sends with its participant's X-API-Key and registers its\n"
            "webhooks (pubconfig) as with the real DIP. Prints the base URL and writes a credentials file\n"
            "(mode 0600) with every participant's DIP ID, role, MPID and API key."
        ),
        epilog="examples:\n"
        "  mhhs-sit stubs up                           every cohort, simulated as its cohort file says\n"
        "  mhhs-sit stubs up --cohort C1 --except SUP  cohort C1, everything simulated but the supplier\n"
        "  mhhs-sit stubs up --cohort C1 --only REGS   cohort C1, only the registration service simulated\n"
        "  mhhs-sit stubs up --env local-containers    the simulator in a container (needs a Docker engine)",
    )
    up.add_argument("--env", metavar="NAME", help="a local environment (default: ini mhhs_env, else local)")
    up.add_argument(
        "--cohort",
        action="append",
        metavar="ID",
        help="only these cohorts (repeatable or comma separated; default: every cohort)",
    )
    up.add_argument(
        "--only",
        action="append",
        metavar="ROLE",
        help="simulate only these roles; the cohorts' other roles are under test (repeatable or comma separated)",
    )
    up.add_argument(
        "--except",
        dest="except_",
        action="append",
        metavar="ROLE",
        help="simulate every role but these, which are under test (repeatable or comma separated); "
        "without --only or --except, the cohort files' 'simulated' lists decide",
    )
    up.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default: 127.0.0.1, loopback only; any other is warned about)",
    )
    up.add_argument(
        "--allow-webhook-host",
        action="append",
        metavar="HOST[:PORT]",
        default=[],
        help="also accept webhooks (pubconfig callbackURL) on this host, any port or the one given "
        "(repeatable; default: the environment's allow_webhook_hosts, else loopback only), for a system "
        "under test on another machine",
    )
    up.add_argument(
        OPTION,
        dest="participant_cert",
        action="append",
        metavar="DIPID=CERT.pem",
        default=[],
        help="trust this certificate (PEM, no key) for the DIP ID's request signatures and TLS client "
        "certificate instead of a key the simulator makes: a system under test signs with its own (repeatable)",
    )
    up.add_argument(
        LIST_OPTION,
        dest="participant_certs",
        action="append",
        metavar="FILE",
        default=[],
        help=f"a file of DIPID=cert.pem lines, as {OPTION} (# comments; paths relative to the file)",
    )
    up.add_argument(
        "--control-key-file",
        metavar="FILE",
        help=f"the control key ({CONTROL_HEADER} on /_sim) from this file (default: a fresh one per start)",
    )
    up.add_argument("--port", type=int, default=0, help="port to bind (default: a free one)")
    up.add_argument(
        "--credentials",
        metavar="FILE",
        help="write the credentials here and keep them (default: a new temporary directory, removed on exit)",
    )
    up.add_argument(
        "--tls",
        action="store_true",
        help="HTTPS with mutual TLS, as the real DIP: clients present <DIP ID>.pem/.key from the keys "
        "directory and trust ca.pem (default: the environment's tls setting, else plain HTTP on loopback)",
    )
    up.add_argument(
        "--signing",
        choices=SIGNING_MODES,
        default="required",
        help="required (default, as the real DIP): every request carries valid X-DIP-* signature headers; "
        "optional: unsigned requests pass on the X-API-Key alone, signed ones are checked; off: never checked",
    )
    up.add_argument("--ir", metavar="VERSION", help="validate messages against this interface spec version")
    up.add_argument("--dip-spec", metavar="PATH", help="validate messages against this official DIP spec")
    up.add_argument("--cohorts", metavar="DIR", help="cohort files (default: ini mhhs_cohorts, else cohorts)")
    up.add_argument(
        "--environments", metavar="DIR", help="environment files (default: ini mhhs_environments, else environments)"
    )
    up.set_defaults(func=guarded(cmd_up, lambda _: "mhhs-sit stubs up"))


def _values(values: Iterable[str] | None, *, upper: bool = False) -> list[str]:
    out: list[str] = []
    for v in values or []:
        for part in v.split(","):
            part = part.strip().upper() if upper else part.strip()
            if part and part not in out:
                out.append(part)
    return out


def _environment(project: Project) -> Environment:
    directory, name = project.path("mhhs_environments"), project.env_name
    found = find_environment(name, directory)
    if found is None:
        known = sorted(p.stem for p in directory.glob("*.y*ml"))
        raise ConfigError(
            f"--env: unknown environment {name!r}{suggest(name, known)}; "
            f"environments in {shown(project, directory)}: {', '.join(known) or 'none'}"
        )
    with contextlib.suppress(AttributeError):  # a broken file: the environment loader says why
        if load_yaml(found).data.get("stubs") == "none":
            raise ConfigError(
                f"--env: environment {name!r} is a real DIP (stubs: none); stubs up runs a local simulator: "
                "use an environment with stubs: embedded or container, e.g. --env local"
            )
    env, problems = project.environment
    if problems or env is None:
        raise ConfigError(render_problems(problems))
    return env


def select_cohorts(
    cohorts: Mapping[str, Cohort], wanted: list[str], only: list[str], except_: list[str]
) -> list[Cohort]:
    """The cohorts asked for, each with its ``simulated`` set as --only/--except say."""
    if only and except_:
        raise ConfigError(
            "--only and --except cannot be used together: --only names the roles to simulate, "
            "--except the roles under test"
        )
    chosen = _chosen(cohorts, wanted)
    if only:
        _check_roles("--only", only, chosen)
        return [dataclasses.replace(c, simulated=c.roles & frozenset(only)) for c in chosen]
    if except_:
        _check_roles("--except", except_, chosen)
        return [dataclasses.replace(c, simulated=c.roles - frozenset(except_)) for c in chosen]
    return chosen


def _chosen(cohorts: Mapping[str, Cohort], wanted: list[str]) -> list[Cohort]:
    unknown = [c for c in wanted if c not in cohorts]
    if unknown:
        raise ConfigError(
            f"--cohort: unknown cohort {unknown[0]!r}{suggest(unknown[0], cohorts)}; cohorts are {', '.join(cohorts)}"
        )
    chosen = [cohorts[c] for c in wanted] if wanted else list(cohorts.values())
    if not chosen:
        raise ConfigError("--cohort: no cohort files found")
    return chosen


def _check_roles(option: str, roles: list[str], chosen: list[Cohort]) -> None:
    """Every role is a role code, and one that the chosen cohorts have."""
    present = sorted(set().union(*(c.roles for c in chosen)))
    for role in roles:
        if role not in ROLES:
            raise ConfigError(
                f"{option}: unknown role {role!r}{suggest(role, ROLES)}; role codes are {', '.join(ROLES)}"
            )
        if role not in present:
            names = ", ".join(c.id for c in chosen)
            raise ConfigError(f"{option}: no {role} in cohort(s) {names}; their roles are {', '.join(present)}")


def credentials(sim: Any, env: Environment, cohorts: list[Cohort]) -> dict[str, Any]:
    """What a system under test needs, with every field the simulator config carries."""
    from mhhs_stubs.config_file import to_jsonable
    from mhhs_stubs.control import PARTICIPANT_PATHS
    from mhhs_stubs.journal_access import READABLE_PATHS
    from mhhs_stubs.service_desk_api import DESK_PATH

    whole = to_jsonable(sim.config)
    participants = sorted(whole.pop("participants").values(), key=lambda p: (p["cohort"], p["role"], p["dip_id"]))
    return {
        "url": sim.url,
        "environment": env.name,
        "stubs": env.stubs,
        "pid": os.getpid(),
        "cohorts": [c.id for c in cohorts],
        "simulated_roles": {c.id: sorted(c.simulated) for c in cohorts},
        "external_roles": {c.id: sorted(c.roles - c.simulated) for c in cohorts},
        "register_webhooks": WEBHOOK_HOWTO.format(url=sim.url),
        "control": {
            "header": CONTROL_HEADER,
            "key": sim.config.control_key,
            "paths": "/_sim/*: every path with this key; a participant's own key opens only those below",
            "participant_paths": [
                f"{PARTICIPANT_PATHS}{{dip_id}} and its /ack: the participant's own inbox",
                *(f"GET {path}: its own journal entries" for path in (*READABLE_PATHS, "/_sim/messages/{id}")),
                f"{DESK_PATH}/*: the service desk, its own incidents",
            ],
        },
        "participants": participants,
        "simulator": whole,
    }


def _table(participants: list[dict[str, Any]]) -> list[str]:
    return [
        f"  {p['cohort']:<4} {p['role']:<5} {p['dip_id']}  {p['mpid']:<5} {p.get('name', '')}" for p in participants
    ]


@dataclasses.dataclass(frozen=True)
class Plan:
    """What ``stubs up`` starts: the environment, the chosen cohorts and the simulator's config."""

    env: Environment
    cohorts: list[Cohort]
    config: SimulatorConfig


def plan(args: argparse.Namespace) -> Plan:
    """The environment, cohorts and simulator configuration the options ask for."""
    project = project_of(args)
    env = _environment(project)
    cohorts, problems = project.cohorts
    dip_spec, spec_problems = project.dip_spec
    if problems or spec_problems:
        raise ConfigError(render_problems(problems + spec_problems))
    chosen = select_cohorts(
        cohorts, _values(args.cohort), _values(args.only, upper=True), _values(args.except_, upper=True)
    )
    # Signed as on the real DIP unless --signing says otherwise (a system still being built may
    # send with its X-API-Key alone under "optional").
    tls = bool(args.tls or env.tls)
    if tls and env.stubs == "container":
        raise ConfigError("--tls: mutual TLS is available for the embedded simulator only; use --env local")
    from mhhs_sit.execution.local_stubs import simulator_config

    config = simulator_config(env, chosen, dip_spec=dip_spec, signing=args.signing, tls=tls)
    if args.allow_webhook_host:
        config = dataclasses.replace(config, webhook_hosts=tuple(_webhook_hosts(args.allow_webhook_host)))
    if args.control_key_file:
        config = dataclasses.replace(config, control_key=_control_key(Path(args.control_key_file), config))
    brought = given_pairs(args.participant_cert, args.participant_certs)
    if brought and env.stubs == "container":
        raise ConfigError(f"{OPTION}: participants' own certificates are for the embedded simulator; use --env local")
    config = with_brought_certs(config, brought)
    return Plan(env, chosen, config)


def _webhook_hosts(given: list[str]) -> list[str]:
    hosts = _values(given)
    for host in hosts:
        if not WEBHOOK_HOST.match(host):
            raise ConfigError(
                f"--allow-webhook-host: {host!r} is not HOST or HOST:PORT (an IPv6 address in brackets: [::1]:8080)"
            )
    return hosts


def _control_key(path: Path, config: SimulatorConfig) -> str:
    try:
        key = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"--control-key-file: cannot read {path}: {exc.strerror or exc}") from None
    if len(key) < 16 or any(p.api_key == key for p in config.participants.values()):
        raise ConfigError(
            f"--control-key-file: the key in {path} must be at least 16 characters and no participant's API key"
        )
    return key


def cmd_up(args: argparse.Namespace) -> int:
    chosen = plan(args)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    tmp = None if args.credentials else Path(tempfile.mkdtemp(prefix="mhhs-stubs-"))
    path = tmp / "credentials.json" if tmp else Path(args.credentials).resolve()
    sim = None
    try:
        _warn_beyond_loopback(args.host)
        sim = _start(chosen, path.parent / "keys", args)
        _announce(sim, chosen, path, keep="kept after exit" if args.credentials else "removed on exit")
        while not stop.wait(3600):
            pass
        print("stopping the simulator", flush=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if sim is not None:
            sim.stop()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)  # keys/ too; with --credentials both are kept
    return 0


def _warn_beyond_loopback(host: str) -> None:
    from mhhs_stubs.server import exposure_warning

    warning = exposure_warning(host)
    if warning:
        print(warning, file=sys.stderr, flush=True)


def _start(chosen: Plan, keys: Path, args: argparse.Namespace) -> Any:
    """The simulator, with the outside participants' client keys written to ``keys``."""
    from mhhs_sit.execution.local_stubs import driven_key_files, start_simulator

    config = chosen.config
    config.credentials.write(keys, [p.dip_id for p in config.participants.values() if not p.simulated])
    started = driven_key_files(config, keys) if chosen.env.stubs == "container" else config
    return start_simulator(chosen.env.stubs, started, host=args.host, port=args.port)


def _announce(sim: Any, chosen: Plan, path: Path, *, keep: str) -> None:
    """Write the credentials file and say what runs where and what is expected from outside."""
    from mhhs_stubs.config_file import write_private

    env, keys = chosen.env, path.parent / "keys"
    creds = credentials(sim, env, chosen.cohorts)
    creds["keys"] = {
        "directory": str(keys),
        "ca": str(keys / "ca.pem"),
        "signing": "sign with <DIP ID>.key and send <DIP ID>.pem as X-DIP-Signature-Certificate "
        + SIGNING_NOTE[chosen.config.signing],
        "own_certificates": {
            p.dip_id: list(p.trusted_cert_files) for p in chosen.config.participants.values() if p.trusted_cert_files
        },
    }
    write_private(path, json.dumps(creds, indent=1))
    simulated = [p for p in creds["participants"] if p["simulated"]]
    outside = [p for p in creds["participants"] if not p["simulated"]]
    kind = f"in a container ({sim.image})" if env.stubs == "container" else "in this process"
    print(f"DIP simulator {kind}, environment '{env.name}', cohorts {', '.join(creds['cohorts'])}")
    print(f"url: {sim.url}")
    print(f"control API (/_sim): send {CONTROL_HEADER}: {sim.config.control_key}")
    print(f"credentials: {path} (DIP ID, role, MPID and X-API-Key of every participant; mode 0600, {keep})")
    print(f"signing keys: {keys} (<DIP ID>.key/.pem per participant from outside, ca.pem; {keep})")
    print(f"signing: {chosen.config.signing} {SIGNING_NOTE[chosen.config.signing]}")
    hosts = " and on " + ", ".join(chosen.config.webhook_hosts) if chosen.config.webhook_hosts else " only"
    print(f"webhooks: on loopback{hosts} (--allow-webhook-host, allow_webhook_hosts)")
    for p in chosen.config.participants.values():
        if p.trusted_cert_files:
            print(f"  {p.dip_id} ({p.role}) signs with its own certificate: {', '.join(p.trusted_cert_files)}")
    print("simulated (answered by the simulator):")
    print("\n".join(_table(simulated)) or "  none")
    print("expected from outside (systems under test: send with the participant's X-API-Key; register webhooks")
    print(f"with {creds['register_webhooks']}):")
    print("\n".join(_table(outside)) or "  none: every participant is simulated")
    print(f"stop: Ctrl-C (or kill -INT {os.getpid()})", flush=True)
