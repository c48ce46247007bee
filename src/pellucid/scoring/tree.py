"""TreeScoringExplainer: exact TreeSHAP at inference time from a tree ensemble saved without pickle.

The trees are kept as the flat node arrays of :func:`pellucid.explainers._tree_ensemble.extract_ensemble`
(``TreeEnsemble.to_arrays``, in the ``.npz``) and explained by pellucid's compiled TreeSHAP on them
(FastTreeSHAP-v2 tables for path-dependent values, the interventional engine against a background). For a
single row or a batch this is faster than the libraries' own ``pred_contrib`` and needs no library at score time
for the explanation.

LightGBM, XGBoost and CatBoost models are also saved in their library's own format (LightGBM text, XGBoost JSON,
CatBoost ``.cbm``): they give the predictions of regressors whose objective has a link (Poisson, Gamma ...), and
``engine="native"`` scores with a :class:`~pellucid.explainers.tree.TreeExplainer` rebuilt on them, running the
library's native C++ TreeSHAP (also the fallback when the trees cannot be extracted, e.g. CatBoost categorical
splits). scikit-learn trees, forests, GradientBoosting and HistGradientBoosting models are stored as arrays only:
no scikit-learn object is stored or loaded.

Interventional explainers also keep their (weighted) background. Values, expected values and output spaces are
those of TreeExplainer: probabilities for forest classifiers, log-odds or per-class margins for boosted
classifiers (a binary margin model gives class 1 ``m`` and class 0 ``-m``), raw predictions (or raw margins for
objectives with a link) for regressors.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
from typing import Any

import numpy as np

from pellucid.data import Dataset, default_feature_names
from pellucid.errors import ArgumentError, ModelInterfaceError
from pellucid.explanation import CLASSIFICATION
from pellucid.scoring.base import ScoringExplainer

__all__ = ["TreeScoringExplainer", "ENGINES"]

logger = logging.getLogger(__name__)

_NATIVE = ("lightgbm", "xgboost", "catboost")
ENGINES = ("auto", "pellucid", "native")
_ENSEMBLE_PREFIX = "tree/"


class TreeScoringExplainer(ScoringExplainer):
    """Scoring explainer for a fitted :class:`~pellucid.explainers.tree.TreeExplainer`.

    Parameters
    ----------
    explainer : TreeExplainer
        The fitted explainer (or a TabularExplainer that chose one, or a MimicExplainer's tree surrogate).
    initialization_examples : array-like of shape (n_rows, n_features), optional
        A background to use instead of the explainer's for ``feature_perturbation="interventional"``. Path-dependent
        TreeSHAP uses the trees' own cover statistics and no background (a note says so when rows are given).
    engine : {"auto", "pellucid", "native"}, default "auto"
        Who computes the values at score time: pellucid's TreeSHAP on the tree arrays ("pellucid"; "auto" picks it
        whenever the trees can be extracted) or the library's own path-dependent TreeSHAP through TreeExplainer
        ("native", LightGBM/XGBoost/CatBoost only).
    """

    kind = "tree"
    _required_arrays = ()

    def __init__(self, explainer: Any, initialization_examples: Any = None, *, engine: str = "auto") -> None:
        if engine not in ENGINES:
            raise ArgumentError(f"engine must be one of {ENGINES}; found {engine!r}")
        explainer = getattr(explainer, "explainer", explainer)  # TabularExplainer -> its direct explainer
        if getattr(explainer, "scoring_kind", None) != "tree" or not hasattr(explainer, "info"):
            raise ModelInterfaceError(
                f"TreeScoringExplainer needs a fitted TreeExplainer; found {type(explainer).__name__}"
            )
        info = explainer.info
        self.info = dataclasses.replace(info, notes=list(info.notes))
        self.feature_perturbation = explainer.feature_perturbation
        self.features = list(explainer.features or default_feature_names(info.n_features))
        self.task, self.classes = explainer.task_and_classes()
        self.classes = None if self.classes is None else list(self.classes)
        self.output_space = info.output_space  # the trees' own space: scoring does not rescale to probabilities
        self.method = explainer.method
        self.notes = []
        if explainer.output_space != info.output_space:
            self.notes.append(
                f"the TreeExplainer rescaled its values to {explainer.output_space} (shap_values_output); the "
                f"scoring explainer explains the model's {info.output_space} values"
            )
        self.allows_missing = not info.family.startswith("sklearn_gb")  # GradientBoosting* refuses NaN
        self._adopt_transformations(explainer)
        background = explainer.background
        if initialization_examples is not None:
            if self.feature_perturbation == "interventional":
                values = self.prepare(initialization_examples).values
                background = Dataset(values=values, feature_names=list(self.features))
                self.notes.append(f"interventional background taken from the {len(values)} rows given")
            else:
                note = ("rows given to create_scoring_explainer are not used: path-dependent TreeSHAP needs no "
                        "background (build the TreeExplainer with feature_perturbation='interventional' to use one)")
                self.notes.append(note)
                logger.warning(note)
        self.background = None
        self.background_weights = None
        if self.feature_perturbation == "interventional":
            self.background = np.asarray(background.values, dtype=np.float64)
            self.background_weights = background.row_weights()
        self.model = explainer.model if info.family in _NATIVE else None
        self.ensemble = None
        if engine != "native" or self.model is None:
            try:
                self.ensemble = explainer.ensemble
            except ModelInterfaceError as exc:
                if self.model is None or engine == "pellucid":
                    raise
                self.notes.append(f"the trees could not be read into arrays ({exc}); the library's TreeSHAP is used")
        if engine == "native" and self.model is None:
            raise ArgumentError(f"engine='native' needs a LightGBM, XGBoost or CatBoost model; found {info.family}")
        self._tree: Any = explainer if initialization_examples is None and self.model is not None else None
        self._engine: Any = None

    # ------------------------------------------------------------------ engines
    @property
    def tree_explainer(self) -> Any:
        """The TreeExplainer rebuilt on the stored model (library models only; built once)."""
        if self._tree is None:
            from pellucid.explainers.tree import TreeExplainer

            background = None if self.background is None else Dataset(
                values=self.background, feature_names=list(self.features), weights=self.background_weights)
            self._tree = TreeExplainer(
                self.model, background, features=list(self.features), classes=self.classes,
                feature_perturbation=self.feature_perturbation, model_task=self.task,
            )
        return self._tree

    def _ensemble_engine(self) -> Any:
        if self._engine is None:
            if self.feature_perturbation == "interventional":
                from pellucid.explainers._tree_interventional import InterventionalEngine

                self._engine = InterventionalEngine(self.ensemble, self.background, self.background_weights)
            else:
                from pellucid.explainers._tree_engine import PathDependentEngine

                self._engine = PathDependentEngine(self.ensemble)
        return self._engine

    def _expected(self) -> np.ndarray:
        engine = self._ensemble_engine()
        expected = engine.expected_value
        return np.asarray(expected() if callable(expected) else expected, dtype=np.float64)

    def _explained(self, values: np.ndarray, expected: np.ndarray, output: np.ndarray):
        if not self.info.binary_margin:
            return values, expected, output
        return (np.concatenate([-values, values], axis=2), np.concatenate([-expected, expected]),
                np.concatenate([-output, output], axis=1))

    # ------------------------------------------------------------------ values
    @property
    def expected_values(self) -> np.ndarray:
        """Expected model output in the explained space, shape (n_outputs,)."""
        if self.ensemble is None:
            _, expected, _ = self._local(self._probe_row())
            return expected
        expected = self._expected()
        return np.concatenate([-expected, expected]) if self.info.binary_margin else expected

    def _probe_row(self) -> np.ndarray:
        return self.background[:1] if self.background is not None else np.zeros((1, self.n_features))

    def _local(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.ensemble is None:
            explanation = self.tree_explainer.explain_local(values)
            return explanation.local_values, explanation.expected_values_array, explanation.model_output
        local = self._ensemble_engine().shap_values(values)
        return self._explained(local, self._expected(), self.ensemble.predict(values))

    def _raw_output(self, values: np.ndarray) -> np.ndarray:
        """The model's output in the explained space before a binary margin is split: (n, n_tree_outputs)."""
        if self.ensemble is not None:
            return self.ensemble.predict(values)
        from pellucid.explainers._tree_models import raw_output

        return raw_output(self.model, self.tree_explainer.info, values)

    def _predict(self, values: np.ndarray) -> np.ndarray:
        output = self._raw_output(values)
        if self.task == CLASSIFICATION:
            if self.info.binary_margin:  # margin > 0 means class 1, as every boosting library decides
                output = np.concatenate([np.zeros_like(output), output], axis=1)
            return self._labels(output)
        if self.output_space != "margin":
            return output[:, 0]
        if self.model is None:  # scikit-learn's HistGradientBoosting: poisson and gamma losses use a log link
            return np.exp(output[:, 0])
        return self._library_prediction(values)

    def _library_prediction(self, values: np.ndarray) -> np.ndarray:
        """A library regressor's own prediction (its link applied to the margin)."""
        if self.info.family == "xgboost" and type(self.model).__name__ == "Booster":
            xgboost = importlib.import_module("xgboost")
            return np.asarray(self.model.predict(xgboost.DMatrix(values)), dtype=np.float64).reshape(len(values))
        return np.asarray(self.model.predict(values), dtype=np.float64).reshape(len(values))

    # ------------------------------------------------------------------ saving
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        info = dataclasses.asdict(self.info)
        state = {"feature_perturbation": self.feature_perturbation, "model_info": info,
                 "engine": "pellucid" if self.ensemble is not None else "native"}
        arrays: dict[str, np.ndarray] = {}
        if self.ensemble is not None:
            arrays.update({_ENSEMBLE_PREFIX + name: value for name, value in self.ensemble.to_arrays().items()})
        if self.background is not None:
            arrays["background"] = self.background
            arrays["background_weights"] = self.background_weights
        return state, arrays

    @classmethod
    def _restore(cls, header: dict[str, Any], state: dict[str, Any], arrays: dict[str, np.ndarray], model: Any):
        from pellucid.explainers._tree_models import TreeModelInfo

        explainer = cls.__new__(cls)
        explainer.info = TreeModelInfo(**state["model_info"])
        explainer.feature_perturbation = state["feature_perturbation"]
        if explainer.feature_perturbation not in ("tree_path_dependent", "interventional"):
            raise ValueError(f"unknown feature_perturbation {explainer.feature_perturbation!r}")
        explainer.task, explainer.classes = header["task"], header["classes"]
        explainer.features, explainer.output_space = header["features"], header["output_space"]
        explainer.method, explainer.notes = header["method"], list(header["notes"])
        explainer.allows_missing = header["allows_missing"]
        explainer.background = explainer.background_weights = None
        if explainer.feature_perturbation == "interventional":
            explainer.background = np.asarray(arrays["background"], dtype=np.float64)
            explainer.background_weights = np.asarray(arrays["background_weights"], dtype=np.float64)
            if explainer.background.ndim != 2 or explainer.background.shape[1] != len(explainer.features):
                raise ValueError(f"the background's shape {explainer.background.shape} does not fit the features")
        explainer.model, explainer.ensemble = model, None
        if state.get("engine") == "pellucid":
            from pellucid.explainers._tree_ensemble import TreeEnsemble

            tree_arrays = {name[len(_ENSEMBLE_PREFIX):]: value for name, value in arrays.items()
                           if name.startswith(_ENSEMBLE_PREFIX)}
            explainer.ensemble = TreeEnsemble.from_arrays(tree_arrays)
            if explainer.ensemble.n_features != len(explainer.features):
                raise ValueError(f"the trees use {explainer.ensemble.n_features} features; the manifest names "
                                 f"{len(explainer.features)}")
        elif state.get("engine") != "native" or model is None:
            raise ValueError(f"engine {state.get('engine')!r} needs " + ("the stored model" if model is None else
                             "to be 'pellucid' or 'native'"))
        explainer._tree = None
        explainer._engine = None
        return explainer
