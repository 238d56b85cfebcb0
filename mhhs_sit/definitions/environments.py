"""Environment files -> an ``Environment``: ``${VAR}`` expansion, the DIP address, auth, timeouts, faults.

Kept apart from scenario files because an environment is read once per run, for the one target
named by ``--mhhs-env``, while scenario files are parsed (and cached) by the thousand.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mhhs_sit.core.durations import parse_duration
from mhhs_sit.core.yamlsrc import PathPart, YamlDoc, load_yaml
from mhhs_sit.definitions.faults import validate_specs
from mhhs_sit.definitions.model import Auth, Environment, Location, RunSubset, Timeouts
from mhhs_sit.definitions.scenario_files import display_path, scenario_files
from mhhs_sit.definitions.schema_check import schema_problems
from mhhs_sit.errors import Problem

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# A host that may take webhooks beyond loopback: "HOST" (any port) or "HOST:PORT", an IPv6
# address in brackets ("[::1]:8080"); `stubs up --allow-webhook-host` and `allow_webhook_hosts:`.
WEBHOOK_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$")


def expand_env(text: str, environ: Mapping[str, str]) -> tuple[str, list[str]]:
    """``${VAR}`` / ``${VAR:-default}`` from the process environment; returns missing names."""
    missing: list[str] = []

    def sub(m: re.Match[str]) -> str:
        value = environ.get(m.group(1))
        if value is None:
            if m.group(2) is not None:
                return m.group(2)
            missing.append(m.group(1))
            return ""
        return value

    return _VAR.sub(sub, text), missing


def find_environment(name_or_path: str, directory: Path) -> Path | None:
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
        return candidate
    for suffix in (".yaml", ".yml"):
        f = directory / f"{name_or_path}{suffix}"
        if f.is_file():
            return f
    return None


def environment_file_problems(directory: Path, root: Path | None = None, *, skip: Path | None = None) -> list[Problem]:
    """YAML and structure of every environment file (variables are only expanded for the one used)."""
    problems: list[Problem] = []
    for f in scenario_files([directory]) if directory.is_dir() else []:
        if skip is not None and f.resolve() == skip.resolve():
            continue
        doc = load_yaml(f, display=display_path(f, root))
        problems += doc.problems
        if doc.data is not None and not doc.problems:
            problems += schema_problems(doc, "environment")
    return problems


def known_environments(directory: Path) -> list[str]:
    return sorted(f.stem for f in directory.glob("*.y*ml")) if directory.is_dir() else []


def load_environment(
    name_or_path: str,
    directory: Path,
    root: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[Environment | None, list[Problem]]:
    """The named environment, or None and every problem in its file (unset variables included)."""
    f = find_environment(name_or_path, directory)
    if f is None:
        known = ", ".join(known_environments(directory)) or "none"
        message = (
            f"environment '{name_or_path}' not found (known: {known}); name one of them or a YAML file "
            "(ini mhhs_env, pytest --mhhs-env, mhhs-sit --env)"
        )
        return None, [Problem(display_path(directory, root), 0, 0, "", message)]
    doc = load_yaml(f, display=display_path(f, root))
    problems = list(doc.problems)
    if not isinstance(doc.data, dict):
        if not problems:
            problems.append(doc.problem([], "expected a mapping starting with 'environment: <name>'"))
        return None, problems
    problems += schema_problems(doc, "environment")
    if problems:
        return None, problems
    reader = _Reader(doc, doc.data, os.environ if environ is None else environ)
    environment = reader.environment()
    rules = doc.data.get("rules")
    if isinstance(rules, str):
        environment = dataclasses.replace(environment, rules_dir=reader.rules_dir(rules, root or f.parent.parent))
    return (None, reader.problems) if reader.problems else (environment, [])


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class _Reader:
    """One schema-valid environment file read into an ``Environment``, its variables expanded."""

    def __init__(self, doc: YamlDoc, data: dict[str, Any], environ: Mapping[str, str]):
        self.doc, self.data, self.environ = doc, data, environ
        self.problems: list[Problem] = []

    def expanded(self, path: list[PathPart], value: str | None) -> str | None:
        if value is None:
            return None
        out, missing = expand_env(value, self.environ)
        for var in missing:
            self.problems.append(
                self.doc.problem(
                    path,
                    f"environment variable {var} is not set; export it (e.g. export {var}=...) before running "
                    f"against '{self.data['environment']}'",
                )
            )
        return out

    def dip_url(self) -> str | None:
        data, doc = self.data, self.doc
        dip_url = self.expanded(["dip_url"], data.get("dip_url"))
        if data["stubs"] == "none" and not data.get("dip_url"):
            where: list[PathPart] = ["dip_url"] if "dip_url" in data else []
            self.problems.append(doc.problem(where, "'dip_url' is required when 'stubs: none' (nothing is started)"))
        if dip_url and not re.match(r"^https?://", dip_url):
            self.problems.append(doc.problem(["dip_url"], f"dip_url {dip_url!r} must start with http:// or https://"))
        return dip_url.rstrip("/") if dip_url else None

    def rules_dir(self, given: str, root: Path) -> str | None:
        """The participant simulators' own rule directory (relative to the project root); its files
        are checked where the simulator is known (``Project.simulator_rule_problems``)."""
        if self.data.get("stubs") != "embedded":
            self.problems.append(
                self.doc.problem(["rules"], "rules: is for stubs: embedded (the simulator in this process)")
            )
            return None
        path = Path(given) if Path(given).is_absolute() else root / given
        if not path.is_dir():
            self.problems.append(self.doc.problem(["rules"], f"rules directory {given!r} not found (looked in {path})"))
            return None
        return str(path)

    def environment(self) -> Environment:
        data = self.data
        dip_url = self.dip_url()
        webhook = _mapping(data.get("webhook"))
        listen = self.expanded(["webhook", "listen"], webhook.get("listen")) or "127.0.0.1:0"
        public_url = self.expanded(["webhook", "public_url"], webhook.get("public_url"))
        self.problems += _fault_problems(self.doc, data.get("faults") or [], data.get("fault_seed", 0))
        auth = _mapping(data.get("auth"))
        return Environment(
            name=data["environment"],
            title=str(data.get("title", data["environment"])),
            dip_url=dip_url,
            environment_tag=data["environment_tag"],
            ir=str(data["ir"]) if data.get("ir") is not None else None,
            stubs=data["stubs"],
            auth=Auth(auth.get("api_key_env"), auth.get("client_cert"), auth.get("client_key"), auth.get("ca_bundle")),
            timeouts=_timeouts(_mapping(data.get("timeouts"))),
            retries=int(data.get("retries", 2)),
            webhook_listen=listen,
            webhook_public_url=public_url,
            location=Location(self.doc.file, *self.doc.line_of(data)),
            variables=dict(_mapping(data.get("variables"))),
            faults=tuple(data.get("faults") or ()),
            fault_seed=data.get("fault_seed", 0),
            delivery=_delivery(_mapping(data.get("delivery"))),
            tls=bool(data.get("tls", False)),
            concurrency=int(data.get("concurrency", 1)),
            subset=_subset(_mapping(data.get("selection"))),
            webhook_hosts=self.webhook_hosts(),
        )

    def webhook_hosts(self) -> tuple[str, ...]:
        """``allow_webhook_hosts:``, the local simulator's webhook hosts beyond loopback (a system
        under test on another machine), each ``HOST`` or ``HOST:PORT`` once its variables are expanded."""
        given = self.data.get("allow_webhook_hosts") or []
        if given and self.data["stubs"] == "none":
            self.problems.append(
                self.doc.problem(
                    ["allow_webhook_hosts"],
                    "allow_webhook_hosts is for a local simulator (stubs: embedded or container); the real DIP "
                    "keeps its own list of webhook hosts: leave the key out",
                )
            )
            return ()
        hosts: list[str] = []
        for i, raw in enumerate(given):
            known = len(self.problems)
            host = (self.expanded(["allow_webhook_hosts", i], raw) or "").strip()
            if len(self.problems) > known:
                continue  # an unset variable: said once, not again as a malformed host
            if not WEBHOOK_HOST.match(host):
                self.problems.append(
                    self.doc.problem(
                        ["allow_webhook_hosts", i],
                        f"{host!r} is not HOST or HOST:PORT: write the host name or address alone, without "
                        "http:// or a path (sut.example.com, 10.1.2.3:8443, [fd00::1]:8443)",
                    )
                )
            elif host not in hosts:
                hosts.append(host)
        return tuple(hosts)


def _subset(given: Mapping[str, Any]) -> RunSubset:
    per_case = given.get("cohorts_per_case")
    return RunSubset(
        tags=frozenset(str(t) for t in given.get("tags") or ()),
        stages=frozenset(str(s) for s in given.get("stages") or ()),
        cohorts_per_case=int(per_case) if per_case is not None else None,
    )


def _timeouts(given: Mapping[str, Any]) -> Timeouts:
    return Timeouts(
        connect=parse_duration(given.get("connect", 5)),
        read=parse_duration(given.get("read", 30)),
        expect=parse_duration(given.get("expect", 30)),
    )


def _delivery(given: Mapping[str, Any]) -> dict[str, float]:
    """The simulator's push retries; durations read as seconds."""
    return {
        k: (parse_duration(v) if k in ("backoff", "max_backoff", "timeout") else float(v)) for k, v in given.items()
    }


def _fault_problems(doc: YamlDoc, faults: list[object], seed: int | str) -> list[Problem]:
    """Each simulator fault spec checked by the simulator's own parser, located in the file."""
    if not faults:
        return []
    return [doc.problem(["faults", i, *exc.field], exc.message) for i, exc in validate_specs(faults, seed)]
