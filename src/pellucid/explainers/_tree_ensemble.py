"""One array form for every supported tree ensemble.

:func:`extract_ensemble` turns a fitted sklearn tree model, a LightGBM, XGBoost or CatBoost model into a
:class:`TreeEnsemble`: flat node arrays over all trees (children, split feature, threshold, missing-value
direction, categorical bitsets, leaf values, node cover). Every kernel in pellucid's TreeSHAP reads this
form only, and :meth:`TreeEnsemble.to_arrays` / :meth:`TreeEnsemble.from_arrays` turn it into a plain dict of
numpy arrays (no object arrays) so it can be saved with ``np.savez`` and loaded without pickle.

Split semantics, for a node with feature ``f`` and row value ``x = X[f]`` (after casting X to
``input_dtype``):

* ``x`` is NaN: go left when ``flags & DEFAULT_LEFT``;
* categorical node (``flags & CATEGORICAL``): go left when ``int(x)`` is set in the node's bitset;
* ``flags & ZERO_MISSING`` and ``|x| <= 1e-35``: go the default way (LightGBM's "zero as missing");
* otherwise go left when ``x <= threshold``.

Examples
--------
>>> from sklearn.tree import DecisionTreeRegressor
>>> import numpy as np
>>> X = np.arange(20.0).reshape(10, 2); y = X[:, 0]
>>> ensemble = extract_ensemble(DecisionTreeRegressor(max_depth=2).fit(X, y))
>>> bool(np.allclose(ensemble.predict(X)[:, 0], DecisionTreeRegressor(max_depth=2).fit(X, y).predict(X)))
True
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from pellucid.errors import DataShapeError, ModelInterfaceError, UnsafeArtifactError

__all__ = [
    "TreeEnsemble",
    "extract_ensemble",
    "model_family",
    "DEFAULT_LEFT",
    "ZERO_MISSING",
    "CATEGORICAL",
    "FORMAT_VERSION",
]

DEFAULT_LEFT = 1
ZERO_MISSING = 2
CATEGORICAL = 4
FORMAT_VERSION = 1

_SKLEARN_FOREST_CLASSIFIERS = (
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._classes.ExtraTreeClassifier",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._forest.ExtraTreesClassifier",
)
_SKLEARN_FOREST_REGRESSORS = (
    "sklearn.tree._classes.DecisionTreeRegressor",
    "sklearn.tree._classes.ExtraTreeRegressor",
    "sklearn.ensemble._forest.RandomForestRegressor",
    "sklearn.ensemble._forest.ExtraTreesRegressor",
)
_FAMILIES = {
    **dict.fromkeys(_SKLEARN_FOREST_CLASSIFIERS, "sklearn_forest_classifier"),
    **dict.fromkeys(_SKLEARN_FOREST_REGRESSORS, "sklearn_forest_regressor"),
    "sklearn.ensemble._gb.GradientBoostingClassifier": "sklearn_gb_classifier",
    "sklearn.ensemble._gb.GradientBoostingRegressor": "sklearn_gb_regressor",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier":
        "sklearn_hgb_classifier",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor":
        "sklearn_hgb_regressor",
    "lightgbm.sklearn.LGBMClassifier": "lightgbm",
    "lightgbm.sklearn.LGBMRegressor": "lightgbm",
    "lightgbm.sklearn.LGBMModel": "lightgbm",
    "lightgbm.basic.Booster": "lightgbm",
    "xgboost.sklearn.XGBClassifier": "xgboost",
    "xgboost.sklearn.XGBRegressor": "xgboost",
    "xgboost.sklearn.XGBModel": "xgboost",
    "xgboost.core.Booster": "xgboost",
    "catboost.core.CatBoostClassifier": "catboost",
    "catboost.core.CatBoostRegressor": "catboost",
    "catboost.core.CatBoost": "catboost",
}


def model_family(model: Any) -> str | None:
    """The tree-model family of ``model`` (e.g. ``"lightgbm"``), or None when it is not a supported tree model.

    Matches on the class and its bases by dotted name, so no optional library is imported. Never raises.
    """
    try:
        for cls in type(model).__mro__:
            family = _FAMILIES.get(f"{cls.__module__}.{cls.__qualname__}")
            if family is not None:
                return family
    except Exception:  # exotic metaclasses: not a tree model we know
        return None
    return None


@dataclass
class TreeEnsemble:
    """Trees as flat node arrays; node ``i`` of tree ``t`` is row ``tree_start[t] + i``.

    Attributes
    ----------
    children_left, children_right : ndarray of shape (n_nodes,), int32
        Absolute index of each child, -1 at leaves.
    feature : ndarray of shape (n_nodes,), int32
        Split feature, -1 at leaves.
    threshold : ndarray of shape (n_nodes,), float64
        Go left when ``x <= threshold`` (numeric splits).
    flags : ndarray of shape (n_nodes,), uint8
        ``DEFAULT_LEFT`` (missing values go left), ``ZERO_MISSING``, ``CATEGORICAL``.
    cat_start, cat_len : ndarray of shape (n_nodes,), int32
        Slice of ``cat_bits`` (32-bit words) holding a categorical node's left-going categories.
    cat_bits : ndarray of shape (n_words,), uint32
    value : ndarray of shape (n_nodes, n_outputs), float64
        Leaf values, already scaled (learning rate, 1/n_trees of a forest); internal nodes hold the
        cover-weighted mean of their leaves.
    cover : ndarray of shape (n_nodes,), float64
        Training weight (sample count, hessian sum) reaching each node.
    tree_start : ndarray of shape (n_trees + 1,), int64
    tree_output : ndarray of shape (n_trees,), int32
        The only output a tree adds to (boosted multiclass models), or -1 when it adds to all.
    base_offset : ndarray of shape (n_outputs,), float64
        Constant added to the sum of the trees (init score, base margin).
    n_features : int
    input_dtype : {"float32", "float64"}
        Rows are cast to this type before comparing with thresholds, as the model itself does.
    family : str
        Model family, e.g. ``"sklearn_forest_classifier"``, ``"lightgbm"``.
    """

    children_left: np.ndarray
    children_right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    flags: np.ndarray
    cat_start: np.ndarray
    cat_len: np.ndarray
    cat_bits: np.ndarray
    value: np.ndarray
    cover: np.ndarray
    tree_start: np.ndarray
    tree_output: np.ndarray
    base_offset: np.ndarray
    n_features: int
    input_dtype: str = "float64"
    family: str = "unknown"
    _depth: int | None = field(default=None, repr=False, compare=False)

    # ------------------------------------------------------------------ sizes
    @property
    def n_trees(self) -> int:
        """Number of trees."""
        return len(self.tree_start) - 1

    @property
    def n_nodes(self) -> int:
        """Number of nodes over all trees."""
        return len(self.feature)

    @property
    def n_outputs(self) -> int:
        """Number of outputs the trees add to."""
        return self.value.shape[1]

    @property
    def max_depth(self) -> int:
        """Largest number of edges from a root to a leaf."""
        if self._depth is None:
            from pellucid.explainers._tree_numpy import node_depths

            self._depth = int(node_depths(self.children_left, self.children_right, self.tree_start).max(initial=0))
        return self._depth

    @property
    def has_categorical(self) -> bool:
        """True when some split is categorical."""
        return bool((self.flags & CATEGORICAL).any())

    # ------------------------------------------------------------------ rows
    def cast_rows(self, values: np.ndarray) -> np.ndarray:
        """Rows as the float64 C-contiguous array the kernels read, rounded like the model rounds them.

        Parameters
        ----------
        values : ndarray of shape (n_rows, n_features)
        """
        values = np.asarray(values)
        if values.ndim != 2 or values.shape[1] != self.n_features:
            raise DataShapeError(
                f"rows must have shape (n_rows, {self.n_features}) for this model; found {values.shape}"
            )
        if self.input_dtype == "float32":
            values = values.astype(np.float32)
        return np.ascontiguousarray(values, dtype=np.float64)

    def predict(self, values: np.ndarray) -> np.ndarray:
        """Sum of the trees plus the base offset, ndarray of shape (n_rows, n_outputs).

        Uses the compiled kernel, or numpy while that kernel is still compiling (see ``_tree_warmup``).

        Parameters
        ----------
        values : ndarray of shape (n_rows, n_features)
        """
        from pellucid.explainers import _tree_numpy, _tree_warmup

        rows = self.cast_rows(values)
        out = np.zeros((rows.shape[0], self.n_outputs))
        step = max(1, 2**20 // max(self.n_trees, 1))
        start = 0
        while start < rows.shape[0] and not _tree_warmup.ready("predict"):
            stop = min(start + step, rows.shape[0])
            out[start:stop] = _tree_numpy.predict(self, rows[start:stop])
            start = stop
        if start < rows.shape[0]:
            out[start:] = self._compiled_sum(rows[start:])
        return out + self.base_offset

    def compiled_predict(self, values: np.ndarray) -> np.ndarray:
        """:meth:`predict` with the compiled kernel only (compiling it if needed)."""
        return self._compiled_sum(self.cast_rows(values)) + self.base_offset

    def _compiled_sum(self, rows: np.ndarray) -> np.ndarray:
        from pellucid.explainers._tree_shap_numba import ensemble_predict

        out = np.zeros((rows.shape[0], self.n_outputs))
        ensemble_predict(rows, out, *self.node_arrays(), self.value, self.tree_start, self.tree_output)
        return out

    def node_arrays(self) -> tuple[np.ndarray, ...]:
        """The arrays a split decision needs, in the kernels' argument order."""
        return (self.children_left, self.children_right, self.feature, self.threshold, self.flags,
                self.cat_start, self.cat_len, self.cat_bits)

    # ------------------------------------------------------------------ saving without pickle
    def to_arrays(self) -> dict[str, np.ndarray]:
        """A dict of plain numpy arrays (numbers and unicode strings only), loadable with ``allow_pickle=False``."""
        arrays = {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}
        arrays["n_features"] = np.asarray(self.n_features, dtype=np.int64)
        arrays["input_dtype"] = np.asarray(self.input_dtype)
        arrays["family"] = np.asarray(self.family)
        arrays["format_version"] = np.asarray(FORMAT_VERSION, dtype=np.int64)
        return {name: np.asarray(value) for name, value in arrays.items()}

    @classmethod
    def from_arrays(cls, arrays: dict[str, Any]) -> TreeEnsemble:
        """Rebuild an ensemble from :meth:`to_arrays` output (e.g. an ``np.load`` of a saved ``.npz``).

        Raises
        ------
        UnsafeArtifactError
            When arrays are missing, of an unexpected kind, or inconsistent with each other.
        """
        names = [f.name for f in fields(cls) if not f.name.startswith("_")]
        missing = [name for name in [*names, "format_version"] if name not in arrays]
        if missing:
            raise UnsafeArtifactError(f"tree ensemble arrays are incomplete: missing {missing}")
        version = int(np.asarray(arrays["format_version"]))
        if version > FORMAT_VERSION:
            raise UnsafeArtifactError(
                f"tree ensemble arrays have format version {version}; this pellucid reads up to {FORMAT_VERSION}"
            )
        kinds = {"children_left": np.int32, "children_right": np.int32, "feature": np.int32,
                 "threshold": np.float64, "flags": np.uint8, "cat_start": np.int32, "cat_len": np.int32,
                 "cat_bits": np.uint32, "value": np.float64, "cover": np.float64, "tree_start": np.int64,
                 "tree_output": np.int32, "base_offset": np.float64}
        values: dict[str, Any] = {}
        for name, dtype in kinds.items():
            array = np.asarray(arrays[name])
            if array.dtype.kind not in "iuf" or array.dtype == object:
                raise UnsafeArtifactError(f"tree ensemble array {name!r} must be numeric; found {array.dtype}")
            values[name] = np.ascontiguousarray(array, dtype=dtype)
        values["n_features"] = int(np.asarray(arrays["n_features"]))
        values["input_dtype"] = str(np.asarray(arrays["input_dtype"]))
        values["family"] = str(np.asarray(arrays["family"]))
        ensemble = cls(**values)
        ensemble.validate()
        return ensemble

    def validate(self) -> None:
        """Check that the arrays describe well-formed trees; raise UnsafeArtifactError otherwise."""
        n = self.n_nodes
        per_node = ("children_left", "children_right", "threshold", "flags", "cat_start", "cat_len", "cover")
        problems = [name for name in per_node if len(getattr(self, name)) != n]
        if self.value.ndim != 2 or self.value.shape[0] != n:
            problems.append("value")
        if self.tree_start.ndim != 1 or len(self.tree_start) < 2 or self.tree_start[0] != 0 \
                or self.tree_start[-1] != n or np.any(np.diff(self.tree_start) < 1):
            problems.append("tree_start")
        if len(self.tree_output) != self.n_trees or np.any(self.tree_output >= self.n_outputs) \
                or np.any(self.tree_output < -1):
            problems.append("tree_output")
        if len(self.base_offset) != self.value.shape[1]:
            problems.append("base_offset")
        if self.input_dtype not in ("float32", "float64"):
            problems.append("input_dtype")
        if not problems:
            tree_of = np.repeat(np.arange(self.n_trees), np.diff(self.tree_start))
            internal = self.children_left >= 0
            for children in (self.children_left, self.children_right):
                child = children[internal]
                if np.any(child >= n) or np.any(child <= np.flatnonzero(internal)) \
                        or np.any(tree_of[np.clip(child, 0, n - 1)] != tree_of[internal]):
                    problems.append("children")
            if np.any((self.children_right >= 0) != internal):
                problems.append("children_right")
            feature = self.feature[internal]
            if np.any(feature < 0) or np.any(feature >= self.n_features):
                problems.append("feature")
            cat = (self.flags & CATEGORICAL) != 0
            if np.any(self.cat_start[cat] < 0) or np.any(self.cat_start[cat] + self.cat_len[cat] > len(self.cat_bits)):
                problems.append("cat_bits")
        if problems:
            raise UnsafeArtifactError(f"tree ensemble arrays are inconsistent: check {sorted(set(problems))}")


