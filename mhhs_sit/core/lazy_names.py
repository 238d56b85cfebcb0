"""A package's public names imported on first use (PEP 562), so that importing one light module
of the package does not import the heavy ones beside it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module


def lazy_names(package: str, where: Mapping[str, str], namespace: dict[str, object]) -> Callable[[str], object]:
    """The package's ``__getattr__``: ``name`` from ``package.<where[name]>``, kept in ``namespace``."""

    def __getattr__(name: str) -> object:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    return __getattr__
