"""``save_explanation`` / ``load_explanation``: the SDK's folder functions, reading the SDK's own folders too.

The SDK's ``save_explanation(explanation, path, exist_ok=False)`` wrote a folder: ``explanation_metadata.json``
(id, task, method, flags, counts) and one ``<property>.json`` per property, each ``{"metadata": kind, "data":
value}`` with kind ``list``, ``ndarray``, ``DataFrame``, ``DatasetWrapper``, ``DatasetWrapperSparse`` or
``sparse``. :func:`load_explanation` reads such a folder into a pellucid :class:`Explanation` (JSON only:
nothing is unpickled or run), and also reads what :func:`save_explanation` writes here (the folder holds
pellucid's versioned ``explanation.json``) or a single ``.json`` file written by :meth:`Explanation.save`.

Examples
--------
>>> import numpy as np, tempfile
>>> e = Explanation(method="example", task="regression", features=["a", "b"],
...                 local_values=np.array([[[1.0], [-3.0]]]), expected_values=np.array([0.5]))
>>> folder = tempfile.mkdtemp() + "/saved"
>>> load_explanation(save_explanation(e, folder)).equals(e)
True
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from pellucid.errors import ArgumentError, DataShapeError, ExplanationFormatError
from pellucid.explanation import CLASSIFICATION, REGRESSION, Explanation

__all__ = ["save_explanation", "load_explanation", "SDK_METADATA", "EXPLANATION_FILE"]

#: The SDK folder's metadata file.
SDK_METADATA = "explanation_metadata.json"
#: The file :func:`save_explanation` writes in its folder.
EXPLANATION_FILE = "explanation.json"
_KINDS = ("list", "ndarray", "DataFrame", "DatasetWrapper", "DatasetWrapperSparse", "sparse", "other")


def save_explanation(explanation: Explanation, path: str | Path, exist_ok: bool = False) -> Path:
    """Save ``explanation`` in the folder ``path`` (the SDK's signature), creating it and its parents.

    Parameters
    ----------
    explanation : Explanation
    path : str or Path
        The folder; it must not exist unless ``exist_ok`` (as in the SDK).
    exist_ok : bool, default False
        Write into an existing folder, replacing a previous ``explanation.json``.

    Returns
    -------
    Path
        The folder.
    """
    folder = Path(path)
    if folder.exists() and not exist_ok:
        raise ArgumentError(f"the folder {folder} already exists; pass a new folder or exist_ok=True")
    if folder.exists() and not folder.is_dir():
        raise ArgumentError(f"save_explanation writes a folder; found a file at {folder}")
    folder.mkdir(parents=True, exist_ok=True)
    explanation.save(folder / EXPLANATION_FILE)
    return folder


def load_explanation(path: str | Path) -> Explanation:
    """Load an explanation: an SDK ``save_explanation`` folder, a folder of :func:`save_explanation`, or a file.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    Explanation
        From an SDK folder: local values in pellucid's layout (the SDK's single-row layout is recorded as
        ``single_row``), global values from ``per_class_values`` or ``global_importance_values`` for a
        global-only explanation, and ``meta["sdk"]`` holding the SDK's metadata.

    Raises
    ------
    FileNotFoundError
        When nothing is at ``path``.
    ExplanationFormatError
        For a folder holding neither format, or SDK files that do not fit together.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no explanation at {path}")
    if path.is_file():
        return Explanation.load(path)
    if (path / EXPLANATION_FILE).is_file():
        return Explanation.load(path / EXPLANATION_FILE)
    if (path / SDK_METADATA).is_file():
        return _load_sdk_folder(path)
    raise ExplanationFormatError(
        f"expected an explanation folder holding {EXPLANATION_FILE} (pellucid) or {SDK_METADATA} (the SDK's "
        f"save_explanation) at {path}; found neither"
    )


# ---------------------------------------------------------------------- the SDK's folder
def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ExplanationFormatError(f"{path} is not JSON: {exc}") from exc


def _read_property(folder: Path, name: str) -> Any:
    """The value of ``<name>.json`` (dense: sparse kinds become arrays), or None when the file is absent."""
    path = folder / f"{name}.json"
    if not path.is_file():
        return None
    document = _read_json(path)
    if not isinstance(document, dict) or "data" not in document or document.get("metadata") not in _KINDS:
        raise ExplanationFormatError(
            f"{path} must hold {{'metadata': one of {_KINDS}, 'data': ...}} as the SDK wrote it; found "
            f"{type(document).__name__} with metadata {document.get('metadata') if isinstance(document, dict) else None!r}"
        )
    data = document["data"]
    if document["metadata"] in ("sparse", "DatasetWrapperSparse"):
        return _dense(data, path)
    return data


