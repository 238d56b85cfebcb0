"""``mhhs-sit stubs up`` as a real process: what it prints, the credentials it hands out, which
participants it simulates, bad options, and stopping with Ctrl-C."""

from __future__ import annotations

import atexit
import json
import os
import queue
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest
import requests

from mhhs_sit.cli.app import main
from mhhs_sit.cli.stubs import SIGNING_MODES
from mhhs_sit.dip.signing import Signer
from tests.helpers import copy_project
from tests.stubs.messages import appointment


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Running:
    proc: subprocess.Popen[str]
    output: queue.Queue[str | None]
    lines: list[str] = field(default_factory=list)
    url: str = ""
    credentials: Path = Path()

    def creds(self) -> dict:
        return json.loads(self.credentials.read_text())

    @property
    def control_headers(self) -> dict[str, str]:
        control = self.creds()["control"]
        return {control["header"]: control["key"]}

    def participant(self, role: str, cohort: str = "C1") -> dict:
        return next(p for p in self.creds()["participants"] if p["role"] == role and p["cohort"] == cohort)

    def send(
        self, body: list, role: str = "SUP", *, signed: bool = True, sign_as: str | None = None, **kw: object
    ) -> requests.Response:
        """POST to IF-031 with the role's X-API-Key, signed with the key of ``sign_as`` (default: the
        same role) from the keys directory."""
        me, signer = self.participant(role), self.participant(sign_as or role)
        url, data = f"{self.url}/dip-channel/IF-031", json.dumps(body).encode()
        headers = {"X-API-Key": me["api_key"], "Content-Type": "application/json"}
        if signed:
            keys, dip_id = Path(self.creds()["keys"]["directory"]), signer["dip_id"]
            key, cert = (keys / f"{dip_id}.key").read_bytes(), (keys / f"{dip_id}.pem").read_bytes()
            headers.update(Signer.from_pem(key, cert).headers("POST", url, data))
        return requests.post(url, data=data, headers=headers, timeout=5, **kw)  # type: ignore[arg-type]

    def interrupt(self) -> tuple[int, float]:
        started = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=10)
        took = time.monotonic() - started
        while (line := self.output.get(timeout=5)) is not None:
            self.lines.append(line)
        return code, took


@cache
def project() -> Path:
    """The fixture project (its two cohorts), not the working tree's, which a test team adds to."""
    where = Path(tempfile.mkdtemp(prefix="mhhs-stubs-cli-"))
    atexit.register(shutil.rmtree, where, True)
    return copy_project(where, themes=False)


