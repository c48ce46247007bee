"""Turning a scoring explainer into an artifact's parts and back (the format itself is in ``_artifact``).

:func:`collect_parts` gathers what :meth:`ScoringExplainer.save` writes: the kind's state and arrays, the model
(in its safest format) and, for an explainer with transformations, the fitted transformer and the feature map.
:func:`restore_parts` rebuilds the explainer from a verified manifest; anything inconsistent in the parts raises
:class:`~pellucid.errors.UnsafeArtifactError`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pellucid._version import __version__
from pellucid.errors import ArgumentError, UnsafeArtifactError
from pellucid.explanation import CLASSIFICATION, REGRESSION
from pellucid.scoring._artifact import Manifest, read_arrays
from pellucid.scoring._model_files import deserialize_model, serialize_model
from pellucid.scoring._raw_inputs import RawInputs
from pellucid.scoring._storable import storable_transformer

__all__ = ["collect_parts", "restore_parts", "checked_header"]


def _merged(arrays: dict[str, np.ndarray], more: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    clash = sorted(set(arrays) & set(more))
    if clash:
        raise ArgumentError(f"array names {clash} are used twice")
    return {**arrays, **more}


def collect_parts(explainer: Any, *, allow_pickle: bool) -> tuple[dict[str, Any], dict[str, np.ndarray], dict]:
    """(state, arrays, files {name: (format, role, bytes)}) of a scoring explainer."""
    state, arrays = explainer._state()
    files: dict[str, tuple[str, str, bytes]] = {}
    if explainer.model is not None:
        model_state, model_arrays, model_files = explainer._model_parts(allow_pickle)
        state, arrays = {**state, **model_state}, _merged(arrays, model_arrays)
        files.update(model_files)
    if explainer.raw_inputs is not None:
        raw_state, raw_arrays = explainer.raw_inputs.state()
        arrays = _merged(arrays, raw_arrays)
        transformer = explainer.raw_inputs.runtime.transformer
        if transformer is not None:
            try:  # pandas objects kept by transformers fitted on DataFrames become lists skops can store
                transformer = storable_transformer(transformer)
            except UnsafeArtifactError:
                if not allow_pickle:
                    raise
            name, file_format, content, info = serialize_model(transformer, allow_pickle=allow_pickle,
                                                               stem="transformations")
            files[name] = (file_format, "transformations", content)
            raw_state["transformer"] = info
        state = {**state, "raw_inputs": raw_state}
    return state, arrays, files


def restore_parts(manifest: Manifest, target: type, *, allow_pickle: bool, model: Any = None) -> Any:
    """Rebuild a scoring explainer of class ``target`` from a verified manifest and its files."""
    document = manifest.document
    header = checked_header(document, manifest)
    state = document["state"]
    arrays = read_arrays(manifest, target._required_arrays)
    model_file = manifest.files.get("model")
    if model is not None and (manifest.kind != "deep" or model_file is not None):
        raise ArgumentError(
            "model= is for a deep scoring explainer saved with its network's weights only; this artifact "
            f"({manifest.kind!r}) stores its model itself"
        )
    if model_file is not None:
        model = deserialize_model(manifest.folder / model_file.name, model_file.format, state.get("model") or {},
                                  allow_pickle=allow_pickle)
    transformer = None
    transformer_file = manifest.files.get("transformations")
    if transformer_file is not None:
        info = (state.get("raw_inputs") or {}).get("transformer") or {}
        transformer = deserialize_model(manifest.folder / transformer_file.name, transformer_file.format, info,
                                        allow_pickle=allow_pickle)
    target._check_restore(state, model)
    try:
        explainer = target._restore(header, state, arrays, model)
        if state.get("raw_inputs") is not None:
            explainer.raw_inputs = RawInputs.restore(state["raw_inputs"], arrays, transformer)
        elif transformer is not None:
            raise ValueError("the artifact stores transformations but no raw-input state")
        explainer.default_raw = header["default_raw"]
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise UnsafeArtifactError(
            f"the {manifest.kind!r} scoring explainer in {manifest.folder} is inconsistent: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    explainer.notes = list(header["notes"])
    return explainer


def checked_header(document: dict[str, Any], manifest: Manifest) -> dict[str, Any]:
    """The manifest's common fields, checked; UnsafeArtifactError when they do not fit together."""
    task = document.get("task")
    features = document.get("features")
    classes = document.get("classes")
    problems = []
    if task not in (CLASSIFICATION, REGRESSION):
        problems.append(f"task {task!r}")
    if not isinstance(features, list) or not features or not all(
        isinstance(f, str) or (isinstance(f, int) and not isinstance(f, bool)) for f in features
    ):
        problems.append("features must be a non-empty list of names (strings, or the integer column indices)")
    if task == CLASSIFICATION and (not isinstance(classes, list) or len(classes) < 2):
        problems.append("a classifier needs at least two classes")
    if not isinstance(document.get("state"), dict):
        problems.append("state must be an object")
    if problems:
        raise UnsafeArtifactError(f"the manifest in {manifest.folder} is inconsistent: {'; '.join(problems)}")
    return {
        "task": task,
        "features": features,
        "classes": classes if task == CLASSIFICATION else None,
        "output_space": str(document.get("output_space", "raw")),
        "method": str(document.get("method", manifest.kind)),
        "allows_missing": bool(document.get("allows_missing", False)),
        "default_raw": bool(document.get("default_raw", False)),
        "notes": [str(n) for n in document.get("notes", [])],
        "pellucid_version": document.get("pellucid_version", __version__),
    }
