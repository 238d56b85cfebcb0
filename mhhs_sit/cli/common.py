"""What every ``mhhs-sit`` sub-command shares: framework errors become a message and exit code 2."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable

from mhhs_sit.errors import MhhsSitError

Handler = Callable[[argparse.Namespace], int]


def guarded(handler: Handler, prefix: Callable[[argparse.Namespace], str]) -> Handler:
    """``handler`` with MhhsSitError reported as ``<prefix>: <message>`` on stderr, exit code 2."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except MhhsSitError as exc:
            print(f"{prefix(args)}: {exc}", file=sys.stderr)
            return 2

    return run
