"""``pellucid history upload|list|download``: the explanation history from the command line.

``pellucid history upload explanation.json --run-id RUN`` (or ``--experiment NAME`` for a new run) prints the
run id and the new explanation id as JSON; ``pellucid history list --run-id RUN`` prints the stored explanations
(``--experiment NAME`` those of every run of an experiment);
``pellucid history download --run-id RUN [--id ID] [--top-k K] --out FILE`` writes one back to a file.
Every subcommand takes ``--tracking-uri`` (default: whatever MLflow itself would use, ``mlflow.get_tracking_uri()``:
MLFLOW_TRACKING_URI, else MLflow's default store).

Errors are pellucid errors; ``pellucid``'s ``main`` prints them and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pellucid.errors import ArgumentError
from pellucid.explanation import Explanation

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``history`` subcommand (with ``upload``, ``list`` and ``download``) to ``subparsers``.

    Returns
    -------
    argparse.ArgumentParser
        The ``history`` parser; its ``handler`` default is :func:`run`.
    """
    history = subparsers.add_parser("history", help="upload, list and download explanations on MLflow runs")
    commands = history.add_subparsers(dest="history_command", required=True)

    upload = commands.add_parser("upload", help="upload an explanation JSON file to a run")
    upload.add_argument("file", help="explanation JSON written by Explanation.save or `pellucid explain`")
    target = upload.add_mutually_exclusive_group(required=True)
    target.add_argument("--run-id", help="existing MLflow run to upload to")
    target.add_argument("--experiment", help="create a new run in this experiment (created when missing)")
    upload.add_argument("--run-name", help="name of the new run (with --experiment)")
    upload.add_argument("--top-k", type=int, help="store only the top-k features per row and output")
    upload.add_argument("--comment", help="free text shown by `history list`")
    upload.add_argument("--model-id", help="identifier of the explained model, kept for reference")
    upload.add_argument("--init-dataset-id", help="identifier of the background dataset, kept for reference")

    listing = commands.add_parser("list", help="list the explanations stored on a run or in an experiment")
    where = listing.add_mutually_exclusive_group(required=True)
    where.add_argument("--run-id", help="MLflow run id")
    where.add_argument("--experiment", help="list the explanations of every run of this experiment")
    listing.add_argument("--comment", help="only explanations uploaded with exactly this comment")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")

    download = commands.add_parser("download", help="download one explanation to a JSON file")
    download.add_argument("--run-id", required=True, help="MLflow run id")
    download.add_argument("--id", dest="explanation_id", help="explanation id (default: the newest upload)")
    download.add_argument("--top-k", type=int, help="keep only the top-k features per row and output")
    download.add_argument("--out", required=True, help="file to write (JSON, with .npz beside it for large arrays)")

    for sub in (upload, listing, download):
        sub.add_argument("--tracking-uri", help="MLflow tracking URI (default: MLflow's own, i.e. MLFLOW_TRACKING_URI or MLflow's default store)")
        sub.add_argument("--timeout", type=float, help="seconds each call to the store may take in all "
                                                         "(default: PELLUCID_STORE_TIMEOUT, else 15)")
    history.set_defaults(handler=run)
    return history


def run(args: argparse.Namespace) -> int:
    """Run a parsed ``history`` subcommand; returns the exit status (0 on success)."""
    from pellucid.store.client import ExplanationClient, list_experiment_explanations

    command = args.history_command
    if command == "upload":
        path = Path(args.file)
        if not path.is_file():
            raise ArgumentError(f"expected an explanation JSON file; found no file at {path}")
        explanation = Explanation.load(path)
        if args.run_id:
            client = ExplanationClient.from_run_id(args.run_id, tracking_uri=args.tracking_uri, timeout=args.timeout)
        else:
            client = ExplanationClient.create_run(args.experiment, run_name=args.run_name,
                                                  tracking_uri=args.tracking_uri, timeout=args.timeout)
        explanation_id = client.upload_model_explanation(
            explanation, top_k=args.top_k, comment=args.comment, init_dataset_id=args.init_dataset_id,
            model_id=args.model_id,
        )
        print(json.dumps({"run_id": client.run_id, "explanation_id": explanation_id}))
        return 0
    if command == "download":
        out = Path(args.out)
        if out.is_dir() or not out.parent.is_dir():
            raise ArgumentError(f"--out must name a file in an existing folder; found {out}")
    if command == "list" and args.experiment:
        records = list_experiment_explanations(args.experiment, tracking_uri=args.tracking_uri, comment=args.comment,
                                               timeout=args.timeout)
        if args.json:
            print(json.dumps(records, indent=1))
        else:
            _print_table(records, with_run=True)
        return 0
    client = ExplanationClient.from_run_id(args.run_id, tracking_uri=args.tracking_uri, timeout=args.timeout)
    if command == "list":
        records = client.list_model_explanations(comment=args.comment)
        if args.json:
            print(json.dumps(records, indent=1))
        else:
            _print_table(records)
        return 0
    if command == "download":
        explanation = client.download_model_explanation(args.explanation_id, top_k=args.top_k)
        written = explanation.save(args.out)
        print(json.dumps({"explanation_id": explanation.id, "file": str(written)}))
        return 0
    raise ArgumentError(f"expected a history subcommand (upload, list, download); found {command!r}")


def _print_table(records: list[dict[str, Any]], *, with_run: bool = False) -> None:
    if not records:
        print("no explanations " + ("in this experiment" if with_run else "on this run"), file=sys.stderr)
        return
    columns: tuple[str, ...] = ("id", "upload_time", "method", "explainer", "top_k", "num_examples", "comment")
    if with_run:
        columns = ("run_id", *columns)
    rows = [[("" if record[c] is None else str(record[c])) for c in columns] for record in records]
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)))
