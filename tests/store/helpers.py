"""Explanations, a brute-force top-k oracle and the worker of the concurrency test, for tests/store."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pellucid.explanation import Explanation


@dataclass
class Store:
    """Where a test's explanations go: ``uri`` None means MLflow's default store of the working folder."""

    kind: str
    uri: str | None
    artifacts: Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (nothing listens on it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def artifact_file(store: Store, explanation_id: str, name: str) -> Path:
    """The stored file ``name`` of an explanation, found in the store's artifact folder on disk."""
    matches = list(store.artifacts.glob(f"**/pellucid/explanations/{explanation_id}/{name}"))
    assert len(matches) == 1, f"expected one stored {name} for {explanation_id}; found {matches}"
    return matches[0]


def classification_explanation(seed: int, n_rows: int = 6, n_features: int = 5) -> Explanation:
    """A 3-class local explanation with every optional array, mixed-type eval data and nested meta."""
    rng = np.random.default_rng(seed)
    classes = ["setosa", "versicolor", "virginica"]
    eval_data = np.empty((n_rows, n_features), dtype=object)
    eval_data[:, :-1] = rng.normal(size=(n_rows, n_features - 1))
    eval_data[:, -1] = rng.choice(["red", "green", "blue"], size=n_rows)
    return Explanation(
        method="kernel_shap",
        task="classification",
        features=[f"f{i}" for i in range(n_features)],
        classes=classes,
        local_values=rng.normal(size=(n_rows, n_features, 3)),
        expected_values=rng.normal(size=3),
        eval_data=eval_data,
        model_output=rng.uniform(size=(n_rows, 3)),
        standard_errors=rng.uniform(0.0, 0.1, size=(n_rows, n_features, 3)),
        meta={"output_space": "probability", "explainer": "TabularExplainer", "notes": ["background: 10 rows"],
              "parameters": {"nsamples": 64, "seed": seed}},
    )


def global_explanation(seed: int, n_features: int = 7) -> Explanation:
    """A regression explanation with global values only (as permutation importance gives)."""
    rng = np.random.default_rng(seed)
    return Explanation(
        method="pfi",
        task="regression",
        features=[f"x{i}" for i in range(n_features)],
        global_values=rng.normal(size=(n_features, 1)),
        meta={"output_space": "raw"},
    )


def top_k_oracle(values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force top-k by |value| over the feature axis (axis -2), ties to the lower feature index.

    Returns the trimmed values (others 0) and the kept indices, shape values.shape with axis -2 set to k.
    """
    values = np.asarray(values, dtype=float)
    squeeze = values.ndim == 2
    cube = values[None] if squeeze else values
    n_rows, n_features, n_outputs = cube.shape
    trimmed = np.zeros_like(cube)
    kept = np.zeros((n_rows, k, n_outputs), dtype=np.int64)
    for row in range(n_rows):
        for output in range(n_outputs):
            ranked = sorted(range(n_features), key=lambda f: (-abs(cube[row, f, output]), f))[:k]
            for rank, feature in enumerate(ranked):
                trimmed[row, feature, output] = cube[row, feature, output]
                kept[row, rank, output] = feature
    return (trimmed[0], kept[0]) if squeeze else (trimmed, kept)


def upload_worker(job: tuple[str, str, str, str, int]) -> tuple[str, str]:
    """Upload explanation ``seed`` to MLflow's default store (from ``workdir``) and to the server; return both ids.

    Runs in a spawned process: it starts from a clean interpreter, like a separate job would.
    """
    workdir, embedded_run_id, server_uri, server_run_id, seed = job
    from pellucid.store import ExplanationClient

    os.chdir(workdir)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    explanation = classification_explanation(seed)
    embedded = ExplanationClient.from_run_id(embedded_run_id)
    server = ExplanationClient.from_run_id(server_run_id, tracking_uri=server_uri)
    comment = f"worker {seed}"
    return (
        embedded.upload_model_explanation(explanation, comment=comment),
        server.upload_model_explanation(explanation, comment=comment),
    )
