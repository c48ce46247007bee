"""The ``pellucid`` command line: explain, demo, and the subcommands of the edge packages.

``pellucid explain --model M --data D [--background B] --out explanation.json`` explains a saved model;
``pellucid demo`` runs the classic example end to end. Subcommands of optional parts (``serve``, ``dashboard``,
``history``) are added when their package is importable, and otherwise say which extra installs them.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pellucid._version import __version__
from pellucid.errors import (
    ArgumentError,
    EmptyDataError,
    MissingDependencyError,
    MissingFileError,
    PellucidError,
    UnsupportedInputError,
)

__all__ = ["main", "build_parser", "load_model", "load_table"]


def _dashboard_cli() -> Any:
    from pellucid.dashboard import cli

    return cli


def _history_cli() -> Any:
    from pellucid.store import cli

    return cli


def _serve_cli() -> Any:
    from pellucid.serve import cli

    return cli


# subcommand -> (loader of the module with add_parser(subparsers) and run(args), extra that installs its dependencies)
PLUGINS: dict[str, tuple[Callable[[], Any], str]] = {
    "dashboard": (_dashboard_cli, "dashboard"),
    "history": (_history_cli, "mlflow"),
    "serve": (_serve_cli, "serve"),
}

METHODS = ("auto", "tree", "linear", "kernel", "deep", "mimic", "lime", "pfi")


def load_table(path: str | Path) -> Any:
    """Read a CSV or Parquet file into a DataFrame."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        found = "a folder" if path.is_dir() else "no file"
        raise MissingFileError(f"expected an existing CSV or Parquet file; found {found} at {path}")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        what, read = "a Parquet file", lambda: pd.read_parquet(path)
    elif suffix in (".csv", ".txt", ".tsv"):
        what, read = "a CSV file", lambda: pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    else:
        raise ArgumentError(f"expected a .csv, .tsv or .parquet file; found {path.name}")
    if path.stat().st_size == 0:
        raise EmptyDataError(f"expected {what} with a header and rows; found an empty file at {path}")
    try:
        frame = read()
    except ImportError as exc:
        raise MissingDependencyError(f"reading {path.name} needs pyarrow ({exc}); pip install pyarrow") from exc
    except Exception as exc:  # pandas/pyarrow raise ParserError, ArrowInvalid, UnicodeDecodeError, OSError ...
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise UnsupportedInputError(f"expected {what} at {path}; it cannot be read ({type(exc).__name__}: {first})") from exc
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise EmptyDataError(f"expected {what} with at least one row and one column; {path} has shape {frame.shape}")
    return frame


def check_output_path(path: str | Path, option: str = "--out") -> Path:
    """An output file path whose folder exists (checked before any work is done)."""
    path = Path(path)
    if path.is_dir():
        raise ArgumentError(f"{option} must name a file; found a folder at {path}")
    if not path.parent.is_dir():
        raise MissingFileError(f"{option} must be in an existing folder; found no folder {path.parent} for {path}")
    return path


def load_model(path: str | Path, *, allow_pickle: bool = False) -> Any:
    """Load a model file: LightGBM ``.txt``, XGBoost ``.json``/``.ubj``, scikit-learn ``.skops`` (safe), or
    joblib/pickle only with ``allow_pickle`` (unpickling runs code from the file)."""
    from pellucid.scoring import load_model_file

    return load_model_file(path, allow_pickle=allow_pickle)


def _explainer_class(method: str) -> Any:
    """The explainer class behind ``--method`` (imported on use: ``pellucid --help`` loads no explainer)."""
    if method == "auto":
        from pellucid.explainers.tabular import TabularExplainer

        return TabularExplainer
    from pellucid.explainers.registry import EXPLAINERS

    if method not in EXPLAINERS:
        raise ArgumentError(f"--method must be one of {METHODS}; found {method!r}")
    return EXPLAINERS[method]