def concat_trees(
    trees: list[dict[str, np.ndarray]],
    *,
    n_features: int,
    n_outputs: int,
    base_offset: np.ndarray | float = 0.0,
    tree_output: list[int] | None = None,
    input_dtype: str,
    family: str,
) -> TreeEnsemble:
    """Join per-tree arrays (node indices local to each tree) into one :class:`TreeEnsemble`.

    Each tree dict holds ``children_left``, ``children_right`` (-1 at leaves), ``feature``, ``threshold``,
    ``flags``, ``value`` (n_nodes, n_outputs), ``cover`` and optionally ``cat_start``/``cat_len`` local to
    its own ``cat_bits``.
    """
    if not trees:
        raise ModelInterfaceError("the model has no trees; fit it before explaining it")
    sizes = np.array([len(t["feature"]) for t in trees], dtype=np.int64)
    tree_start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    left, right, cat_start, cat_bits = [], [], [], []
    words = 0
    for tree, start in zip(trees, tree_start[:-1]):
        tl = np.asarray(tree["children_left"], dtype=np.int64)
        tr = np.asarray(tree["children_right"], dtype=np.int64)
        left.append(np.where(tl >= 0, tl + start, -1))
        right.append(np.where(tr >= 0, tr + start, -1))
        bits = np.asarray(tree.get("cat_bits", np.zeros(0)), dtype=np.uint32)
        cat_start.append(np.asarray(tree.get("cat_start", np.zeros(len(tl))), dtype=np.int64) + words)
        cat_bits.append(bits)
        words += len(bits)
    value = np.concatenate([np.asarray(t["value"], dtype=np.float64).reshape(len(t["feature"]), n_outputs)
                            for t in trees])
    ensemble = TreeEnsemble(
        children_left=np.concatenate(left).astype(np.int32),
        children_right=np.concatenate(right).astype(np.int32),
        feature=np.concatenate([np.asarray(t["feature"]) for t in trees]).astype(np.int32),
        threshold=np.concatenate([np.asarray(t["threshold"], dtype=np.float64) for t in trees]),
        flags=np.concatenate([np.asarray(t["flags"]) for t in trees]).astype(np.uint8),
        cat_start=np.concatenate(cat_start).astype(np.int32),
        cat_len=np.concatenate([np.asarray(t.get("cat_len", np.zeros(len(t["feature"]))))
                                for t in trees]).astype(np.int32),
        cat_bits=np.concatenate(cat_bits) if cat_bits else np.zeros(0, np.uint32),
        value=value,
        cover=np.concatenate([np.asarray(t["cover"], dtype=np.float64) for t in trees]),
        tree_start=tree_start,
        tree_output=np.asarray(tree_output if tree_output is not None else [-1] * len(trees), dtype=np.int32),
        base_offset=np.broadcast_to(np.asarray(base_offset, dtype=np.float64), (n_outputs,)).copy(),
        n_features=int(n_features),
        input_dtype=input_dtype,
        family=family,
    )
    internal = ensemble.children_left >= 0
    ensemble.feature[~internal] = -1
    ensemble.threshold[~internal] = 0.0
    ensemble.flags[~internal] = 0
    fill_internal_values(ensemble)
    ensemble.validate()
    return ensemble


