"""The local DIP simulator and participant simulators (importable as ``mhhs_stubs``).

The names below are imported on first use (PEP 562): ``mhhs-sit validate`` reads only the rule
files (``mhhs_stubs.rule_files``), and importing the server with it (aiohttp, starlette, uvicorn)
cost every validate a fifth of a second.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mhhs_stubs.app import SimulatorApp, create_app
    from mhhs_stubs.config import DeliveryPolicy, SimParticipant, SimulatorConfig, config_from_cohorts
    from mhhs_stubs.server import EmbeddedSimulator

_WHERE = {
    "DeliveryPolicy": "config",
    "EmbeddedSimulator": "server",
    "SimParticipant": "config",
    "SimulatorApp": "app",
    "SimulatorConfig": "config",
    "config_from_cohorts": "config",
    "create_app": "app",
}

__all__ = [
    "DeliveryPolicy",
    "EmbeddedSimulator",
    "SimParticipant",
    "SimulatorApp",
    "SimulatorConfig",
    "config_from_cohorts",
    "create_app",
]


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'mhhs_stubs' has no attribute {name!r}")
    value = getattr(import_module(f"mhhs_stubs.{module}"), name)
    globals()[name] = value
    return value
