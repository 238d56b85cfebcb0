"""Webhooks beyond loopback, over real loopback HTTP: only on the hosts (and ports) the simulator
was started with; anything else is refused with the reason and the allowed list."""

import pytest
import requests

from mhhs_sit.definitions.cohorts import load_cohorts
from mhhs_sit.definitions.environments import load_environment
from mhhs_sit.errors import EnvironmentBroken, render_problems
from mhhs_sit.execution.local_stubs import start_stubs
from mhhs_sit.execution.runtime import Runtime
from mhhs_stubs import EmbeddedSimulator, config_from_cohorts
from tests.helpers import FIXTURES, copy_project

SDS2 = "1400000202"


@pytest.fixture(scope="module")
def sim():
    cohorts, problems = load_cohorts(FIXTURES / "cohorts")
    assert not problems
    config = config_from_cohorts(
        cohorts.values(), check_responses=True, signing="optional", webhook_hosts=("sut.example:8443", "10.1.2.3")
    )
    with EmbeddedSimulator(config) as s:
        yield s
    assert s.sim.defects == []


def configure(sim, url):
    return requests.post(f"{sim.url}/dip-channel/IF-024/pubconfig/{SDS2}", json={"callbackURL": url},
                         headers={"X-API-Key": sim.config.api_keys[SDS2]}, timeout=5)  # fmt: skip


@pytest.mark.parametrize(
    "url", ["https://sut.example:8443/hook", "http://10.1.2.3:9999/h", "https://10.1.2.3/h", "http://127.0.0.1:9/h"]
)
def test_an_allowed_host_and_port_takes_webhooks(sim, url):
    assert configure(sim, url).status_code == 201


@pytest.mark.parametrize(
    "url", ["https://sut.example/hook", "http://sut.example:8443.evil/h", "http://evil.example/h", "http://10.1.2.30/h"]
)
def test_any_other_host_is_refused_with_the_reason(sim, url):
    r = configure(sim, url)
    assert r.status_code == 400
    help_text = r.json()["messageArray"][0]["help"]
    assert "not on loopback nor on an allowed webhook host (sut.example:8443, 10.1.2.3)" in help_text
    assert "--allow-webhook-host" in help_text


def environment_file(tmp_path, body):
    (tmp_path / "environments").mkdir(exist_ok=True)
    head = "environment: remote-sut\nenvironment_tag: DEV\nir: IR8.2\n"
    (tmp_path / "environments" / "remote-sut.yaml").write_text(head + body, encoding="utf-8")
    return load_environment("remote-sut", tmp_path / "environments", tmp_path, environ={"SUT_HOST": "sut.example"})


def test_an_environment_files_webhook_hosts_reach_the_simulator_the_run_starts(tmp_path):
    """allow_webhook_hosts: in the environment, honoured by start_stubs as by stubs up's option
    (the run's own signed client configures the webhook: signing is required there)."""
    env, problems = environment_file(
        tmp_path, "stubs: embedded\nallow_webhook_hosts: ['${SUT_HOST}:8443', 10.1.2.3, '${SUT_HOST}:8443']\n"
    )
    assert problems == [] and env.webhook_hosts == ("sut.example:8443", "10.1.2.3")
    cohorts, _ = load_cohorts(FIXTURES / "cohorts")
    stubs = start_stubs(env, cohorts)
    runtime = Runtime(env, stubs.url, cohorts, "r1", issued_keys=stubs.api_keys, credentials_dir=stubs.credentials_dir)
    try:
        assert runtime.client.configure_webhook("IF-024", SDS2, "https://sut.example:8443/hook").status == 201
        with pytest.raises(EnvironmentBroken, match=r"allowed webhook host \(sut.example:8443, 10.1.2.3\)"):
            runtime.client.configure_webhook("IF-024", SDS2, "https://sut.example:9443/hook")
    finally:
        runtime.close()
        stubs.stop()


@pytest.mark.parametrize(
    ("body", "where", "says"),
    [
        (
            "stubs: embedded\nallow_webhook_hosts: [ok.example, 'https://sut.example/']\n",
            ":5:",
            "is not HOST or HOST:PORT",
        ),
        ("stubs: embedded\nallow_webhook_hosts: ['${NOT_SET}']\n", ":5:", "environment variable NOT_SET is not set"),
        (
            "stubs: none\ndip_url: https://dip.example\nallow_webhook_hosts: [sut.example]\n",
            ":6:",
            "for a local simulator",
        ),
        ("stubs: embedded\nallow_webhook_hosts: sut.example\n", ":5:", "expected a list"),
    ],
)
def test_a_wrong_webhook_host_in_an_environment_file_names_file_line_and_key(tmp_path, body, where, says):
    env, problems = environment_file(tmp_path, body)
    assert env is None and len(problems) == 1, problems
    text = render_problems(problems)
    assert "remote-sut.yaml" + where in text and "allow_webhook_hosts" in text and says in text, text
    assert "Traceback" not in text


def test_stubs_up_takes_the_environments_hosts_and_its_option_replaces_them(tmp_path, monkeypatch):
    from mhhs_sit.cli.app import build_parser
    from mhhs_sit.cli.stubs import plan

    copy_project(tmp_path)
    head = "environment: remote-sut\nenvironment_tag: DEV\nir: IR8.2\nstubs: embedded\n"
    (tmp_path / "environments" / "remote-sut.yaml").write_text(head + "allow_webhook_hosts: [sut.example:8443]\n")
    monkeypatch.chdir(tmp_path)
    up = ["stubs", "up", "--env", "remote-sut", "--cohort", "C1"]
    assert plan(build_parser().parse_args(up)).config.webhook_hosts == ("sut.example:8443",)
    given = plan(build_parser().parse_args([*up, "--allow-webhook-host", "10.1.2.3"]))
    assert given.config.webhook_hosts == ("10.1.2.3",)
