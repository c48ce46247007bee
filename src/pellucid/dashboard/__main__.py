"""``python -m pellucid.dashboard EXPLANATION [--data D] [--port P]``: the ``pellucid dashboard`` command alone."""

from __future__ import annotations

import argparse
import sys

from pellucid.dashboard.cli import add_parser, run
from pellucid.errors import PellucidError


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` as the arguments of ``pellucid dashboard`` and run it."""
    parser = argparse.ArgumentParser(prog="python -m pellucid.dashboard")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["dashboard", *(sys.argv[1:] if argv is None else argv)])
    try:
        return run(args)
    except (PellucidError, FileNotFoundError) as exc:
        print(f"pellucid dashboard: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