@contextmanager
def stubs_up(*args: str, port: int | None = None) -> Iterator[Running]:
    """``mhhs-sit stubs up`` in a subprocess, returned once it has printed how to stop it."""
    port = port or free_port()
    cmd = [sys.executable, "-m", "mhhs_sit.cli.app", "stubs", "up", "--port", str(port), *args]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, cwd=project(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    running = Running(proc, lines)
    try:
        deadline = time.monotonic() + 30
        while not (running.lines and running.lines[-1].startswith("stop:")):
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            if line is None:
                pytest.fail("stubs up ended before it was ready:\n" + "\n".join(running.lines))
            running.lines.append(line)
        for line in running.lines:
            if line.startswith("url: "):
                running.url = line.split()[1]
            if line.startswith("credentials: "):
                running.credentials = Path(line.split()[1])
        yield running
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_up_prints_the_url_and_credentials_and_a_credential_is_accepted():
    port = free_port()
    with stubs_up(port=port) as up:
        assert up.url == f"http://127.0.0.1:{port}"
        assert any(line.startswith("stop: Ctrl-C") for line in up.lines)
        assert stat.S_IMODE(up.credentials.stat().st_mode) == 0o600
        creds = up.creds()
        assert creds["url"] == up.url and creds["cohorts"] == ["C1", "C2"]
        sup = up.participant("SUP")
        assert sup == {**sup, "dip_id": "2300000101", "mpid": "SUPA", "simulated": False}
        assert len(sup["api_key"]) >= 24
        # as the cohort files say: C1 simulates REGS, LDSO, SDS, MSS; its supplier is under test
        assert creds["simulated_roles"]["C1"] == ["LDSO", "MSS", "REGS", "SDS"]
        assert creds["external_roles"]["C1"] == ["SUP"]
        assert "  C1   SUP   2300000101  SUPA  Alpha Energy Supply" in up.lines

        r = up.send([{"payload": appointment()}])
        assert r.status_code == 201, r.text
        assert r.json()["messageArray"][0]["message"].startswith("MSG0000")
        # signing is required, as on the real DIP
        assert "signing: required (required, as on the real DIP: an unsigned request is refused)" in up.lines
        unsigned = up.send([{"payload": appointment("1000000000036")}], signed=False)
        assert unsigned.status_code == 401, unsigned.text
        assert unsigned.json()["messageArray"][0]["message"] == "MSG1000 - Message Signature Invalid"
        # another participant's key is refused, as the real DIP does
        assert up.send([{"payload": appointment("1000000000029")}], role="REGS", sign_as="SUP").status_code == 403
        # the control API takes the printed control key, and neither no key nor a participant's
        key = up.control_headers["X-Sim-Control-Key"]
        assert f"control API (/_sim): send X-Sim-Control-Key: {key}" in up.lines
        assert key not in {p["api_key"] for p in creds["participants"]}
        assert requests.get(f"{up.url}/_sim/health", headers=up.control_headers, timeout=5).status_code == 200
        opened = creds["control"]["participant_paths"]  # what a participant's own key opens, each named
        assert [p.split(" ")[0] for p in opened] == [
            "/_sim/inbox/{dip_id}",
            "GET",
            "GET",
            "GET",
            "GET",
            "/_sim/service-desk/*:",
        ], opened
        for wrong in ({}, {"X-Sim-Control-Key": up.participant("SUP")["api_key"]}):
            refused = requests.get(f"{up.url}/_sim/messages", headers=wrong, timeout=5)
            assert (
                refused.status_code == 401 and refused.json()["messageArray"][0]["message"] == "MSG1000 - Unauthorised"
            )

        code, took = up.interrupt()
    assert code == 0 and took < 5
    assert up.lines[-1] == "stopping the simulator"
    assert not up.credentials.exists()  # the run's keys do not outlive it
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{up.url}/_sim/health", timeout=2)


def _first_delivery(up: Running, mpan: str) -> dict:
    r = up.send([{"payload": appointment(mpan)}])
    assert r.status_code == 201, r.text
    requests.post(f"{up.url}/_sim/idle", headers=up.control_headers, params={"timeout": 5}, timeout=10)
    journal = requests.get(
        f"{up.url}/_sim/messages", headers=up.control_headers, params={"mpan": mpan}, timeout=5
    ).json()["messages"]
    return {
        "deliveries": next(e for e in journal if e["interface"] == "IF-031")["deliveries"],
        "interfaces": [e["interface"] for e in journal],
    }


def test_only_and_except_choose_which_participants_are_simulated():
    with stubs_up(
        "--cohort", "C1", "--only", "REGS", "--signing", "optional", "--allow-webhook-host", "sut:8443"
    ) as up:
        creds = up.creds()
        assert creds["simulator"]["webhook_hosts"] == ["sut:8443"] and creds["simulator"]["signing"] == "optional"
        assert "webhooks: on loopback and on sut:8443 (--allow-webhook-host, allow_webhook_hosts)" in up.lines
        assert up.send([{"payload": appointment("1000000000052")}], signed=False).status_code == 201  # optional
        assert creds["cohorts"] == ["C1"]
        assert {p["role"] for p in creds["participants"] if p["simulated"]} == {"REGS"}
        assert {p["role"] for p in creds["participants"] if not p["simulated"]} == {"SUP", "LDSO", "SDS", "MSS"}
        seen = _first_delivery(up, "1000000000037")
        # the simulated registration service got the appointment and answered it (IF-032 and on)
        assert [d["channel"] for d in seen["deliveries"]] == ["simulated"]
        assert "IF-032" in seen["interfaces"]
        assert up.interrupt()[0] == 0

    with stubs_up("--cohort", "C1", "--except", "SUP,regs") as up:
        creds = up.creds()
        assert {p["role"] for p in creds["participants"] if p["simulated"]} == {"LDSO", "SDS", "MSS"}
        assert creds["external_roles"] == {"C1": ["REGS", "SUP"]}
        assert up.participant("REGS")["api_key"]  # the registration system under test gets its key
        seen = _first_delivery(up, "1000000000045")
        # the registration service is under test now: nothing inside answers for it
        assert [d["channel"] for d in seen["deliveries"]] != ["simulated"]
        assert seen["interfaces"] == ["IF-031"]
        assert up.interrupt()[0] == 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--cohort", "C9"], "--cohort: unknown cohort 'C9'; cohorts are C1, C2"),
        (["--only", "REGZ"], "--only: unknown role 'REGZ' (did you mean 'REGS'?); role codes are SUP, REGS,"),
        (
            ["--cohort", "C2", "--except", "MSS"],
            "--except: no MSS in cohort(s) C2; their roles are LDSO, REGS, SDS, SUP",
        ),
        (["--only", "REGS", "--except", "SUP"], "--only and --except cannot be used together"),
        (["--allow-webhook-host", "http://sut/"], "--allow-webhook-host: 'http://sut/' is not HOST or HOST:PORT"),
        (["--env", "locl"], "--env: unknown environment 'locl' (did you mean 'local'?); environments in environments:"),
        (["--env", "sit-a"], "--env: environment 'sit-a' is a real DIP (stubs: none)"),
    ],
)
def test_bad_options_get_one_clear_line_and_exit_code_2(args, expected, capsys, monkeypatch):
    monkeypatch.chdir(project())
    assert main(["stubs", "up", *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"mhhs-sit stubs up: {expected}")


def test_the_signing_modes_are_the_simulators():
    from mhhs_stubs.config import SIGNING_MODES as SIMULATOR_MODES

    assert SIGNING_MODES == SIMULATOR_MODES


def test_help_says_what_it_does():
    done = subprocess.run(
        [sys.executable, "-m", "mhhs_sit.cli.app", "stubs", "up", "--help"], capture_output=True, text=True, check=True
    )
    for words in ("--only ROLE", "--except ROLE", "--cohort ID", "until Ctrl-C", "credentials file", "X-API-Key"):
        assert words in done.stdout


def test_tls_serves_https_with_client_certificates_from_the_keys_directory():
    with stubs_up("--tls", "--cohort", "C1") as up:
        assert up.url.startswith("https://127.0.0.1:")
        keys = Path(up.creds()["keys"]["directory"])
        sup = up.participant("SUP")
        ca, cert = str(keys / "ca.pem"), (str(keys / f"{sup['dip_id']}.pem"), str(keys / f"{sup['dip_id']}.key"))
        ok = up.send([{"payload": appointment()}], verify=ca, cert=cert)
        assert ok.status_code == 201, ok.text
        with pytest.raises(requests.ConnectionError):  # no client certificate: refused in (or after) the handshake
            requests.get(f"{up.url}/_sim/health", headers=up.control_headers, verify=ca, timeout=5)
        code, _ = up.interrupt()
    assert code == 0
