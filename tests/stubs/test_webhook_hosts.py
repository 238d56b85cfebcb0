"""Webhooks beyond loopback, over real loopback HTTP: only on the hosts (and ports) the simulator
was started with; anything else is refused with the reason and the allowed list."""

import pytest
import requests

from mhhs_sit.definitions.cohorts import load_cohorts
from mhhs_stubs import EmbeddedSimulator, config_from_cohorts
from tests.helpers import FIXTURES

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
