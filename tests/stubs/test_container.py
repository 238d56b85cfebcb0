"""The simulator in a container started through testcontainers, for real (``stubs: container``).

Needs a Docker engine and the base image (``.ci/docker-base``): without them these tests are
skipped, unless ``MHHS_SIT_REQUIRE_TOOLS=1`` (as in CI), where that is a failure. Without an
engine, the one-line error is tested everywhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import NoReturn

import pytest
import requests

from mhhs_sit.definitions.cohorts import load_cohorts
from mhhs_sit.errors import EnvironmentBroken
from mhhs_sit.execution.containers import (
    LABEL,
    ContainerSimulator,
    NoDockerEngine,
    close_client,
    docker_client,
    simulator_image,
    start_container,
)
from mhhs_stubs import config_from_cohorts
from tests.helpers import REPO, copy_project
from tests.stubs.messages import appointment

pytestmark = pytest.mark.slow


def _unavailable(what: str) -> NoReturn:
    if os.environ.get("MHHS_SIT_REQUIRE_TOOLS") == "1":
        pytest.fail(f"a Docker engine with the simulator image is required here (MHHS_SIT_REQUIRE_TOOLS=1): {what}")
    pytest.skip(what)


@pytest.fixture(scope="module")
def engine():
    """The engine, with the simulator image built (once per source tree: later runs reuse it)."""
    try:
        client = docker_client()
    except EnvironmentBroken as exc:  # no Docker engine
        _unavailable(str(exc))
    try:
        image = simulator_image(client)
    except EnvironmentBroken as exc:  # the base image is missing
        close_client(client)
        _unavailable(str(exc))
    yield client, image
    close_client(client)


@pytest.fixture(scope="module")
def config():
    cohorts, problems = load_cohorts(REPO / "cohorts")
    assert not problems
    return config_from_cohorts(cohorts.values(), version="1.8.2")


def test_no_engine_is_one_clear_line_naming_the_embedded_alternative(config, monkeypatch, tmp_path):
    socket = tmp_path / "no-docker.sock"
    monkeypatch.setenv("DOCKER_HOST", f"unix://{socket}")
    with pytest.raises(NoDockerEngine) as caught:
        start_container(config)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"no Docker engine reachable at unix://{socket} (from DOCKER_HOST): no such socket;")
    assert message.endswith("use the embedded simulator instead: --env local (pytest --mhhs-env local)")

    done = subprocess.run(
        [sys.executable, "-m", "mhhs_sit.cli.app", "stubs", "up", "--env", "local-containers"],
        cwd=REPO, capture_output=True, text=True, timeout=60, env={**os.environ, "DOCKER_HOST": f"unix://{socket}"},
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [f"mhhs-sit stubs up: {message}"]


def test_the_container_accepts_a_message_and_journals_it(engine, config):
    client, image = engine
    with ContainerSimulator(config) as sim:
        assert sim.image == image
        container_id = sim.container.get_wrapped_container().id
        ours = {c.id: c for c in client.client.containers.list(filters={"label": LABEL})}
        assert ours[container_id].attrs["HostConfig"]["NetworkMode"] == "host"
        key = config.api_keys["2300000101"]
        r = requests.post(
            f"{sim.url}/dip-channel/IF-031", json=[{"payload": appointment("1000000000052")}],
            headers={"X-API-Key": key}, timeout=5,
        )  # fmt: skip
        assert r.status_code == 201, r.text
        requests.post(f"{sim.url}/_sim/idle", headers=sim.control_headers, params={"timeout": 5}, timeout=10)
        journal = requests.get(
            f"{sim.url}/_sim/messages", headers=sim.control_headers, params={"mpan": "1000000000052"}, timeout=5
        ).json()
        first = journal["messages"][0]
        assert (first["kind"], first["interface"], first["sender"]) == ("accepted", "IF-031", "2300000101")
        assert [d["recipient"] for d in first["deliveries"]] == ["2200000101"]
        assert "IF-032" in [e["interface"] for e in journal["messages"]]  # the simulated REGS answered
        # the config (with the keys) is mounted read-only, not baked into the image
        assert key not in json.dumps(client.client.images.get(image).attrs)
    assert container_id not in [c.id for c in client.client.containers.list(all=True)]
    assert not client.client.containers.list(all=True, filters={"label": f"{LABEL}={os.getpid()}"})  # none leaked
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{sim.url}/_sim/health", headers=sim.control_headers, timeout=2)


def _outcomes(pytester, env: str) -> dict[str, str]:
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-q", "--mhhs-env", env, "--mhhs-results", f"out-{env}.json", timeout=300
    )
    result.assert_outcomes(passed=16)
    cases = json.loads((pytester.path / f"out-{env}.json").read_text())["cases"]
    return {f"{c['case']}[{c['cohort']}]": c["status"] for c in cases}


def test_the_example_cycle_passes_in_a_container_as_it_does_embedded(engine, pytester):
    copy_project(pytester.path)
    in_container = _outcomes(pytester, "local-containers")
    assert set(in_container.values()) == {"passed"} and len(in_container) == 16
    assert in_container == _outcomes(pytester, "local")


def test_a_missing_base_image_says_how_to_build_it(engine, monkeypatch):
    client, _ = engine
    monkeypatch.setattr("mhhs_sit.execution.containers.BASE_IMAGE", "local/debian-python:no-such-tag")
    with pytest.raises(EnvironmentBroken) as caught:
        simulator_image(client)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("the simulator image's base local/debian-python:no-such-tag is missing")
    assert "'sudo .ci/docker-base'" in message and "--env local" in message
