"""The project's own interface catalogue, as YAML data (a package so that it ships in wheels).

Written from public facts (the DIP spec's published field names and rules, the MHHS interface
catalogue's senders and receivers); not a copy of the official specification. Anything the
project models rather than takes from a publication is marked ``modelled``.
"""

from pathlib import Path

DATA_DIR = Path(__file__).parent  # the files themselves: reading them needs none of the loader
