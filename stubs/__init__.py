"""The local DIP simulator and participant simulators (importable as ``mhhs_stubs``)."""

from mhhs_stubs.app import SimulatorApp, create_app
from mhhs_stubs.config import DeliveryPolicy, SimParticipant, SimulatorConfig, config_from_cohorts
from mhhs_stubs.server import EmbeddedSimulator

__all__ = [
    "DeliveryPolicy",
    "EmbeddedSimulator",
    "SimParticipant",
    "SimulatorApp",
    "SimulatorConfig",
    "config_from_cohorts",
    "create_app",
]
