"""``pellucid serve``: run the explanation service under uvicorn.

The lead's ``pellucid`` command adds the subcommand with :func:`add_parser` and runs it with :func:`run`; the
module also runs alone: ``python -m pellucid.serve.cli --scoring-explainer DIR``.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from pellucid.errors import ArgumentError, PellucidError, require
from pellucid.serve.service import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_ROWS

DEFAULT_READ_TIMEOUT = 30.0  # the same as pellucid.serve.app's, which imports FastAPI

__all__ = ["add_parser", "run", "main", "environment_for_workers"]

logger = logging.getLogger(__name__)

_LOOPBACK = ("127.0.0.1", "localhost", "::1")
APP_FACTORY = "pellucid.serve.app:create_app_from_env"
SIGNING_KEY_VARIABLE = "PELLUCID_SIGNING_KEY"


def _configure(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--scoring-explainer", required=True, metavar="DIR",
                        help="folder of a saved scoring explainer (ScoringExplainer.save)")
    parser.add_argument("--model", metavar="FILE",
                        help="model for the predictions: LightGBM .txt, XGBoost .json/.ubj or scikit-learn .skops "
                             "(default: the scoring explainer's own)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    parser.add_argument("--api-key-env", metavar="VAR",
                        help="name of an environment variable holding the API key clients send in X-API-Key")
    parser.add_argument("--max-rows", type=int, default=DEFAULT_MAX_ROWS, help="rows accepted per request")
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES,
                        help="largest request body accepted, in bytes")
    parser.add_argument("--read-timeout", type=float, default=DEFAULT_READ_TIMEOUT,
                        help="seconds a client has to send a request's headers, and then its body (default 30); "
                             "a stalled body gets 408, stalled headers a closed connection")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="accept a pickled model (runs code from the file: only for files you trust)")
    parser.add_argument("--signing-key-env", metavar="VAR",
                        help="name of an environment variable holding the key the artifact's manifest was signed "
                             f"with (default: {SIGNING_KEY_VARIABLE} when it is set); the signature is then verified")
    parser.add_argument("--require-signature", action="store_true",
                        help="refuse to serve an unsigned artifact (default: serve it with a warning)")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes, each with its own copy of the scoring explainer (default 1)")
    parser.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    return parser


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``serve`` subcommand to the ``pellucid`` command's subparsers; returns it (handler set to run)."""
    parser = subparsers.add_parser(
        "serve",
        help="serve predictions and explanations over HTTP",
        description="Serve a saved scoring explainer: POST /score, GET /health, GET /metadata, docs at /docs.",
    )
    _configure(parser)
    parser.set_defaults(handler=run)
    return parser


def _secret(variable: str | None, what: str) -> str | None:
    if variable is None:
        return None
    value = os.environ.get(variable)
    if not value:
        raise ArgumentError(f"--{what}-env names the environment variable {variable!r}, which is unset or empty")
    return value


def run(args: argparse.Namespace) -> int:
    """Run the service until interrupted; returns the exit status."""
    uvicorn = require("uvicorn", "serve")
    from pellucid.serve.app import create_app

    if not 0 < args.port < 65536:
        raise ArgumentError(f"--port must be between 1 and 65535; found {args.port}")
    if args.workers < 1:
        raise ArgumentError(f"--workers must be at least 1; found {args.workers}")
    api_key = _secret(args.api_key_env, "api-key")
    signing_key = _secret(args.signing_key_env, "signing-key")
    if signing_key is None and args.signing_key_env is None:
        signing_key = os.environ.get(SIGNING_KEY_VARIABLE) or None
    if api_key is None and args.host not in _LOOPBACK:
        logger.warning("serving on %s without an API key: anyone who can reach it can score", args.host)
    options = {"max_rows": args.max_rows, "max_body_bytes": args.max_body_bytes, "allow_pickle": args.allow_pickle,
               "require_signature": args.require_signature, "read_timeout": args.read_timeout}
    # Built here even with several workers: a refused artifact stops the command before anything listens.
    app = create_app(args.scoring_explainer, args.model, api_key=api_key, signing_key=signing_key, **options)
    from pellucid.serve._protocol import HeaderTimeoutProtocol

    # the same bound for the headers (here) as for the body (in the app)
    http = functools.partial(HeaderTimeoutProtocol, header_timeout=args.read_timeout)
    if args.workers == 1:
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, http=http)
        return 0
    # Worker processes build their own app from the environment (uvicorn needs an import string for them).
    os.environ.update(environment_for_workers(args.scoring_explainer, args.model, api_key, signing_key, **options))
    uvicorn.run(APP_FACTORY, factory=True, host=args.host, port=args.port, workers=args.workers,
                log_level=args.log_level, http=http)
    return 0


def environment_for_workers(folder: str, model: str | None, api_key: str | None, signing_key: str | None, *,
                            max_rows: int, max_body_bytes: int, allow_pickle: bool,
                            require_signature: bool = False,
                            read_timeout: float = DEFAULT_READ_TIMEOUT) -> dict[str, str]:
    """The variables :func:`pellucid.serve.app.create_app_from_env` reads, for worker processes."""
    environment = {"PELLUCID_SCORING_EXPLAINER": str(folder), "PELLUCID_MAX_ROWS": str(max_rows),
                   "PELLUCID_MAX_BODY_BYTES": str(max_body_bytes), "PELLUCID_ALLOW_PICKLE": "1" if allow_pickle else "0"}
    if require_signature:
        environment["PELLUCID_REQUIRE_SIGNATURE"] = "1"
    if read_timeout != DEFAULT_READ_TIMEOUT:
        environment["PELLUCID_READ_TIMEOUT"] = repr(float(read_timeout))
    for name, value in (("PELLUCID_MODEL", model), ("PELLUCID_API_KEY", api_key), ("PELLUCID_SIGNING_KEY", signing_key)):
        if value:
            environment[name] = str(value)
    return environment


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pellucid.serve.cli``: the serve subcommand on its own."""
    parser = _configure(argparse.ArgumentParser(prog="pellucid serve", description=__doc__.splitlines()[0]))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    try:
        return run(args)
    except PellucidError as exc:
        print(f"error: {type(exc).__name__}: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
