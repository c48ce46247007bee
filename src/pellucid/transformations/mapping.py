"""Build the raw <- engineered map of a fitted transformation, recursively.

``map_transformer`` walks the structure it knows and probes what it does not:

* ``"passthrough"`` / None: identity;
* ``ColumnTransformer``: each transformer's map placed at its input columns and its output slice;
  ``remainder='passthrough'`` is an identity block, ``'drop'`` and dropped transformers produce nothing;
* a DataFrameMapper (pellucid's or sklearn-pandas'): each feature's map at its columns, outputs side by side;
* ``Pipeline``: the maps of its steps composed (``W1 @ W2 ...``), each step probed on the previous output;
* any transformer of one input column: all its outputs come from that column (one-to-one or one-to-many:
  scalers, imputers, encoders, binning, splines, polynomial features, text vectorisers ...);
* any transformer of several columns: probed (see :mod:`pellucid.transformations.probe`): an output that
  changes with one column comes from it; one that changes with none is attributed by its name
  (``get_feature_names_out``: ``colour_red`` comes from ``colour``) or by its neighbours; one that changes with
  several columns mixes them and is reported as a problem, resolved by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from pellucid.errors import TransformationError
from pellucid.transformations.dataframe_mapper import (
    as_2d_output,
    feature_names_out,
    is_mapper,
    output_names,
    select_columns,
    unselected_columns,
)
from pellucid.transformations.probe import dependencies, input_width

__all__ = ["Mapped", "Problem", "map_transformer", "transform_checked"]

MIXES, UNATTRIBUTABLE = "mixes", "unattributable"


@dataclass
class Problem:
    """Outputs that cannot be given to one input: they mix several, or none could be found."""

    where: str
    outputs: list[str]
    inputs: list[int]  # indices in the input space of the level that reports it
    reason: str


@dataclass
class Mapped:
    """The map of one transformer: weights (n_inputs, n_outputs), output names, problems found."""

    weights: sp.csr_matrix
    names: list[str]
    problems: list[Problem]


def map_transformer(transformer: Any, data: Any, input_names: list[str], where: str) -> Mapped:
    """Map of a fitted transformer applied to ``data`` (probe rows in the form it takes).

    Parameters
    ----------
    transformer : fitted transformer, "passthrough" or None
    data : DataFrame, Series, ndarray or sparse matrix with n_inputs columns
    input_names : list of str, length n_inputs
    where : str
        Path to the transformer for messages, empty or ending in " > ".
    """
    if _is_identity(transformer):
        n_inputs = input_width(data)
        return Mapped(sp.identity(n_inputs, format="csr"), list(input_names), [])
    if isinstance(transformer, ColumnTransformer):
        return _map_column_transformer(transformer, data, input_names, where)
    if is_mapper(transformer):
        return _map_mapper(transformer, data, input_names, where)
    if isinstance(transformer, Pipeline):
        return _map_pipeline(transformer, data, input_names, where)
    output = transform_checked(transformer, data, where + type(transformer).__name__)
    width = output.shape[1]
    names = feature_names_out(transformer, input_names, width)
    if input_width(data) == 1:
        default = [input_names[0]] if width == 1 else [f"{input_names[0]}_{i}" for i in range(width)]
        return Mapped(sp.csr_matrix(np.ones((1, width))), names or default, [])
    return _map_by_probe(transformer, data, output, input_names, names, where)


def transform_checked(transformer: Any, data: Any, where: str, *, keep_form: bool = False) -> Any:
    """``transformer.transform(data)`` as a 2-D array or CSR matrix (as returned with ``keep_form``, e.g. a
    DataFrame for the next step of a Pipeline); failures become TransformationError."""
    try:
        output = transformer.transform(data)
    except Exception as exc:  # any failure of user code is reported with where it happened
        raise TransformationError(
            f"{where} could not transform the raw rows ({type(exc).__name__}: {exc}); pass raw rows with the "
            "columns and types the transformations were fitted on"
        ) from exc
    return output if keep_form else as_2d_output(output)


# ---------------------------------------------------------------------- known structures
def _map_column_transformer(ct: ColumnTransformer, data: Any, input_names: list[str], where: str) -> Mapped:
    if not hasattr(ct, "transformers_"):
        raise TransformationError(f"{where}ColumnTransformer is not fitted; pass the fitted ColumnTransformer")
    n_inputs = input_width(data)
    slices = ct.output_indices_
    n_outputs = max((s.stop for s in slices.values()), default=0)
    rows, cols, vals, names = [], [], [], [""] * n_outputs
    problems = []
    for name, transformer, spec in ct.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        indices = _ct_input_indices(ct, name, spec, data)
        out = slices.get(name, slice(0, 0))
        if not indices or out.stop == out.start:
            continue
        scalar = isinstance(spec, (str, int, np.integer))
        sub_data = _take_columns(data, indices, scalar)
        path = f"{where}ColumnTransformer '{name}' > "
        sub = map_transformer(transformer, sub_data, [input_names[i] for i in indices], path)
        if sub.weights.shape[1] != out.stop - out.start:
            raise TransformationError(
                f"{path.rstrip(' >')} produced {sub.weights.shape[1]} columns on the probe rows but the fitted "
                f"ColumnTransformer places {out.stop - out.start} there"
            )
        coo = sub.weights.tocoo()
        rows.append(np.asarray(indices)[coo.row])
        cols.append(coo.col + out.start)
        vals.append(coo.data)
        names[out] = [f"{name}__{n}" for n in sub.names]
        problems += [Problem(p.where, p.outputs, [indices[i] for i in p.inputs], p.reason) for p in sub.problems]
    weights = _assemble(rows, cols, vals, (n_inputs, n_outputs))
    own = feature_names_out(ct, input_names, n_outputs)
    return Mapped(weights, own or names, problems)


def _map_mapper(mapper: Any, data: Any, input_names: list[str], where: str) -> Mapped:
    if not hasattr(mapper, "built_features"):
        raise TransformationError(f"{where}the DataFrameMapper is not fitted; pass the fitted mapper")
    if not hasattr(data, "columns"):
        raise TransformationError(f"{where}a DataFrameMapper needs a pandas DataFrame of raw rows")
    positions = {column: i for i, column in enumerate(data.columns)}
    features = [(columns, transformer, options or {}) for columns, transformer, options in mapper.built_features]
    default = getattr(mapper, "built_default", False)
    unselected = unselected_columns(mapper, data)
    if default is not False and unselected:
        features.append((unselected, default, {"input_df": getattr(mapper, "input_df", False)}))
    rows, cols, vals, names, problems = [], [], [], [], []
    offset = 0
    for columns, transformer, options in features:
        selected = columns if isinstance(columns, (list, tuple)) else [columns]
        indices = [positions[c] for c in selected if c in positions]
        if len(indices) != len(selected):
            missing = [c for c in selected if c not in positions]
            raise TransformationError(f"{where}the DataFrameMapper selects columns {missing} the raw data lacks")
        sub_data = select_columns(data, columns, options.get("input_df", getattr(mapper, "input_df", False)))
        path = f"{where}DataFrameMapper feature {columns!r} > "
        sub = map_transformer(transformer, sub_data, [input_names[i] for i in indices], path)
        coo = sub.weights.tocoo()
        rows.append(np.asarray(indices)[coo.row])
        cols.append(coo.col + offset)
        vals.append(coo.data)
        width = sub.weights.shape[1]
        names += output_names(columns, transformer, width, options)
        problems += [Problem(p.where, p.outputs, [indices[i] for i in p.inputs], p.reason) for p in sub.problems]
        offset += width
    weights = _assemble(rows, cols, vals, (input_width(data), offset))
    known = list(getattr(mapper, "transformed_names_", None) or [])
    return Mapped(weights, [str(n) for n in known] if len(known) == offset else names, problems)


def _map_pipeline(pipeline: Pipeline, data: Any, input_names: list[str], where: str) -> Mapped:
    composed = sp.identity(input_width(data), format="csr")
    current, names, problems = data, list(input_names), []
    for name, step in pipeline.steps:
        if _is_identity(step):
            continue
        path = f"{where}Pipeline step '{name}'"
        if not hasattr(step, "transform"):
            raise TransformationError(
                f"{path} ({type(step).__name__}) has no transform(): transformations must be transformers only. For a Pipeline ending "
                "in the model, pass pellucid.transformations.split_pipeline(pipeline)'s parts: the "
                "transformations, and the final estimator as the model"
            )
        sub = map_transformer(step, current, names, path + " > ")
        for problem in sub.problems:
            reached = composed[:, problem.inputs].tocoo().row
            problems.append(Problem(problem.where, problem.outputs, sorted(set(reached.tolist())), problem.reason))
        composed = (composed @ sub.weights).tocsr()
        current = transform_checked(step, current, f"{path} ({type(step).__name__})", keep_form=True)
        names = sub.names
    own = feature_names_out(pipeline, input_names, composed.shape[1])
    return Mapped(composed, own or names, problems)


# ---------------------------------------------------------------------- probing
def _map_by_probe(
    transformer: Any, data: Any, output: Any, input_names: list[str], names: list[str] | None, where: str
) -> Mapped:
    n_inputs, width = input_width(data), output.shape[1]
    depends = dependencies(transformer, data, output)
    count = depends.sum(axis=0)
    owner = np.where(count == 1, depends.argmax(axis=0), -1)
    if names is not None:
        for o in np.flatnonzero(count == 0):
            owner[o] = _owner_by_name(names[o], input_names)
    owner = _fill_between_neighbours(owner, count)
    label = names or [f"{type(transformer).__name__.lower()}{i}" for i in range(width)]
    weights = np.zeros((n_inputs, width))
    attributed = owner >= 0
    weights[owner[attributed], np.flatnonzero(attributed)] = 1.0
    mixed = (count > 1) & ~attributed
    weights[:, mixed] = depends[:, mixed] / count[mixed]
    unknown = ~attributed & ~mixed
    weights[:, unknown] = 1.0 / n_inputs
    problems = []
    groups: dict[tuple, list[str]] = {}
    for o in np.flatnonzero(mixed):
        groups.setdefault(tuple(np.flatnonzero(depends[:, o]).tolist()), []).append(label[o])
    here = where + type(transformer).__name__
    for inputs, outputs in groups.items():
        problems.append(Problem(here, outputs, list(inputs), MIXES))
    if unknown.any():
        problems.append(Problem(here, [label[o] for o in np.flatnonzero(unknown)], list(range(n_inputs)), UNATTRIBUTABLE))
    return Mapped(sp.csr_matrix(weights), label, problems)


def _owner_by_name(name: str, input_names: list[str]) -> int:
    """The input whose name the output's name equals or starts with (``colour_red`` -> ``colour``); -1 if none."""
    matches = [i for i, column in enumerate(input_names) if name == column or name.startswith(column + "_")]
    if not matches:
        return -1
    return max(matches, key=lambda i: len(input_names[i]))