def _make_explainer(method: str, model: Any, background: Any, options: dict) -> Any:
    if method == "mimic":
        from pellucid.mimic.models import LGBMExplainableModel

        return _explainer_class(method)(model, background, LGBMExplainableModel, **options)
    return _explainer_class(method)(model, background, **options)


def _run_demo(args: argparse.Namespace) -> Any:
    from pellucid import demo

    return demo.run(args.out_dir)


# Python argument names in pellucid's messages -> the flags a command-line user typed.
_FLAG_WORDS = (
    ("evaluation_examples", "--data"),
    ("true_labels", "--target"),
    ("model_task", "--model-task"),
)


def _in_cli_words(exc: PellucidError, args: argparse.Namespace) -> PellucidError:
    """The same error, naming the CLI flags instead of the Python arguments behind them."""
    message = str(exc)
    background = "--background" if args.background else "--data (the background, as no --background was given)"
    for python_name, flag in (("initialization_examples", background), *_FLAG_WORDS):
        message = message.replace(python_name, flag)
    if message == str(exc):
        return exc
    try:
        translated = type(exc)(message)
    except TypeError:  # an error type with another constructor: keep it as it is
        return exc
    translated.__cause__ = exc
    return translated


def _model_columns(model: Any) -> tuple[int | None, list[str] | None]:
    """The number and names of the features a loaded model expects, where the model says."""
    names = getattr(model, "feature_names_in_", None)
    count = getattr(model, "n_features_in_", None)
    for number, naming in (("num_feature", "feature_name"), ("num_features", None)):  # LightGBM, XGBoost boosters
        if count is None and callable(getattr(model, number, None)):
            try:
                count = int(getattr(model, number)())
                names = getattr(model, naming)() if naming else getattr(model, "feature_names", None)
            except Exception:  # a model object that only looks like a booster
                count, names = None, None
    return (None if count is None else int(count)), (None if names is None else [str(n) for n in names])


def _check_columns(model: Any, data: Any, args: argparse.Namespace) -> None:
    """Compare --data's columns with the model's features; say which flag fixes a mismatch."""
    count, names = _model_columns(model)
    columns = [str(c) for c in data.columns]
    hint = ("pass --target COLUMN to drop the label column" if args.target is None
            else "drop the extra columns from the file")
    generic = names is not None and all(re.fullmatch(r"(Column_|f)\d+", n) for n in names)  # booster defaults
    if names is not None and count == len(names) and not generic:
        missing = [n for n in names if n not in columns]
        extra = [c for c in columns if c not in names]
        if missing:
            raise ArgumentError(f"--data lacks the model's features {missing}; found the columns {columns}")
        if extra:
            raise ArgumentError(f"--data has columns the model was not trained on: {extra}; {hint}")
        return
    if count is not None and count != len(columns):
        raise ArgumentError(
            f"--data has {len(columns)} columns after dropping --target; the model expects {count} features"
            + (f": {hint}" if len(columns) > count else "")
        )


def _check_out(out: Path, force: bool) -> None:
    if force:
        return
    for path, what in ((out, f"--out {out}"), (out.with_name(out.name + ".npz"), f"the array file of --out, {out}.npz,")):
        if path.exists():
            raise ArgumentError(f"{what} already exists; pass --force to overwrite it, or choose another --out")


