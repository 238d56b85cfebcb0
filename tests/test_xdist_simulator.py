"""Under xdist the controller starts the one local simulator; workers never start their own."""

from tests.helpers import appointment_scenario, copy_project, write

# The controller's simulator cannot start; a worker that tried to start one would say so.
FAILING_SIMULATOR = """
import pytest

from mhhs_sit.errors import ConfigError
from mhhs_sit.execution import local_stubs


def pytest_configure(config):
    where = "a worker started a simulator of its own" if hasattr(config, "workerinput") else "port 4242 is taken"

    def start_stubs(*args, **kwargs):
        raise ConfigError(where)

    local_stubs.start_stubs = start_stubs
"""


def test_a_worker_reports_the_controllers_simulator_failure_as_broken(pytester):
    project = copy_project(pytester.path, themes=False)
    write(project, "test_themes/one.yaml", appointment_scenario("T-01-902", roles="[SUP, SDS]"))
    write(project, "conftest.py", FAILING_SIMULATOR)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "-q", "--cohort", "C1", timeout=120)
    out = result.stdout.str()
    assert result.ret == 1
    assert "1 broken" in out
    assert "the local simulator did not start in the xdist controller: port 4242 is taken" in out
    assert "of its own" not in out