def fill_internal_values(ensemble: TreeEnsemble) -> None:
    """Set each internal node's value to the cover-weighted mean of its children (bottom up)."""
    from pellucid.explainers._tree_numpy import fill_node_means

    fill_node_means(ensemble.children_left, ensemble.children_right, ensemble.cover, ensemble.value,
                    ensemble.tree_start)


def set_base_from_probe(ensemble: TreeEnsemble, raw_output: np.ndarray, probe: np.ndarray) -> None:
    """Set ``base_offset`` so that the ensemble's output equals the model's raw output on ``probe`` rows.

    Libraries keep their init score in different places (XGBoost's base_score in probability space,
    sklearn's init estimator, CatBoost's bias); reading it off a prediction is exact and uniform.
    """
    ensemble.base_offset = np.zeros(ensemble.n_outputs)
    offset = np.asarray(raw_output, dtype=np.float64).reshape(len(probe), -1) - ensemble.predict(probe)
    ensemble.base_offset = offset.mean(axis=0)


def extract_ensemble(model: Any) -> TreeEnsemble:
    """Read a fitted tree model into a :class:`TreeEnsemble`.

    Parameters
    ----------
    model : fitted tree model
        sklearn DecisionTree / RandomForest / ExtraTrees / GradientBoosting / HistGradientBoosting
        (classifier or regressor), LightGBM (sklearn API or Booster), XGBoost (sklearn API or Booster) or
        CatBoost with numeric features.

    Returns
    -------
    TreeEnsemble
        Its output is the model's output in the explained space: class probabilities of sklearn forest
        classifiers, raw margins of boosted models (one output for binary margin models), predictions
        of regressors.

    Raises
    ------
    ModelInterfaceError
        For unsupported or unfitted models, or splits pellucid cannot represent.
    """
    family = model_family(model)
    if family is None:
        raise ModelInterfaceError(
            "extract_ensemble needs a fitted sklearn tree/forest/boosting model, LightGBM, XGBoost or CatBoost "
            f"model; found {type(model).__module__}.{type(model).__qualname__}"
        )
    if family.startswith("sklearn"):
        from pellucid.explainers._tree_sklearn import extract_sklearn

        return extract_sklearn(model, family)
    from pellucid.explainers import _tree_boosters

    return {"lightgbm": _tree_boosters.extract_lightgbm, "xgboost": _tree_boosters.extract_xgboost,
            "catboost": _tree_boosters.extract_catboost}[family](model)
