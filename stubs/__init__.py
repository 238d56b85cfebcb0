"""The local DIP simulator and participant simulators (importable as ``mhhs_stubs``).

The names below are imported on first use (PEP 562): ``mhhs-sit validate`` reads only the rule
files (``mhhs_stubs.rule_files``), and importing the server with it (aiohttp, starlette, uvicorn)
cost every validate a fifth of a second.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mhhs_sit.core.lazy_names import lazy_names

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


__getattr__ = lazy_names(__name__, _WHERE, globals())
