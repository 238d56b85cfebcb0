"""Paths the framework finds from its own files: they move when modules move, so they are pinned here."""

from pathlib import Path

import mhhs_sit
from mhhs_sit.catalogue.data import DATA_DIR
from mhhs_sit.execution.containers import project_root

CHECKOUT = Path(mhhs_sit.__file__).resolve().parents[1]


def test_the_container_image_is_built_from_this_checkout() -> None:
    assert project_root() == CHECKOUT
    assert (project_root() / "stubs" / "Dockerfile").is_file()


def test_the_catalogue_data_is_found() -> None:
    assert DATA_DIR == CHECKOUT / "mhhs_sit" / "catalogue" / "data"
    assert (DATA_DIR / "interfaces.yaml").is_file()


def test_loading_the_plugin_and_the_step_kinds_leaves_the_network_stack_unloaded() -> None:
    """pytest imports the plugin for every session, --help included: the DIP client, requests,
    cryptography, the store's SQLAlchemy and jsonschema are loaded only when a run needs them."""
    import subprocess
    import sys

    probe = (
        "import sys, mhhs_sit.plugin, mhhs_sit.execution.steps, mhhs_sit.definitions.scenario_files\n"
        "print(sorted(m for m in ('requests', 'cryptography', 'sqlalchemy', 'jsonschema', 'mhhs_sit.dip.client')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_building_the_command_line_leaves_the_simulator_unloaded() -> None:
    """Every mhhs-sit command builds the whole parser; the simulator (Starlette, anyio) loaded there
    slowed each command and, imported before ``mhhs-sit run`` hands over to pytest, kept pytest from
    rewriting the asserts of anyio's plugin (a warning in every run's summary)."""
    import subprocess
    import sys

    probe = (
        "import sys\nfrom mhhs_sit.cli.app import build_parser\nbuild_parser()\n"
        "print(sorted(m for m in ('mhhs_stubs', 'starlette', 'anyio') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_validate_loads_neither_the_simulators_server_nor_the_other_commands(tmp_path: Path) -> None:
    """validate reads the simulator's rule files, not its server (aiohttp, Starlette, uvicorn), and
    builds only its own command's parser: each was a part of every validate's start-up."""
    import subprocess
    import sys

    from tests.helpers import appointment_scenario, copy_project, write

    copy_project(tmp_path, themes=False)
    write(tmp_path, "test_themes/theme_03/SITFT-03-778.yaml", appointment_scenario("SITFT-03-778"))
    probe = (
        "import sys\nfrom mhhs_sit.cli.app import main\ncode = main(['validate'])\n"
        "print(code, sorted(m for m in ('aiohttp', 'starlette', 'uvicorn', 'mhhs_stubs.server', 'mhhs_sit.cli.stubs',"
        " 'mhhs_sit.cli.evidence', 'mhhs_sit.cli.rttm') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path)
    assert done.stdout.strip().splitlines()[-1] == "0 []", done.stdout + done.stderr
