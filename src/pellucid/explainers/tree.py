"""TreeExplainer: exact SHAP values of tree ensembles, fast.

Path-dependent TreeSHAP (the default) explains the model with the trees' own cover statistics as the
feature distribution; interventional TreeSHAP explains it against a background dataset (each feature
absent from a coalition takes the background row's value), averaged over the background rows.

Every model is read into one array form of its trees
(:func:`pellucid.explainers._tree_ensemble.extract_ensemble`) and explained by pellucid's compiled TreeSHAP
(numba, parallel over rows), with FastTreeSHAP-v2 style per-leaf tables where they repay their cost and fit
in memory (``meta["notes"]`` says which leaves use them and which the v1 recurrence). That kernel is faster
than the libraries' own C++ TreeSHAP (see ``bench/bench_tree.py``), so LightGBM ``pred_contrib``, XGBoost
``pred_contribs`` / ``pred_interactions`` and CatBoost ``ShapValues`` / ``ShapInteractionValues`` are the
fallback: for rows that are not plain numbers (pandas categoricals, CatBoost text categories) and trees
pellucid does not read (XGBoost categorical splits, CatBoost categorical features, LightGBM linear trees).
``meta["algorithm"]`` names the path taken.

Output spaces: sklearn forest and tree classifiers are explained in probability (they average leaf class
fractions); boosted classifiers in log-odds (binary) or per-class margins (multiclass); regressors in their
raw prediction (or raw margin when the objective has a link). A binary margin model is explained by one
margin ``m``: class 1 gets ``m`` and class 0 ``-m``, so additivity holds per output.

Examples
--------
>>> from sklearn.datasets import load_diabetes
>>> from sklearn.ensemble import RandomForestRegressor
>>> X, y = load_diabetes(return_X_y=True)
>>> model = RandomForestRegressor(n_estimators=10, random_state=0).fit(X, y)
>>> explanation = TreeExplainer(model).explain_local(X[:5])
>>> explanation.local_values.shape
(5, 10, 1)
"""

from __future__ import annotations

import logging
import threading
from typing import Any, ClassVar

import numpy as np

from pellucid._locks import LockedPickling
from pellucid.common.constants import ShapValuesOutput
from pellucid.data import Dataset
from pellucid.errors import ArgumentError, DataShapeError, DataValueError, ModelInterfaceError, PellucidError
from pellucid.explainers._probability_output import MARGIN_SPACES, read_shap_values_output, to_probability
from pellucid.explainers._tree_engine import ROW_CHUNK_BYTES, PathDependentEngine
from pellucid.explainers._tree_ensemble import TreeEnsemble, extract_ensemble, model_family
from pellucid.explainers._tree_models import (
    TreeModelInfo,
    describe_model,
    native_interactions,
    native_shap,
    raw_output,
)
from pellucid.explainers.base import BaseExplainer, LocalResult
from pellucid.explanation import CLASSIFICATION
from pellucid.model import TASKS

__all__ = ["TreeExplainer", "FEATURE_PERTURBATIONS"]

logger = logging.getLogger(__name__)

FEATURE_PERTURBATIONS = ("tree_path_dependent", "interventional")
_LIBRARY_NAMES = {"lightgbm": "LightGBM", "xgboost": "XGBoost", "catboost": "CatBoost"}


