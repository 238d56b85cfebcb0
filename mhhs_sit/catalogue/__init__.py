"""The interface catalogue: which interfaces exist, who sends and receives them, their schemas.

The project ships its own catalogue (``data/``), written from public facts and versioned by DIP
spec version with interim-release aliases; an official DIP spec can be loaded from a path with
:func:`mhhs_sit.catalogue.dipspec.load_dip_spec`.

    >>> cat = load_catalogue()
    >>> cat.interface("IF-031").recipients
    frozenset({'REGS'})
    >>> cat.validate(message, version="IR8.2")       # -> list of Violation
"""

from mhhs_sit.catalogue.catalogue import Catalogue, load_catalogue
from mhhs_sit.catalogue.model import (
    Change,
    Interface,
    Role,
    UnknownInterfaceError,
    Version,
    Violation,
)

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