def _dense(data: Any, path: Path) -> np.ndarray:
    """The SDK's sparse form ``[data, indices, indptr, shape]`` (a list of those per class) as a dense array."""
    import scipy.sparse as sp

    try:
        if isinstance(data[0][0], list):  # one CSR matrix per class
            return np.stack([_dense(part, path) for part in data])
        values, indices, indptr, shape = data
        return sp.csr_matrix((values, indices, indptr), shape=tuple(shape)).toarray()
    except (TypeError, ValueError, IndexError) as exc:
        raise ExplanationFormatError(f"{path} holds a sparse matrix that cannot be read: {exc}") from exc


def _load_sdk_folder(folder: Path) -> Explanation:
    metadata = _read_json(folder / SDK_METADATA)
    if not isinstance(metadata, dict):
        raise ExplanationFormatError(f"{folder / SDK_METADATA} must hold a JSON object; found {type(metadata).__name__}")
    task = CLASSIFICATION if metadata.get("model_type") == CLASSIFICATION else REGRESSION
    local = _read_property(folder, "local_importance_values")
    try:
        local_values, single_row = _local_values(local, task)
        n_features = local_values.shape[1] if local_values is not None else None
        global_values = None if local_values is not None else _global_values(folder, task)
        if n_features is None:
            n_features = global_values.shape[0]
        n_outputs = local_values.shape[2] if local_values is not None else global_values.shape[1]
        features = _read_property(folder, "features")
        classes = _read_property(folder, "classes") if task == CLASSIFICATION else None
        if task == CLASSIFICATION and classes is None:
            classes = list(range(n_outputs))
        expected = _read_property(folder, "expected_values")
        rows = local_values.shape[0] if local_values is not None else 0
        eval_data = _read_property(folder, "eval_data") if local_values is not None else None
        if eval_data is not None and np.ndim(eval_data) == 1 and rows == 1:
            eval_data = [eval_data]
        return Explanation(
            method=metadata.get("method") or "unknown",
            task=task,
            features=list(range(n_features)) if features is None else features,
            classes=classes,
            local_values=local_values,
            global_values=global_values,
            expected_values=None if expected is None else np.atleast_1d(np.asarray(expected, dtype=np.float64)),
            eval_data=eval_data,
            eval_y_predicted=_read_property(folder, "eval_y_predicted") if rows else None,
            eval_y_predicted_proba=_read_property(folder, "eval_y_predicted_proba") if rows else None,
            meta={
                "method": metadata.get("method"),
                "model_type": metadata.get("model_class"),
                "notes": [
                    f"loaded from the SDK's save_explanation folder {folder.name!r} (serialization_version "
                    f"{metadata.get('serialization_version')}); init_data is not kept"
                ],
                "sdk": metadata,
            },
            explanation_id=metadata.get("explanation_id"),
            is_raw=bool(metadata.get("is_raw", False)),
            is_engineered=bool(metadata.get("is_engineered", False)),
            single_row=single_row,
        )
    except (DataShapeError, ArgumentError, TypeError, ValueError) as exc:
        raise ExplanationFormatError(f"the SDK explanation folder {folder} does not fit together: {exc}") from exc


def _local_values(local: Any, task: str) -> tuple[np.ndarray | None, bool]:
    """SDK layout ([classes][rows][features], [rows][features], or without the row axis) -> (rows, features, outputs)."""
    if local is None:
        return None, False
    values = np.asarray(local, dtype=np.float64)
    if task == CLASSIFICATION:
        single = values.ndim == 2
        values = values[:, None, :] if single else values
        return np.moveaxis(values, 0, 2), single
    single = values.ndim == 1
    values = values[None, :] if single else values
    return values[:, :, None], single


def _global_values(folder: Path, task: str) -> np.ndarray:
    """A global-only SDK explanation's values as (features, outputs): per class when the SDK kept them."""
    per_class = _read_property(folder, "per_class_values") if task == CLASSIFICATION else None
    if per_class is not None:
        return np.asarray(per_class, dtype=np.float64).T
    overall = _read_property(folder, "global_importance_values")
    if overall is None:
        raise ExplanationFormatError(
            f"the SDK explanation folder {folder} has neither local_importance_values.json nor "
            "global_importance_values.json"
        )
    overall = np.asarray(overall, dtype=np.float64)
    if task == REGRESSION:
        return overall[:, None]
    classes = _read_property(folder, "classes")
    metadata = _read_json(folder / SDK_METADATA)
    n_classes = len(classes) if classes is not None else int(metadata.get("num_classes") or 1)
    # without per-class values every class gets the overall value, whose mean over classes is that value
    return np.repeat(overall[:, None], n_classes, axis=1)