def _fill_between_neighbours(owner: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Give an unattributed output the owner of its nearest attributed neighbours when both sides agree."""
    width = owner.size
    unknown = (owner < 0) & (count == 0)
    if not unknown.any():
        return owner
    known = owner >= 0
    positions = np.arange(width)
    left = np.maximum.accumulate(np.where(known, positions, -1))
    right = np.minimum.accumulate(np.where(known, positions, width)[::-1])[::-1]
    left_owner = np.where(left >= 0, owner[np.clip(left, 0, width - 1)], -1)
    right_owner = np.where(right < width, owner[np.clip(right, 0, width - 1)], -2)
    agree = unknown & (left_owner == right_owner) & (left_owner >= 0)
    filled = owner.copy()
    filled[agree] = left_owner[agree]
    return filled


# ---------------------------------------------------------------------- helpers
def _is_identity(transformer: Any) -> bool:
    return transformer is None or (isinstance(transformer, str) and transformer == "passthrough")


def _ct_input_indices(ct: ColumnTransformer, name: str, spec: Any, data: Any) -> list[int]:
    """Positions in ``data`` of the columns a ColumnTransformer's transformer ``name`` was fitted on."""
    known = getattr(ct, "_transformer_to_input_indices", {}).get(name)
    if known is not None:
        indices = [int(i) for i in known]
    else:
        indices = _resolve_spec(spec, data)
    fitted_names = getattr(ct, "feature_names_in_", None)
    if fitted_names is not None and hasattr(data, "columns"):
        positions = {str(column): i for i, column in enumerate(data.columns)}
        wanted = [str(fitted_names[i]) for i in indices]
        missing = [w for w in wanted if w not in positions]
        if missing:
            raise TransformationError(f"the ColumnTransformer's {name!r} needs columns {missing} the raw data lacks")
        return [positions[w] for w in wanted]
    return indices


def _resolve_spec(spec: Any, data: Any) -> list[int]:
    if callable(spec):
        spec = spec(data)
    columns = list(getattr(data, "columns", range(input_width(data))))
    if isinstance(spec, (str, int, np.integer)):
        spec = [spec]
    if isinstance(spec, slice):
        return list(range(len(columns)))[spec]
    items = list(np.asarray(spec).tolist()) if not isinstance(spec, list) else spec
    if items and all(isinstance(i, bool) for i in items):
        return [i for i, keep in enumerate(items) if keep]
    return [columns.index(i) if isinstance(i, str) else int(i) for i in items]


def _take_columns(data: Any, indices: list[int], scalar: bool) -> Any:
    if hasattr(data, "iloc"):
        return data.iloc[:, indices[0]] if scalar else data.iloc[:, indices]
    if sp.issparse(data):
        return data.tocsc()[:, indices].tocsr()
    array = np.asarray(data)
    return array[:, indices[0]] if scalar else array[:, indices]


def _assemble(rows: list, cols: list, vals: list, shape: tuple[int, int]) -> sp.csr_matrix:
    if not rows:
        return sp.csr_matrix(shape)
    return sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=shape
    )