class TreeExplainer(LockedPickling, BaseExplainer):
    """Exact SHAP values for tree models.

    Parameters
    ----------
    model : fitted tree model
        sklearn DecisionTree, RandomForest, ExtraTrees, GradientBoosting or HistGradientBoosting (classifier
        or regressor), LightGBM (sklearn API or Booster), XGBoost (sklearn API or Booster) or CatBoost.
    initialization_examples : array-like of shape (n_background, n_features), optional
        Background data. Needed (and only used) for ``feature_perturbation="interventional"``; a summarised
        background (e.g. :func:`pellucid.data.summarize`) keeps its row weights.
    features : list of str, optional
        Feature names.
    classes : list, optional
        Class labels of a classifier, one per class; default the model's ``classes_``.
    transformations : optional
        Fitted raw -> engineered transformations (see :class:`~pellucid.explainers.base.BaseExplainer`): the
        model takes engineered features, data is given raw, and explanations are in raw features by default
        (``raw=False`` for engineered ones).
    allow_all_transformations : bool, default False
        Share many-to-one transformations' importance equally among their input columns.
    explain_subset : list of int, optional
        Keep only these features in the explanations (SDK argument; see :class:`BaseExplainer`).
    feature_perturbation : {"tree_path_dependent", "interventional"}
        How absent features are treated: follow the training cover of each split (path dependent), or take
        the background rows' values (interventional).
    model_task : {"unknown", "classification", "regression"}
        Checked against the model when given.
    shap_values_output : ShapValuesOutput or str, default ShapValuesOutput.DEFAULT
        The SDK's option: ``PROBABILITY`` rescales a boosted classifier's log-odds / margin values so that each
        class's base value (the probability at the expected margin) plus the row's values equals the model's
        predicted probability (see :mod:`pellucid.explainers._probability_output`); ``meta["output_space"]``
        becomes ``"probability"``. No effect on forests (already probabilities) and regressors.

    Raises
    ------
    ModelInterfaceError
        When the model is not a supported, fitted tree model.
    ArgumentError
        For an unknown ``feature_perturbation`` or ``model_task``, interventional without background, or
        ``classes`` of the wrong length.
    DataShapeError
        When the background or ``features`` do not match the model's number of features.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.ensemble import GradientBoostingClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = GradientBoostingClassifier(n_estimators=20, random_state=0).fit(X, y)
    >>> explanation = TreeExplainer(model).explain_local(X[:3])
    >>> explanation.meta["output_space"], explanation.local_values.shape
    ('log_odds', (3, 30, 2))
    """

    method: ClassVar[str] = "tree_shap"
    _PICKLE_LOCKS: ClassVar[dict[str, Any]] = {"_lazy_lock": threading.RLock}
    name = "tree"
    capabilities = frozenset({"local", "global", "distributed"})
    scoring_kind = "tree"

    def __init__(
        self,
        model: Any,
        initialization_examples: Any = None,
        features: list[str] | None = None,
        classes: list[Any] | None = None,
        transformations: Any = None,
        *,
        feature_perturbation: str = "tree_path_dependent",
        model_task: str = "unknown",
        allow_all_transformations: bool = False,
        explain_subset: list[int] | None = None,
        shap_values_output: ShapValuesOutput | str = ShapValuesOutput.DEFAULT,
    ) -> None:
        self.shap_values_output = read_shap_values_output(
            shap_values_output, (ShapValuesOutput.DEFAULT, ShapValuesOutput.PROBABILITY)
        )
        super().__init__(
            model, initialization_examples, features, classes, transformations, model_task=model_task,
            allow_all_transformations=allow_all_transformations, explain_subset=explain_subset,
        )
        if feature_perturbation not in FEATURE_PERTURBATIONS:
            raise ArgumentError(
                f"feature_perturbation must be one of {FEATURE_PERTURBATIONS}; found {feature_perturbation!r}"
            )
        if model_task not in TASKS:
            raise ArgumentError(f"model_task must be one of {TASKS}; found {model_task!r}")
        family = model_family(model)
        if family is None:
            raise ModelInterfaceError(
                "TreeExplainer explains sklearn DecisionTree/RandomForest/ExtraTrees/GradientBoosting/"
                "HistGradientBoosting models, LightGBM, XGBoost and CatBoost models; found "
                f"{type(model).__module__}.{type(model).__qualname__}. Use KernelExplainer or TabularExplainer "
                "for other models"
            )
        self.feature_perturbation = feature_perturbation
        self.info: TreeModelInfo = describe_model(model, family)
        if model_task != "unknown" and model_task != self.info.task:
            raise ArgumentError(
                f"model_task={model_task!r} but the model is a {self.info.task} model "
                f"({type(model).__qualname__}); pass model_task='unknown' or {self.info.task!r}"
            )
        if classes is not None:
            if self.info.task != "classification" or len(self.classes) != self.info.n_outputs:
                expected = self.info.n_outputs if self.info.task == "classification" else "no"
                raise ArgumentError(
                    f"classes lists {len(self.classes)} labels; the model has {expected} classes"
                )
            self.info.classes = list(self.classes)
        m = self.info.n_features
        if self.background is not None and self.background.n_features != m:
            raise DataShapeError(
                f"initialization_examples must have {m} features, as the model was fitted with; "
                f"found {self.background.n_features}"
            )
        if self.features is not None and len(self.features) != m:
            raise DataShapeError(f"features lists {len(self.features)} names; the model has {m} features")
        if feature_perturbation == "interventional" and self.background is None:
            raise ArgumentError(
                "feature_perturbation='interventional' needs background data: pass initialization_examples "
                "(a few hundred representative rows, or a summary from pellucid.data.summarize)"
            )
        self.output_space = self.info.output_space
        self._notes.extend(self.info.notes)
        self._rescale = (self.shap_values_output is ShapValuesOutput.PROBABILITY
                         and self.info.task == CLASSIFICATION and self.output_space in MARGIN_SPACES)
        if self._rescale:
            self.output_space = "probability"
            self._notes.append(
                f"shap_values_output=probability: {self.info.output_space} values rescaled per row and class to add "
                "up to the predicted probabilities from the probability at the expected margin (the SDK's rule)"
            )
        # sklearn models (and every model explained interventionally) are explained from the extracted trees:
        # read them now, so that an unsupported split fails here rather than at the first explain call
        self._ensemble: TreeEnsemble | None = None if self.info.native and not self._interventional_mode() \
            else extract_ensemble(model)
        self._extraction_error: str | None = None
        self._path_engine: PathDependentEngine | None = None
        self._interventional_engine: Any = None
        # one explainer may serve many threads: lazy reads of the trees and engine builds run once, under this lock
        self._lazy_lock = threading.RLock()


    # ------------------------------------------------------------------ BaseExplainer hooks
    @classmethod
    def supports(cls, model: Any) -> bool:
        """True for sklearn tree/forest/boosting models, LightGBM, XGBoost and CatBoost models."""
        return model_family(model) is not None

    def _task_and_classes(self) -> tuple[str, list | None]:
        return self.info.task, self.info.classes

    def _expected_n_features(self) -> int | None:
        return self.info.n_features

    def _parameters(self) -> dict[str, Any]:
        parameters = {
            "feature_perturbation": self.feature_perturbation,
            "background_rows": None if self.background is None else int(self.background.n_rows),
        }
        if self.shap_values_output is not ShapValuesOutput.DEFAULT:
            parameters["shap_values_output"] = self.shap_values_output.value
        return parameters

    # ------------------------------------------------------------------ the trees
    @property
    def ensemble(self) -> TreeEnsemble:
        """The model's trees in pellucid's array form (extracted on first use)."""
        if self._ensemble is None:
            with self._lazy_lock:
                if self._ensemble is None:
                    self._ensemble = extract_ensemble(self.model)
        return self._ensemble

    def _interventional_mode(self) -> bool:
        return self.feature_perturbation == "interventional"

    def _uses_native(self, rows: Dataset) -> bool:
        """True when the library's own TreeSHAP explains these rows.

        pellucid's kernel is faster than LightGBM's, XGBoost's and CatBoost's own TreeSHAP (see
        bench/bench_tree.py), so the native path is only the fallback: for rows that are not plain numbers
        (pandas categoricals, strings for CatBoost) and for trees pellucid does not read (XGBoost categorical
        splits, CatBoost categorical features, LightGBM linear trees).
        """
        if not self.info.native or self._interventional_mode():
            return False
        if not rows.is_numeric or self._extraction_error is not None:
            return True
        if self._ensemble is None:
            with self._lazy_lock:
                if self._extraction_error is not None:
                    return True
                if self._ensemble is None:
                    try:
                        self._ensemble = extract_ensemble(self.model)
                    except ModelInterfaceError as exc:
                        self._extraction_error = str(exc)
                        note = f"explained with {_LIBRARY_NAMES[self.info.family]}'s own TreeSHAP: {exc}"
                        self._notes.append(note)
                        logger.info(note)
                        return True
        return False

    def _path_dependent(self) -> PathDependentEngine:
        if self._path_engine is None:
            with self._lazy_lock:
                if self._path_engine is None:
                    self._path_engine = PathDependentEngine(self.ensemble)
        return self._path_engine

    def _interventional(self) -> Any:
        if self._interventional_engine is None:
            from pellucid.explainers._tree_interventional import InterventionalEngine

            with self._lazy_lock:
                if self._interventional_engine is None:
                    background = self._numeric(self.background, "initialization_examples")
                    self._interventional_engine = InterventionalEngine(self.ensemble, background,
                                                                       self.background.row_weights())
        return self._interventional_engine

    # ------------------------------------------------------------------ computing
    def _numeric(self, rows: Dataset, name: str) -> np.ndarray:
        if not rows.is_numeric:
            raise DataValueError(
                f"{name} must be numeric for TreeSHAP on {type(self.model).__qualname__} with "
                f"feature_perturbation={self.feature_perturbation!r}; found non-numeric columns. Encode them "
                "as numbers (the model was fitted on numbers), or use the library's own categorical support "
                "with the default path-dependent perturbation"
            )
        return rows.values

    def _model_input(self, rows: Dataset, start: int, stop: int) -> Any:
        if rows.kind == "numpy" and rows.is_numeric:
            return rows.values[start:stop]
        return rows.to_model_input(rows.values[start:stop])

    def _chunks(self, n_rows: int, bytes_per_row: int) -> list[tuple[int, int]]:
        step = max(1, ROW_CHUNK_BYTES // max(bytes_per_row, 1))
        return [(start, min(start + step, n_rows)) for start in range(0, n_rows, step)]

    def _model_output(self, rows: Dataset) -> np.ndarray:
        try:
            return raw_output(self.model, self.info, self._model_input(rows, 0, rows.n_rows))
        except PellucidError:
            raise
        except Exception as exc:
            bad = rows.non_finite_cells()
            if bad.any():
                raise DataValueError(
                    f"{type(self.model).__qualname__} cannot take missing or infinite values: the data holds "
                    f"{int(bad.sum())} NaN/inf cells and the model raised {type(exc).__name__}: {exc}. Impute "
                    "them first (e.g. sklearn.impute.SimpleImputer) or use a model that handles missing values"
                ) from exc
            raise ModelInterfaceError(
                f"calling {type(self.model).__qualname__} on {rows.n_rows} rows failed with "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    def _explain_rows(self, rows: Dataset) -> LocalResult:
        native = self._uses_native(rows)
        if not native:
            self._numeric(rows, "evaluation_examples")
        model_output = self._model_output(rows)
        notes: list[str] = []
        if native:
            k, m = self.info.n_tree_outputs, self.info.n_features
            values = np.zeros((rows.n_rows, m, k))
            expected = np.zeros(k)
            for start, stop in self._chunks(rows.n_rows, (m + 1) * k * 8 * 2):
                values[start:stop], expected = native_shap(self.model, self.info,
                                                           self._model_input(rows, start, stop), stop - start)
            algorithm = f"{_LIBRARY_NAMES[self.info.family]}'s native path-dependent TreeSHAP"
        elif self.feature_perturbation == "tree_path_dependent":
            engine = self._path_dependent()
            values, engine_notes = engine.shap_values_and_notes(self._numeric(rows, "evaluation_examples"))
            expected = engine.expected_value()
            notes.extend(engine_notes)
            algorithm = "pellucid path-dependent TreeSHAP"
        else:
            engine = self._interventional()
            values, engine_notes = engine.shap_values_and_notes(self._numeric(rows, "evaluation_examples"))
            expected = engine.expected_value
            notes.extend(engine_notes)
            algorithm = "pellucid interventional TreeSHAP"
        values, expected, model_output = self._to_explained(values, expected, model_output)
        if getattr(self, "_rescale", False):
            values, expected, model_output = to_probability(values, expected, model_output, self.info.output_space)
        error = float(np.abs(values.sum(axis=1) + expected - model_output).max(initial=0.0))
        return LocalResult(
            values=values,
            expected_values=expected,
            model_output=model_output,
            meta={"notes": notes, "algorithm": algorithm, "max_additivity_error": error},
        )

    def _to_explained(self, values: np.ndarray, expected: np.ndarray,
                      model_output: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self.info.binary_margin:
            return values, np.asarray(expected, dtype=np.float64), model_output
        return (np.concatenate([-values, values], axis=2), np.concatenate([-expected, expected]),
                np.concatenate([-model_output, model_output], axis=1))

    # ------------------------------------------------------------------ interactions
    def shap_interaction_values(self, evaluation_examples: Any) -> np.ndarray:
        """SHAP interaction values of each row (path-dependent TreeSHAP).

        Parameters
        ----------
        evaluation_examples : array-like of shape (n_rows, n_features)

        Returns
        -------
        ndarray of shape (n_rows, n_features, n_features, n_outputs)
            Off-diagonal entries ``[r, i, j, k]`` hold half the interaction of features i and j (so the
            matrix is symmetric); the diagonal holds main effects, so summing over the last feature axis
            gives the SHAP values of :meth:`explain_local`. Outputs as in :meth:`explain_local` (binary
            margin models: class 0 is the negated class 1).
        """
        if self.feature_perturbation != "tree_path_dependent":
            raise ArgumentError(
                "SHAP interaction values are computed with feature_perturbation='tree_path_dependent'; "
                "this explainer was built with 'interventional'"
            )
        rows = self._read_rows(evaluation_examples)
        m, k = self.info.n_features, self.info.n_tree_outputs
        if self._uses_native(rows):
            if self.info.family == "lightgbm":
                raise ModelInterfaceError(
                    "SHAP interaction values of this LightGBM model need its trees in pellucid's form, which "
                    f"failed ({self._extraction_error or 'the rows are not numeric'}); LightGBM has no native "
                    "interaction values"
                )
            inter = np.zeros((rows.n_rows, m, m, k))
            for start, stop in self._chunks(rows.n_rows, (m + 1) ** 2 * k * 8 * 2):
                inter[start:stop] = native_interactions(self.model, self.info, self._model_input(rows, start, stop),
                                                        stop - start)
        else:
            _, inter = self._path_dependent().interaction_values(self._numeric(rows, "evaluation_examples"))
        if self.info.binary_margin:
            inter = np.concatenate([-inter, inter], axis=3)
        return inter
