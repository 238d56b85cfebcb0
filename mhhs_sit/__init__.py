"""mhhs-sit: YAML-defined MHHS SIT and qualification tests run by pytest."""

from mhhs_sit.errors import (
    ConfigError,
    DefinitionError,
    EnvironmentBroken,
    MhhsSitError,
    Problem,
    ScenarioFailure,
    StepDefinitionError,
    TestDataError,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DefinitionError",
    "EnvironmentBroken",
    "MhhsSitError",
    "Problem",
    "ScenarioFailure",
    "StepDefinitionError",
    "TestDataError",
    "__version__",
]
