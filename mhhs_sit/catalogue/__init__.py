"""The interface catalogue: which interfaces exist, who sends and receives them, their schemas.

The project ships its own catalogue (``data/``), written from public facts and versioned by DIP
spec version with interim-release aliases; an official DIP spec can be loaded from a path with
:func:`mhhs_sit.catalogue.dipspec.load_dip_spec`.

    >>> cat = load_catalogue()
    >>> cat.interface("IF-031").recipients
    frozenset({'REGS'})
    >>> cat.validate(message, version="IR8.2")       # -> list of Violation
"""

from typing import TYPE_CHECKING

from mhhs_sit.catalogue.model import (
    Change,
    Interface,
    Role,
    UnknownInterfaceError,
    Version,
    Violation,
)

if TYPE_CHECKING:
    from mhhs_sit.catalogue.catalogue import Catalogue
    from mhhs_sit.catalogue.loader import load_catalogue

__all__ = [
    "Catalogue",
    "Change",
    "Interface",
    "Role",
    "UnknownInterfaceError",
    "Version",
    "Violation",
    "load_catalogue",
]


def __getattr__(name: str) -> object:
    # The catalogue (and jsonschema with it) is imported when first asked for, not by every module
    # that only needs the model or a helper of this package: ``mhhs-sit --help`` need not pay for it.
    if name == "Catalogue":
        from mhhs_sit.catalogue.catalogue import Catalogue

        return Catalogue
    if name == "load_catalogue":
        from mhhs_sit.catalogue.loader import load_catalogue

        return load_catalogue
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
