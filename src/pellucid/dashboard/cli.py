"""``pellucid dashboard``: serve an explanation's dashboard on 127.0.0.1, or write it to one HTML file.

The lead's ``pellucid/cli.py`` calls :func:`add_parser` with its subparsers and :func:`run` with the parsed args.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``dashboard`` subcommand on an ``argparse`` subparsers object."""
    parser = subparsers.add_parser(
        "dashboard",
        help="serve an explanation's interactive dashboard",
        description="Serve the interactive dashboard of a saved explanation on 127.0.0.1 and print its URL "
        "(Ctrl+C stops it), or write it to one self-contained HTML file with --output.",
    )
    parser.add_argument("explanation", help="saved explanation (.json written by Explanation.save)")
    parser.add_argument("--data", help="the explained rows: a .csv, .parquet or .npy file")
    parser.add_argument("--target", help="column of the --data file holding the true targets")
    parser.add_argument("--port", type=int, default=0, help="port to serve on (default: a free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--max-points", type=int, default=5000, help="most rows drawn in point views")
    parser.add_argument("--output", help="write the page to this .html file instead of serving it")
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``pellucid dashboard`` with parsed arguments; returns the exit status."""
    from pellucid.dashboard.server import make_server

    server = make_server(args.explanation, args.data, args.host, args.port, target=args.target,
                         max_points=args.max_points)
    if args.output:
        from pathlib import Path

        Path(args.output).write_text(server.page, encoding="utf-8")
        print(f"pellucid dashboard written to {args.output}", flush=True)
        return 0
    server.start()
    stopped = threading.Event()

    def _stop(signum: int, frame: Any) -> None:
        stopped.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    print(f"pellucid dashboard: serving {server.url} (Ctrl+C to stop)", flush=True)
    try:
        while not stopped.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("pellucid dashboard: stopped", file=sys.stderr, flush=True)
    return 0
