"""What TreeExplainer needs to know about each supported tree model, and how to call it.

:func:`describe_model` reads a fitted model's task, classes, number of tree outputs and output space;
:func:`raw_output` calls the model for its output in that space (probabilities of sklearn forest classifiers,
raw margins of boosted models, predictions of regressors); :func:`native_shap` and
:func:`native_interactions` call LightGBM's, XGBoost's and CatBoost's own TreeSHAP.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pellucid.errors import ModelInterfaceError, require
from pellucid.explanation import CLASSIFICATION, REGRESSION

__all__ = ["TreeModelInfo", "describe_model", "raw_output", "native_shap", "native_interactions"]

_LOG_LINK_OBJECTIVES = ("poisson", "gamma", "tweedie", "count:poisson", "reg:gamma", "reg:tweedie",
                        "reg:logistic", "survival:cox", "survival:aft", "cross_entropy", "xentropy",
                        "cross_entropy_lambda", "xentlambda", "Poisson", "Tweedie")


@dataclass
class TreeModelInfo:
    """Facts about a fitted tree model.

    Attributes
    ----------
    family : str
        See :func:`pellucid.explainers._tree_ensemble.model_family`.
    task : {"classification", "regression"}
    classes : list or None
        Class labels of a classifier.
    n_tree_outputs : int
        Outputs the trees add to: 1 for regressors and binary margin models, else one per class.
    binary_margin : bool
        True for a binary classifier explained by one margin ``m``: class 1 gets ``m``, class 0 ``-m``.
    output_space : {"probability", "log_odds", "margin", "raw"}
    n_features : int
    native : bool
        True when the library computes path-dependent SHAP values itself.
    notes : list of str
    """

    family: str
    task: str
    classes: list | None
    n_tree_outputs: int
    binary_margin: bool
    output_space: str
    n_features: int
    native: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def n_outputs(self) -> int:
        """Outputs of the explanation: one per class for a classifier, 1 for a regressor."""
        return len(self.classes) if self.classes is not None else 1


def _classification(family: str, classes: list, n_features: int, *, boosted: bool, native: bool) -> TreeModelInfo:
    if len(classes) < 2:
        raise ModelInterfaceError(
            f"a classifier must have at least 2 classes to be explained; this one was fitted on {len(classes)}"
        )
    binary = boosted and len(classes) == 2
    space = "probability" if not boosted else ("log_odds" if binary else "margin")
    return TreeModelInfo(family, CLASSIFICATION, list(classes), 1 if binary else len(classes), binary, space,
                         n_features, native)


def _regression(family: str, n_features: int, objective: str, *, native: bool) -> TreeModelInfo:
    info = TreeModelInfo(family, REGRESSION, None, 1, False, "raw", n_features, native)
    if any(objective == name or objective.startswith(name + " ") for name in _LOG_LINK_OBJECTIVES):
        info.output_space = "margin"
        info.notes.append(
            f"the model's objective {objective!r} has a link function: values explain its raw margin, "
            "and its prediction is the inverse link of that margin"
        )
    return info


def _fitted(model: Any, attribute: str) -> Any:
    value = getattr(model, attribute, None)
    if value is None:
        raise ModelInterfaceError(
            f"{type(model).__qualname__} is not fitted (it has no {attribute}); call fit before explaining it"
        )
    return value


def _classes_of(model: Any) -> list:
    return list(np.asarray(_fitted(model, "classes_")).tolist())


def lightgbm_booster(model: Any) -> Any:
    """The Booster behind a LightGBM model (the model itself when it is one)."""
    if type(model).__name__ == "Booster":
        return model
    try:
        return model.booster_
    except Exception as exc:  # LightGBM raises its own NotFittedError subclass
        raise ModelInterfaceError(f"{type(model).__qualname__} is not fitted; call fit before explaining it") from exc


def xgboost_booster(model: Any) -> Any:
    """The Booster behind an XGBoost model (the model itself when it is one)."""
    if type(model).__name__ == "Booster":
        return model
    try:
        return model.get_booster()
    except Exception as exc:  # xgboost raises NotFittedError
        raise ModelInterfaceError(f"{type(model).__qualname__} is not fitted; call fit before explaining it") from exc


def xgboost_iteration_range(model: Any) -> tuple[int, int]:
    """Trees the model predicts with: the sklearn API stops at the best iteration of early stopping."""
    if type(model).__name__ != "Booster":
        best = getattr(model, "best_iteration", None)
        if best is not None:
            return 0, int(best) + 1
    return 0, 0


def _describe_lightgbm(model: Any, family: str) -> TreeModelInfo:
    booster = lightgbm_booster(model)
    # the dump's header names the objective; one iteration keeps it cheap for large models
    objective = str(booster.dump_model(num_iteration=1)["objective"]) if booster.num_trees() else "regression"
    name = objective.split(" ")[0]
    n_features = booster.num_feature()
    if hasattr(model, "classes_") and type(model).__name__ != "Booster" and name != "regression":
        return _classification(family, _classes_of(model), n_features, boosted=True, native=True)
    if name == "binary":
        return _classification(family, [0, 1], n_features, boosted=True, native=True)
    if name in ("multiclass", "multiclassova"):
        return _classification(family, list(range(booster.num_model_per_iteration())), n_features, boosted=True,
                               native=True)
    return _regression(family, n_features, objective, native=True)


def _describe_xgboost(model: Any, family: str) -> TreeModelInfo:
    booster = xgboost_booster(model)
    config = json.loads(booster.save_config())
    learner = config["learner"]
    objective = learner["objective"]["name"]
    n_features = int(learner["learner_model_param"]["num_feature"])
    if learner.get("gradient_booster", {}).get("name") == "gblinear":
        raise ModelInterfaceError("XGBoost models with booster='gblinear' have no trees; use LinearExplainer")
    if int(learner["learner_model_param"].get("num_target", "1")) > 1:
        raise ModelInterfaceError("XGBoost multi-target models are not supported; fit one model per target")
    if type(model).__name__ != "Booster" and hasattr(model, "classes_"):
        return _classification(family, _classes_of(model), n_features, boosted=True, native=True)
    if objective.startswith("binary:"):
        return _classification(family, [0, 1], n_features, boosted=True, native=True)
    if objective.startswith("multi:"):
        n_classes = int(learner["learner_model_param"]["num_class"])
        return _classification(family, list(range(n_classes)), n_features, boosted=True, native=True)
    return _regression(family, n_features, objective, native=True)


def _describe_catboost(model: Any, family: str) -> TreeModelInfo:
    if not model.is_fitted():
        raise ModelInterfaceError(f"{type(model).__qualname__} is not fitted; call fit before explaining it")
    loss = str(model.get_all_params().get("loss_function", "RMSE"))
    n_features = len(model.feature_names_)
    name = type(model).__name__
    if name == "CatBoostClassifier" or loss in ("Logloss", "CrossEntropy", "MultiClass", "MultiClassOneVsAll"):
        classes = getattr(model, "classes_", None)
        if classes is None or len(classes) == 0:
            n_raw = np.shape(model.predict(np.zeros((1, n_features)), prediction_type="RawFormulaVal"))
            classes = list(range(n_raw[-1] if len(n_raw) == 2 else 2))
        return _classification(family, list(np.asarray(classes).tolist()), n_features, boosted=True, native=True)
    if loss.startswith("Multi") or loss == "MultiRMSE":
        raise ModelInterfaceError(f"CatBoost models with loss {loss!r} are not supported; fit one model per target")
    return _regression(family, n_features, loss.split(":")[0], native=True)


def describe_model(model: Any, family: str) -> TreeModelInfo:
    """Read task, classes and output space of a fitted tree model of the given family."""
    if family == "lightgbm":
        return _describe_lightgbm(model, family)
    if family == "xgboost":
        return _describe_xgboost(model, family)
    if family == "catboost":
        return _describe_catboost(model, family)
    n_features = int(_fitted(model, "n_features_in_"))
    if family.endswith("classifier"):
        boosted = not family.startswith("sklearn_forest")
        return _classification(family, _classes_of(model), n_features, boosted=boosted, native=False)
    loss = str(getattr(model, "loss", "squared_error")) if family == "sklearn_hgb_regressor" else "squared_error"
    return _regression(family, n_features, loss, native=False)


def _dmatrix(model_input: Any) -> Any:
    xgboost = require("xgboost", "xgboost")
    if isinstance(model_input, xgboost.DMatrix):
        return model_input
    # DataFrames may hold category columns, which XGBoost reads only when asked to
    return xgboost.DMatrix(model_input, enable_categorical=hasattr(model_input, "dtypes"))


def _catboost_pool(model: Any, model_input: Any) -> Any:
    catboost = require("catboost", "catboost")
    if isinstance(model_input, catboost.Pool):
        return model_input
    return catboost.Pool(model_input, cat_features=model.get_cat_feature_indices() or None)


def raw_output(model: Any, info: TreeModelInfo, model_input: Any) -> np.ndarray:
    """The model's own output in ``info.output_space``, ndarray of shape (n_rows, n_tree_outputs).

    Parameters
    ----------
    model_input : array-like of shape (n_rows, n_features)
        Rows in the form the model takes (ndarray or DataFrame).
    """
    family = info.family
    if family == "sklearn_forest_classifier":
        out = model.predict_proba(model_input)
    elif family == "sklearn_hgb_classifier":
        out = model._raw_predict(model_input, n_threads=1)
        out = out[:, 0] if out.shape[1] == 1 else out
    elif family == "sklearn_gb_classifier":
        out = model.decision_function(model_input)
    elif family == "sklearn_hgb_regressor":
        # single-threaded: its one OpenMP region per tree stalls behind numba's spinning workers otherwise
        out = model._raw_predict(model_input, n_threads=1)
    elif family.startswith("sklearn"):
        out = model.predict(model_input)
    elif family == "lightgbm":
        out = lightgbm_booster(model).predict(model_input, raw_score=True)
    elif family == "xgboost":
        out = xgboost_booster(model).predict(_dmatrix(model_input), output_margin=True,
                                             iteration_range=xgboost_iteration_range(model), validate_features=False)
    else:
        out = model.predict(_catboost_pool(model, model_input), prediction_type="RawFormulaVal")
    return np.asarray(out, dtype=np.float64).reshape(np.shape(out)[0], -1)


def _split_bias(contributions: np.ndarray, n_rows: int, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, k, m+1) or (n, m+1) contributions -> values (n, m, k) and expected values (k,)."""
    contributions = np.asarray(contributions, dtype=np.float64)
    if contributions.ndim == 2:
        contributions = contributions.reshape(n_rows, -1, n_features + 1)
    values = np.ascontiguousarray(np.moveaxis(contributions[:, :, :-1], 1, 2))
    expected = contributions[0, :, -1].copy() if n_rows else np.zeros(contributions.shape[1])
    return values, expected