def _run_explain(args: argparse.Namespace) -> int:
    if args.method == "pfi" and args.target is None:
        raise ArgumentError("--method pfi needs the true labels: pass --target COLUMN")
    if args.top_k < 1:
        raise ArgumentError(f"--top-k must be a positive integer; found {args.top_k}")
    check_output_path(args.out)
    data = load_table(args.data)
    labels = None
    if args.target is not None:
        if args.target not in data.columns:
            raise ArgumentError(f"--target names column {args.target!r}, which {args.data} does not have")
        labels = data.pop(args.target).to_numpy()
    background = load_table(args.background).drop(columns=[args.target], errors="ignore") if args.background else data
    model = load_model(args.model, allow_pickle=args.allow_pickle)
    _check_out(Path(args.out), args.force)
    _check_columns(model, data, args)
    options: dict[str, Any] = {}
    if args.model_task != "unknown":
        options["model_task"] = args.model_task
    try:
        explainer = _make_explainer(args.method, model, background, options)
        if args.method == "pfi":
            explanation = explainer.explain_global(data, labels)
        else:
            explanation = explainer.explain_global(data)
    except PellucidError as exc:
        raise _in_cli_words(exc, args) from exc.__cause__
    explanation.save(args.out)
    if explanation.local_values is not None:
        measure = f"values in the {explanation.meta.get('output_space', 'unrecorded')} space"
    else:  # a global-only method (permutation importance): importances are drops of a metric
        measure = f"importances as drops in {explanation.meta.get('metric', 'the score')}"
    print(f"explained {len(data)} rows with {explanation.meta.get('explainer', type(explainer).__name__)} "
          f"({explanation.method}); {measure}; saved {args.out}")
    for rank, (name, value) in enumerate(explanation.get_feature_importance_dict(args.top_k).items(), start=1):
        print(f"{rank:3d}. {name:30s} {value:.6g}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``pellucid`` command."""
    parser = argparse.ArgumentParser(prog="pellucid", description="Explain machine-learning models.")
    parser.add_argument("--version", action="version", version=f"pellucid {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what pellucid does on your behalf")
    subparsers = parser.add_subparsers(dest="command", required=True)

    explain = subparsers.add_parser("explain", help="explain a saved model on a CSV/Parquet file")
    explain.add_argument("--model", required=True, help="LightGBM .txt, XGBoost .json/.ubj, scikit-learn .skops, or .joblib (--allow-pickle)")
    explain.add_argument("--data", required=True, help="rows to explain (CSV or Parquet)")
    explain.add_argument("--background", help="background rows (CSV or Parquet); default: --data")
    explain.add_argument("--target", help="label column to drop from the data (needed by --method pfi)")
    explain.add_argument("--method", choices=METHODS, default="auto", help="explainer (default: pick automatically)")
    explain.add_argument("--model-task", choices=("unknown", "classification", "regression"), default="unknown")
    explain.add_argument("--out", default="explanation.json", help="where to save the explanation (JSON)")
    explain.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    explain.add_argument("--top-k", type=int, default=20, help="how many global importances to print")
    explain.add_argument("--allow-pickle", action="store_true", help="trust and unpickle a .joblib/.pkl model file")
    explain.set_defaults(handler=_run_explain)

    demo = subparsers.add_parser("demo", help="run the classic breast-cancer example end to end")
    demo.add_argument("--out-dir", default="demo_output", help="folder for the demo's files")
    demo.set_defaults(handler=_run_demo)

    for name, (load_plugin, extra) in PLUGINS.items():
        try:
            module = load_plugin()
        except ImportError as exc:
            missing = subparsers.add_parser(name, help=f"(needs pip install \"pellucid[{extra}]\")")
            missing.set_defaults(handler=_missing_extra(name, extra, exc))
            continue
        sub = module.add_parser(subparsers)
        if sub is not None and sub.get_default("handler") is None:
            sub.set_defaults(handler=module.run)
    return parser


def _missing_extra(name: str, extra: str, exc: ImportError):
    def handler(args: argparse.Namespace) -> int:
        print(f"pellucid {name} needs optional packages ({exc}); install them with: pip install \"pellucid[{extra}]\"",
              file=sys.stderr)
        return 2

    return handler


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pellucid`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.verbose:  # MLflow logs its store setup at INFO to stderr; pellucid's output stays its own
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
        for name in ("mlflow", "alembic"):
            logging.getLogger(name).setLevel(logging.WARNING)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return int(args.handler(args) or 0)
    except PellucidError as exc:
        print(f"error: {type(exc).__name__}: {one_line(exc)}", file=sys.stderr)
        return 2


def one_line(error: BaseException) -> str:
    """An error's message on one line (library messages may span several)."""
    return " ".join(str(error).split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
