"""Read scikit-learn trees, forests and gradient boosting into a :class:`TreeEnsemble`.

* Decision trees, random forests and extra trees: leaf values are class fractions (classifiers) or means
  (regressors), averaged over the trees, so the ensemble's output is ``predict_proba`` / ``predict``.
  sklearn compares float32 features with float64 thresholds; missing values follow
  ``tree_.missing_go_to_left`` (sklearn >= 1.3).
* GradientBoosting: leaf values times the learning rate plus the init estimator's raw prediction, so the
  output is ``decision_function`` (log-odds or per-class margins) or ``predict`` (regression).
* HistGradientBoosting: the predictors' nodes (float64 thresholds, learned missing-value side) plus the
  baseline prediction; the output is the raw prediction.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pellucid.errors import ModelInterfaceError
from pellucid.explainers._tree_ensemble import DEFAULT_LEFT, TreeEnsemble, concat_trees, set_base_from_probe

__all__ = ["extract_sklearn"]


def _not_fitted(model: Any) -> ModelInterfaceError:
    return ModelInterfaceError(
        f"{type(model).__qualname__} is not fitted; call fit before building a TreeExplainer"
    )


def _single_tree(tree: Any, *, scale: float, normalize: bool, model: Any) -> dict[str, np.ndarray]:
    if tree.n_outputs != 1:
        raise ModelInterfaceError(
            f"{type(model).__qualname__} was fitted on {tree.n_outputs} targets; TreeExplainer explains "
            "single-target models (fit one model per target)"
        )
    value = np.array(tree.value[:, 0, :], dtype=np.float64)
    if normalize:
        totals = value.sum(axis=1, keepdims=True)
        value = np.divide(value, totals, out=np.zeros_like(value), where=totals > 0)
    missing_left = getattr(tree, "missing_go_to_left", None)
    if missing_left is None:
        missing_left = np.zeros(tree.node_count, np.uint8)
    return {
        "children_left": tree.children_left,
        "children_right": tree.children_right,
        "feature": np.where(tree.children_left >= 0, tree.feature, -1),
        "threshold": tree.threshold,
        "flags": np.where(np.asarray(missing_left) != 0, DEFAULT_LEFT, 0).astype(np.uint8),
        "value": value * scale,
        "cover": tree.weighted_n_node_samples,
    }


def _forest(model: Any, family: str) -> TreeEnsemble:
    estimators = getattr(model, "estimators_", None)
    if estimators is None:
        if not hasattr(model, "tree_"):
            raise _not_fitted(model)
        estimators = [model]
    classifier = family == "sklearn_forest_classifier"
    if classifier and isinstance(getattr(model, "n_classes_", None), (list, np.ndarray)):
        raise ModelInterfaceError(
            f"{type(model).__qualname__} is a multi-output classifier; TreeExplainer explains single-target models"
        )
    scale = 1.0 / len(estimators)
    trees = [_single_tree(e.tree_, scale=scale, normalize=classifier, model=model) for e in estimators]
    n_outputs = trees[0]["value"].shape[1]
    return concat_trees(trees, n_features=model.n_features_in_, n_outputs=n_outputs,
                        input_dtype="float32", family=family)


def _gradient_boosting(model: Any, family: str) -> TreeEnsemble:
    estimators = getattr(model, "estimators_", None)
    if estimators is None:
        raise _not_fitted(model)
    n_iter, n_outputs = estimators.shape
    trees, tree_output = [], []
    for i in range(n_iter):
        for k in range(n_outputs):
            tree = _single_tree(estimators[i, k].tree_, scale=model.learning_rate, normalize=False, model=model)
            value = np.zeros((len(tree["feature"]), n_outputs))
            value[:, k] = tree["value"][:, 0]
            tree["value"] = value
            trees.append(tree)
            tree_output.append(k if n_outputs > 1 else -1)
    ensemble = concat_trees(trees, n_features=model.n_features_in_, n_outputs=n_outputs, tree_output=tree_output,
                            input_dtype="float32", family=family)
    probe = np.zeros((1, model.n_features_in_))
    raw = model.decision_function(probe) if family == "sklearn_gb_classifier" else model.predict(probe)
    set_base_from_probe(ensemble, raw, probe)
    return ensemble


def _hist_gradient_boosting(model: Any, family: str) -> TreeEnsemble:
    predictors = getattr(model, "_predictors", None)
    if predictors is None:
        raise _not_fitted(model)
    if getattr(model, "_preprocessor", None) is not None or np.any(getattr(model, "is_categorical_", None) or False):
        raise ModelInterfaceError(
            f"{type(model).__qualname__} was fitted with categorical features, whose splits TreeExplainer "
            "does not read; encode the categories yourself (e.g. OrdinalEncoder) before fitting, or use LightGBM"
        )
    n_outputs = len(predictors[0])
    trees, tree_output = [], []
    for per_iteration in predictors:
        for k, predictor in enumerate(per_iteration):
            nodes = predictor.nodes
            leaf = nodes["is_leaf"].astype(bool)
            value = np.zeros((len(nodes), n_outputs))
            value[:, k] = nodes["value"]
            trees.append({
                "children_left": np.where(leaf, -1, nodes["left"].astype(np.int64)),
                "children_right": np.where(leaf, -1, nodes["right"].astype(np.int64)),
                "feature": np.where(leaf, -1, nodes["feature_idx"]),
                "threshold": nodes["num_threshold"],
                "flags": np.where(nodes["missing_go_to_left"] != 0, DEFAULT_LEFT, 0).astype(np.uint8),
                "value": value,
                "cover": nodes["count"].astype(np.float64),
            })
            tree_output.append(k if n_outputs > 1 else -1)
    ensemble = concat_trees(trees, n_features=model.n_features_in_, n_outputs=n_outputs, tree_output=tree_output,
                            input_dtype="float64", family=family)
    probe = np.zeros((1, model.n_features_in_))
    raw = model._raw_predict(probe, n_threads=1)
    set_base_from_probe(ensemble, raw, probe)
    return ensemble


def extract_sklearn(model: Any, family: str) -> TreeEnsemble:
    """:class:`TreeEnsemble` of a fitted sklearn tree model of the given family (see :func:`model_family`)."""
    if family.startswith("sklearn_forest"):
        return _forest(model, family)
    if family.startswith("sklearn_gb"):
        return _gradient_boosting(model, family)
    return _hist_gradient_boosting(model, family)