def native_shap(model: Any, info: TreeModelInfo, model_input: Any, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Path-dependent SHAP values from the library's own TreeSHAP.

    Returns
    -------
    (ndarray of shape (n_rows, n_features, n_tree_outputs), ndarray of shape (n_tree_outputs,))
    """
    m = info.n_features
    if info.family == "lightgbm":
        out = lightgbm_booster(model).predict(model_input, pred_contrib=True)
        return _split_bias(np.asarray(out).reshape(n_rows, info.n_tree_outputs, m + 1), n_rows, m)
    if info.family == "xgboost":
        out = xgboost_booster(model).predict(_dmatrix(model_input), pred_contribs=True,
                                             iteration_range=xgboost_iteration_range(model), validate_features=False)
        return _split_bias(out, n_rows, m)
    out = model.get_feature_importance(_catboost_pool(model, model_input), type="ShapValues")
    return _split_bias(out, n_rows, m)


def native_interactions(model: Any, info: TreeModelInfo, model_input: Any, n_rows: int) -> np.ndarray:
    """SHAP interaction values from XGBoost or CatBoost, ndarray of shape (n_rows, m, m, n_tree_outputs)."""
    m = info.n_features
    if info.family == "xgboost":
        out = xgboost_booster(model).predict(_dmatrix(model_input), pred_interactions=True,
                                             iteration_range=xgboost_iteration_range(model), validate_features=False)
    else:
        out = model.get_feature_importance(_catboost_pool(model, model_input), type="ShapInteractionValues")
    out = np.asarray(out, dtype=np.float64).reshape(n_rows, -1, m + 1, m + 1)
    return np.ascontiguousarray(np.moveaxis(out[:, :, :m, :m], 1, 3))
