"""Fitted transformers made storable without pickle, or a typed error naming the part that is not.

A transformer fitted on a DataFrame often keeps pandas objects: a ``ColumnTransformer`` built with
``frame.columns.difference(...)`` keeps that ``pandas.Index`` as its column selection, in its parameters and in
its fitted state. skops cannot store those without pickle (their internals are Cython objects), so saving such
a transformer failed deep inside skops. :func:`storable_transformer` returns a copy in which every
``pandas.Index`` or ``Series`` held by a scikit-learn, pellucid or sklearn-pandas object is replaced by a plain
list of its values, which every scikit-learn column selection and array parameter reads the same way; the
user's object is never changed. A part that still cannot be stored safely (a ``DataFrame`` kept as state, a
function of the user's own, a type from another package) raises
:class:`~pellucid.errors.UnsafeArtifactError` naming the transformer that holds it, before anything is written.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd

from pellucid.errors import UnsafeArtifactError, require
from pellucid.scoring._model_files import skops_trusted_types

__all__ = ["storable_transformer"]

# Packages whose objects are walked (and whose classes skops may rebuild): see _model_files' trust policy.
_WALKED_PACKAGES = ("sklearn", "pellucid.transformations", "sklearn_pandas")


def storable_transformer(transformer: Any) -> Any:
    """A copy of ``transformer`` that skops stores and loads without pickle, behaving the same.

    Parameters
    ----------
    transformer : object
        A fitted scikit-learn transformer (``ColumnTransformer``, ``Pipeline``, encoders, imputers, scalers,
        ``FunctionTransformer`` with a numpy function ...) or a ``DataFrameMapper``.

    Returns
    -------
    object
        A deep copy with pandas ``Index``/``Series`` values replaced by lists; it transforms rows exactly as
        the original does.

    Raises
    ------
    UnsafeArtifactError
        When a part cannot be stored without pickle; the message names the transformer holding it (e.g.
        ``ColumnTransformer > 'num' Pipeline > 'log' FunctionTransformer``) and what it holds.
    """
    try:
        duplicate = copy.deepcopy(transformer)
    except Exception as exc:  # a part that cannot even be copied cannot be stored either
        raise UnsafeArtifactError(
            f"the transformations cannot be stored without pickle: {_label(transformer)} cannot be copied "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    cleaned = _clean(duplicate, _label(transformer), set())
    problem = _store_problem(cleaned)
    if problem is not None:
        where, reason = _locate(cleaned, problem)
        raise UnsafeArtifactError(
            f"the transformations cannot be stored without pickle: {where}: {reason}. Use scikit-learn "
            "transformers with numpy functions (e.g. FunctionTransformer(np.log1p)), or pass allow_pickle=True "
            "to store them as a pickle you trust"
        )
    return cleaned


# ---------------------------------------------------------------------- cleaning
def _walked(value: Any) -> bool:
    module = type(value).__module__
    return hasattr(value, "__dict__") and not isinstance(value, type) and any(
        module == p or module.startswith(p + ".") for p in _WALKED_PACKAGES
    )


def _label(value: Any, name: Any = None) -> str:
    kind = type(value).__name__
    return f"{name!r} {kind}" if name is not None else kind


def _clean(value: Any, where: str, seen: set[int]) -> Any:
    """``value`` with pandas Index/Series replaced by lists, walking containers and trusted objects in place."""
    if isinstance(value, (pd.Index, pd.Series)):
        return [v.item() if isinstance(v, np.generic) else v for v in value.tolist()]
    if isinstance(value, pd.DataFrame):
        raise UnsafeArtifactError(
            f"the transformations cannot be stored without pickle: {where} keeps a pandas DataFrame in its state; "
            "pass allow_pickle=True to store them as a pickle you trust"
        )
    if id(value) in seen:
        return value
    if isinstance(value, dict):
        seen.add(id(value))
        for key in list(value):
            value[key] = _clean(value[key], where, seen)
        return value
    if isinstance(value, list):
        seen.add(id(value))
        named = _step_name(value)
        for index, item in enumerate(value):
            value[index] = _clean(item, _child(where, named, item), seen)
        return value
    if isinstance(value, tuple):
        named = _step_name(value)
        items = [_clean(item, _child(where, named, item), seen) for item in value]
        if hasattr(value, "_fields"):  # a namedtuple
            return type(value)(*items)
        return type(value)(items)
    if _walked(value):
        seen.add(id(value))
        state = vars(value)
        for key in list(state):
            state[key] = _clean(state[key], where, seen)
    return value


def _step_name(container: Any) -> Any:
    """The name of a ``(name, estimator, ...)`` step, or None when the container is not one."""
    if isinstance(container, tuple) and len(container) >= 2 and isinstance(container[0], str):
        return container[0]
    return None


def _child(where: str, name: Any, item: Any) -> str:
    if _walked(item):
        return f"{where} > {_label(item, name)}"
    return where


# ---------------------------------------------------------------------- checking
def _store_problem(value: Any) -> str | None:
    """Why skops cannot store ``value`` safely (its error or the types pellucid would refuse), or None."""
    skops_io = require("skops.io", "serve")
    try:
        content = skops_io.dumps(value)
    except Exception as exc:  # skops raises what the object's own __reduce__ raises
        return f"cannot be stored by skops ({type(exc).__name__}: {exc})"
    try:
        skops_trusted_types(data=content)
    except UnsafeArtifactError as exc:
        return str(exc)
    return None


def _components(value: Any, where: str, seen: set[int], found: list[tuple[str, Any]]) -> None:
    """Every walked object under ``value`` with its path, parents before children."""
    if id(value) in seen:
        return
    if isinstance(value, dict):
        seen.add(id(value))
        for item in value.values():
            _components(item, where, seen, found)
    elif isinstance(value, (list, tuple)):
        seen.add(id(value))
        named = _step_name(value)
        for item in value:
            _components(item, _child(where, named, item), seen, found)
    elif _walked(value):
        seen.add(id(value))
        found.append((where, value))
        for item in vars(value).values():
            _components(item, where, seen, found)


def _locate(value: Any, problem: str) -> tuple[str, str]:
    """(path of the deepest part that cannot be stored, why), falling back to the whole transformer."""
    found: list[tuple[str, Any]] = []
    _components(value, _label(value), set(), found)
    failing = [(where, part, why) for where, part in found if (why := _store_problem(part)) is not None]
    if not failing:
        return _label(value), problem
    where, part, why = max(failing, key=lambda entry: entry[0].count(" > "))
    return where, why
