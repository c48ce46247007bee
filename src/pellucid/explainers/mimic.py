"""MimicExplainer: a global surrogate trained on the teacher model's outputs, explained exactly.

As in the old SDK, the surrogate (LightGBM, a decision tree, a linear or SGD model) is trained on **all** the
initialization examples (plus, for wide data with fewer rows than columns, column-wise permuted copies),
labelled by the teacher: its predicted class for a classifier, its prediction for a regressor. A class the
teacher never predicts on those rows still gets its most probable row (the SDK's rule), so the surrogate and the
explanation keep every class. The surrogate is then explained exactly (TreeSHAP or linear SHAP) against those
rows: the expected value is the surrogate's mean prediction over them. The explanation's method is
``"mimic.<surrogate>"`` (``mimic.lightgbm``, ``mimic.linear``, ``mimic.sgd``, ``mimic.tree``).

Fidelity: :meth:`MimicExplainer.get_surrogate_model_replication_measure` scores the surrogate against the
teacher on given rows (the SDK's measure: R^2 or accuracy). Besides, a second surrogate of the same kind is
trained without a held-out share of the rows and scored on them (``meta["fidelity"]``: R^2 for regression;
accuracy and log-loss against the teacher's probabilities for classification), with a warning when it is poor;
the held-out rows (``held_out_index``) never reach that surrogate's training.

Examples
--------
>>> from sklearn.datasets import load_diabetes
>>> from sklearn.linear_model import Ridge
>>> from pellucid.mimic.models import LinearExplainableModel
>>> X, y = load_diabetes(return_X_y=True)
>>> explainer = MimicExplainer(Ridge().fit(X, y), X, LinearExplainableModel)
>>> round(explainer.get_surrogate_model_replication_measure(X), 6), explainer.method
(1.0, 'mimic.linear')
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np

from pellucid.common.constants import ShapValuesOutput
from pellucid.data import Dataset
from pellucid.errors import ArgumentError, DataShapeError, DataValueError, ModelInterfaceError
from pellucid.explainers._probability_output import MARGIN_SPACES, read_shap_values_output, to_probability
from pellucid.explainers.base import BaseExplainer, LocalResult
from pellucid.explainers.linear import LinearExplainer
from pellucid.explainers.tree import TreeExplainer
from pellucid.explanation import CLASSIFICATION, Explanation
from pellucid.mimic.models.explainable_model import BaseExplainableModel
from pellucid.model import is_callable_model

__all__ = ["MimicExplainer", "POOR_FIDELITY"]

logger = logging.getLogger(__name__)

#: Below these held-out scores the surrogate's explanation is flagged as untrustworthy.
POOR_FIDELITY = {"r2": 0.8, "accuracy": 0.9}
#: Accepted ``reset_index`` values (the SDK's ``ResetIndex``; True/False mean "reset"/"ignore").
RESET_INDEX = ("ignore", "reset", "reset_teacher")


class MimicExplainer(BaseExplainer):
    """Explain a model through a surrogate trained to mimic it.

    Parameters
    ----------
    model : object or callable
        The teacher model (predict / predict_proba / function).
    initialization_examples : array-like of shape (n_rows, n_features)
        Numeric training data for the surrogate (use ``transformations`` for raw categorical data). The
        explanation's background: the surrogate is trained on all of it.
    explainable_model : type
        A surrogate class: ``LGBMExplainableModel``, ``LinearExplainableModel``, ``SGDExplainableModel`` or
        ``DecisionTreeExplainableModel`` (from ``pellucid.mimic.models``).
    explainable_model_args : dict, optional
        Arguments of the surrogate's estimator, and the SDK's ``sparse_data`` flag.
    features, classes, transformations, model_task, is_function
        See :class:`~pellucid.explainers.base.BaseExplainer`.
    augment_data : bool, default True
        As in the SDK: when the data has fewer rows than columns, add ``n_columns // n_rows - 1`` copies (at most
        ``max_num_of_augmentations``) with each column's values permuted over the rows.
    max_num_of_augmentations : int, default 10
        Most copies added by augmentation.
    explain_subset : list of int, optional
        Indices of the features kept in the explanations (the values are computed over all features, as in the
        SDK). Not supported with transformations.
    reset_index : {"ignore", "reset", "reset_teacher"} or bool, default "ignore"
        A pandas DataFrame's index (the SDK's meaning): "ignore" drops it; "reset" makes it feature columns
        (after the others) of the surrogate and gives the teacher its rows with that index; "reset_teacher"
        gives the teacher the index but keeps it out of the surrogate. True / False mean "reset" / "ignore".
    held_out_fraction : float, default 0.2
        Share of the labelled rows held out of a second surrogate's training to measure fidelity
        (``meta["fidelity"]``); 0 skips that measure.
    random_state : int, default 0
        Seed of augmentation, the split and the surrogates.
    shap_values_output : ShapValuesOutput or str, default ShapValuesOutput.DEFAULT
        The SDK's option. ``DEFAULT``: the surrogate's values in its output space (log-odds / margins for a
        LightGBM or logistic surrogate). ``PROBABILITY``: a classifier's values rescaled per row and class so that
        the base (the probability at the expected margin) plus the values equals the surrogate's predicted
        probability. ``TEACHER_PROBABILITY``: rescaled to add up to the teacher's probabilities (for a regressor:
        the teacher's predictions, from the surrogate's expected value). See
        :mod:`pellucid.explainers._probability_output` for the rule.

    Attributes
    ----------
    surrogate_model : BaseExplainableModel
        The fitted surrogate the explanations explain (also ``surrogate``).
    fidelity : dict or None
        The held-out fidelity (None when ``held_out_fraction`` is 0).
    held_out_index : ndarray of int
        Rows of the (augmented) training data kept out of the fidelity surrogate's training.
    surrogate_explainer : LinearExplainer or TreeExplainer
        The exact explainer of the surrogate (its scoring explainer is the MimicExplainer's).
    method : str
        ``"mimic.<surrogate>"``, as in the SDK.
    """

    method = "mimic"
    name = "mimic"
    capabilities = frozenset({"local", "global", "distributed", "model_agnostic"})
    scoring_kind = "surrogate"

    def __init__(
        self,
        model: Any,
        initialization_examples: Any,
        explainable_model: type,
        explainable_model_args: dict[str, Any] | None = None,
        features: list[str] | None = None,
        classes: list[Any] | None = None,
        transformations: Any = None,
        *,
        augment_data: bool = True,
        max_num_of_augmentations: int = 10,
        explain_subset: list[int] | None = None,
        reset_index: str | bool = "ignore",
        held_out_fraction: float = 0.2,
        random_state: int = 0,
        model_task: str = "unknown",
        allow_all_transformations: bool = False,
        is_function: bool = False,
        shap_values_output: ShapValuesOutput | str = ShapValuesOutput.DEFAULT,
    ) -> None:
        self.shap_values_output = read_shap_values_output(shap_values_output, tuple(ShapValuesOutput))
        if not (isinstance(explainable_model, type) and issubclass(explainable_model, BaseExplainableModel)):
            raise ArgumentError(
                "explainable_model must be one of pellucid's surrogate classes (LGBMExplainableModel, "
                "LinearExplainableModel, SGDExplainableModel, DecisionTreeExplainableModel); found "
                f"{explainable_model!r}"
            )
        if not isinstance(max_num_of_augmentations, int) or max_num_of_augmentations < 0:
            raise ArgumentError(f"max_num_of_augmentations must be an integer >= 0; found {max_num_of_augmentations!r}")
        if not 0.0 <= held_out_fraction < 0.5:
            raise ArgumentError(f"held_out_fraction must be in [0, 0.5); found {held_out_fraction!r}")
        if explain_subset is not None and transformations is not None:
            raise ArgumentError("explain_subset is not supported with transformations (as in the SDK); pass one of them")
        self.reset_index = _reset_index_mode(reset_index)
        self._pending_notes: list[str] = []
        model, initialization_examples, features = self._apply_reset_index(model, initialization_examples, features)
        super().__init__(
            model, initialization_examples, features, classes, transformations, model_task=model_task,
            allow_all_transformations=allow_all_transformations, explain_subset=explain_subset,
            is_function=is_function,
        )
        if self.background is None:
            raise ArgumentError("MimicExplainer needs initialization_examples to train the surrogate on")
        self._notes.extend(self._pending_notes)
        self.teacher = self._wrap_model(self.background)
        self._task, self._classes = self.teacher.task, self.teacher.classes
        self.augment_data = augment_data
        self.max_num_of_augmentations = max_num_of_augmentations
        self.held_out_fraction = held_out_fraction
        self.random_state = random_state
        self.explainable_model_args = dict(explainable_model_args or {})
        self._surrogate_class = explainable_model
        self.method = f"mimic.{explainable_model.method}"
        training = self._training_rows()
        teacher_output = self.teacher.predict_output(training)
        labels = teacher_output.argmax(axis=1) if self._task == CLASSIFICATION else teacher_output[:, 0]
        self.held_out_index = np.empty(0, dtype=np.int64)
        self.fidelity: dict[str, Any] | None = None
        training = training[:, : self._surrogate_columns()]  # the teacher saw the index columns; the surrogate not
        if held_out_fraction > 0:
            train, self.held_out_index = self._split(len(training), held_out_fraction)
            check, _ = self._fit_surrogate(training[train], labels[train], teacher_output[train])
            self.fidelity = self._fidelity(check, training[self.held_out_index], labels[self.held_out_index],
                                           teacher_output[self.held_out_index])
        self.surrogate_model, added = self._fit_surrogate(training, labels, teacher_output)
        self.surrogate = self.surrogate_model
        for class_index in added:
            self._notes.append(
                f"the model never predicts class {self._classes[class_index]!r} on the training data: its most "
                "probable row was added to the surrogate's training with that label (as in the SDK)"
            )
        self._inner = self._inner_explainer()
        self.output_space = self._inner.output_space
        self._check_shap_values_output()

    def _check_shap_values_output(self) -> None:
        """Validate ``shap_values_output`` against the teacher and set the explained output space."""
        mode = self.shap_values_output
        if mode is ShapValuesOutput.TEACHER_PROBABILITY:
            if self._task == CLASSIFICATION and self.teacher.output_space != "probability":
                raise ArgumentError(
                    "shap_values_output=teacher_probability needs the teacher's probabilities: the model must have "
                    f"predict_proba; its explained output is {self.teacher.output_space!r}"
                )
            self.output_space = self.teacher.output_space
        elif mode is ShapValuesOutput.PROBABILITY and self._task == CLASSIFICATION:
            self.output_space = "probability"
        rescaled = mode is ShapValuesOutput.TEACHER_PROBABILITY or (
            mode is ShapValuesOutput.PROBABILITY and self._task == CLASSIFICATION
            and self._inner.output_space in MARGIN_SPACES
        )
        if rescaled:
            self._notes.append(
                f"shap_values_output={mode.value}: the surrogate's {self._inner.output_space} values are rescaled "
                f"per row{' and class' if self._task == CLASSIFICATION else ''} to add up to the "
                + ("teacher's outputs" if mode is ShapValuesOutput.TEACHER_PROBABILITY
                   else "surrogate's predicted probabilities") + " (the SDK's rule)"
            )

    @property
    def surrogate_explainer(self) -> BaseExplainer:
        """The exact explainer (linear or tree) of the fitted surrogate."""
        return self._inner

    @classmethod
    def supports(cls, model: Any) -> bool:
        """Any model with predict/predict_proba, or a function, can be mimicked."""
        return is_callable_model(model)

    # ------------------------------------------------------------------ fidelity (the SDK's measure)
    def get_surrogate_model_replication_measure(self, training_data: Any) -> float:
        """How well the surrogate replicates the teacher on ``training_data`` (the SDK's measure).

        Parameters
        ----------
        training_data : array-like of shape (n_rows, n_features)
            Rows in the explainer's input format (raw rows with transformations).

        Returns
        -------
        float
            Classification: the accuracy of the surrogate's predicted class against the teacher's. Regression:
            the R^2 of the surrogate's predictions against the teacher's (``r2_score(teacher, surrogate)``).

        Raises
        ------
        ArgumentError
            For a regression measured on a single row (R^2 is undefined), as the SDK refused it.
        """
        rows = self._read_rows(training_data)
        if self._task != CLASSIFICATION and rows.n_rows < 2:
            raise ArgumentError(
                "the replication measure of a regression surrogate is R^2, which needs at least 2 rows; found 1"
            )
        teacher = self.teacher.predict_output(rows.values)
        surrogate = self.surrogate_model.predict(rows.values[:, : self._surrogate_columns()])
        if self._task == CLASSIFICATION:
            return float(np.mean(surrogate == teacher.argmax(axis=1)))
        return _r2(teacher[:, 0], np.asarray(surrogate, dtype=np.float64))

    # ------------------------------------------------------------------ training
    def _training_rows(self) -> np.ndarray:
        background = self.background
        if not background.is_numeric:
            raise DataValueError(
                "MimicExplainer trains its surrogate on numeric features; initialization_examples has "
                "non-numeric columns. Pass transformations (e.g. a ColumnTransformer) to encode them"
            )
        rows = background.values
        copies = 0
        if self.augment_data:
            copies = max(0, min(rows.shape[1] // rows.shape[0] - 1, self.max_num_of_augmentations))
        if copies:
            rng = np.random.default_rng(self.random_state)
            permuted = [np.column_stack([rng.permutation(rows[:, j]) for j in range(rows.shape[1])])
                        for _ in range(copies)]
            rows = np.vstack([rows, *permuted])
            self._notes.append(
                f"training data augmented with {copies} column-permuted copies: {background.n_rows} -> {len(rows)} rows"
            )
        return rows

    def _split(self, n_rows: int, held_out_fraction: float) -> tuple[np.ndarray, np.ndarray]:
        order = np.random.default_rng(self.random_state + 1).permutation(n_rows)
        n_held_out = min(n_rows - 1, max(1, int(round(held_out_fraction * n_rows))))
        return np.sort(order[n_held_out:]), np.sort(order[:n_held_out])

    def _fit_surrogate(
        self, rows: np.ndarray, labels: np.ndarray, teacher_output: np.ndarray
    ) -> tuple[BaseExplainableModel, list[int]]:
        """Fit a surrogate on ``rows``; a class the teacher never predicts there gets its most probable row."""
        added: list[int] = []
        if self._task == CLASSIFICATION:
            present = set(np.unique(labels).tolist())
            added = [c for c in range(teacher_output.shape[1]) if c not in present]
            if added:
                extra = [int(np.argmax(teacher_output[:, c])) for c in added]
                rows = np.vstack([rows, rows[extra]])
                labels = np.concatenate([labels, np.asarray(added, dtype=labels.dtype)])
        surrogate = self._surrogate_class(
            self._task == CLASSIFICATION, self.random_state, **self.explainable_model_args
        )
        surrogate.fit(rows, labels)
        return surrogate, added

    def _fidelity(
        self, surrogate: BaseExplainableModel, rows: np.ndarray, labels: np.ndarray, teacher_output: np.ndarray
    ) -> dict[str, Any]:
        if self._task == CLASSIFICATION:
            accuracy = float(np.mean(surrogate.predict(rows) == labels))
            probabilities = np.clip(surrogate.predict_proba(rows), 1e-15, 1.0)
            teacher = teacher_output / teacher_output.sum(axis=1, keepdims=True)
            log_loss = float(-np.mean(np.sum(teacher * np.log(probabilities), axis=1)))
            fidelity = {"accuracy": accuracy, "log_loss": log_loss, "target": "teacher's predicted class"}
            poor = accuracy < POOR_FIDELITY["accuracy"]
        else:
            r2 = _r2(labels, np.asarray(surrogate.predict(rows), dtype=np.float64))
            fidelity = {"r2": r2, "target": "teacher's prediction"}
            poor = r2 < POOR_FIDELITY["r2"]
        fidelity.update({
            "held_out_rows": int(len(rows)),
            "surrogate": type(surrogate).__name__,
            "measured_by": "a surrogate of the same kind trained without the held-out rows",
        })
        if poor:
            message = (
                f"the {type(surrogate).__name__} surrogate mimics the model poorly on held-out rows ({fidelity}); "
                "its explanation may not reflect the model. Try another surrogate or more data"
            )
            warnings.warn(message, UserWarning, stacklevel=3)
            logger.warning(message)
            self._notes.append(message)
        return fidelity

    def _inner_explainer(self) -> BaseExplainer:
        k = self._surrogate_columns()
        features = None if self.features is None else self.features[:k]
        if self.surrogate_model.explainer_kind == "linear":
            # the expected value is the surrogate's mean over all initialization examples (as in the SDK)
            return LinearExplainer(self.surrogate_model.model, self.background.values[:, :k], features=features)
        return TreeExplainer(self.surrogate_model.model, features=features)

    # ------------------------------------------------------------------ reset_index and explain_subset
    def _apply_reset_index(self, model: Any, examples: Any, features: list[str] | None) -> tuple[Any, Any, Any]:
        """The teacher, the data and the feature names once a DataFrame's index is made feature columns."""
        self._index_columns: list[Any] = []
        if self.reset_index == "ignore" or not _has_meaningful_index(examples):
            return model, examples, features
        self._index_columns = [name if name is not None else "index" for name in examples.index.names]
        frame = self._reset(examples)
        if features is not None and len(features) == frame.shape[1] - len(self._index_columns):
            features = [*features, *self._index_columns]
        self._pending_notes.append(
            f"reset_index={self.reset_index!r}: the DataFrame index {self._index_columns} is given to the model as its "
            + ("index and to the surrogate as the last features" if self.reset_index == "reset"
               else "index and kept out of the surrogate")
        )
        return _IndexRestoringModel(model, self._index_columns), frame, features

    def _reset(self, frame: Any) -> Any:
        """A DataFrame with its index moved into feature columns after the others."""
        if not _has_meaningful_index(frame) or [n if n is not None else "index" for n in frame.index.names] != \
                self._index_columns:
            raise DataShapeError(
                f"with reset_index={self.reset_index!r} the rows must be a DataFrame indexed by "
                f"{self._index_columns}, like initialization_examples; found {type(frame).__name__}"
            )
        reset = frame.reset_index()
        reset.columns = [*reset.columns[: len(self._index_columns)].map(lambda c: "index" if c is None else c),
                         *reset.columns[len(self._index_columns):]]
        others = [c for c in reset.columns if c not in self._index_columns]
        return reset[others + self._index_columns]

    def _read_input(self, evaluation_examples: Any) -> tuple[Dataset, Dataset | None]:
        if self._index_columns:
            evaluation_examples = self._reset(evaluation_examples)
        return super()._read_input(evaluation_examples)

    def _surrogate_columns(self) -> int:
        """How many leading columns the surrogate sees (all but the index under reset_index='reset_teacher')."""
        n_features = self.background.n_features
        return n_features - len(self._index_columns) if self.reset_index == "reset_teacher" else n_features

    # ------------------------------------------------------------------ explaining
    def _task_and_classes(self) -> tuple[str, list | None]:
        return self._task, self._classes

    def _parameters(self) -> dict[str, Any]:
        return {
            "surrogate": type(self.surrogate_model).__name__,
            "surrogate_args": self.explainable_model_args,
            "augment_data": self.augment_data,
            "max_num_of_augmentations": self.max_num_of_augmentations,
            "explain_subset": self.explain_subset,
            "reset_index": self.reset_index,
            "held_out_fraction": self.held_out_fraction,
            "random_state": self.random_state,
            "shap_values_output": self.shap_values_output.value,
        }

    def _explain_rows(self, rows: Dataset) -> LocalResult:
        if not rows.is_numeric:
            raise DataValueError("evaluation_examples must be numeric for MimicExplainer, like its training data")
        inner = self._inner.explain_local(rows.values[:, : self._surrogate_columns()])
        values, expected, output = inner.local_values, inner.expected_values_array, inner.model_output
        classification = self._task == CLASSIFICATION
        if self.shap_values_output is ShapValuesOutput.TEACHER_PROBABILITY:
            target = self.teacher.predict_output(rows.values)
            values, expected, output = to_probability(values, expected, output, self._inner.output_space, target,
                                                      classification=classification)
        elif (self.shap_values_output is ShapValuesOutput.PROBABILITY and classification
              and self._inner.output_space in MARGIN_SPACES):
            values, expected, output = to_probability(values, expected, output, self._inner.output_space)
        return LocalResult(
            values=values,
            expected_values=expected,
            model_output=output,
            meta={
                "fidelity": self.fidelity,
                "surrogate_method": inner.method,
                "notes": [f"values explain the {type(self.surrogate_model).__name__} surrogate exactly "
                          f"({inner.method}), which mimics the model; see meta['fidelity']"],
            },
        )

    def _build(self, rows: Dataset, result: LocalResult) -> Explanation:
        k = self._surrogate_columns()
        if k < rows.n_features:  # reset_index="reset_teacher": the index columns are the teacher's only
            rows = rows.with_values(rows.values[:, :k])
            rows.feature_names = rows.feature_names[:k]
        return super()._build(rows, result)


def _r2(target: np.ndarray, predicted: np.ndarray) -> float:
    residual = float(np.sum((target - predicted) ** 2))
    total = float(np.sum((target - target.mean()) ** 2))
    return 1.0 - residual / total if total > 0 else float(residual == 0.0)


def _reset_index_mode(reset_index: Any) -> str:
    reset_index = getattr(reset_index, "value", reset_index)  # the SDK's ResetIndex enum members
    if reset_index is True:
        return "reset"
    if reset_index is False or reset_index is None:
        return "ignore"
    if reset_index not in RESET_INDEX:
        raise ArgumentError(f"reset_index must be one of {RESET_INDEX} or a bool; found {reset_index!r}")
    return str(reset_index)


def _has_meaningful_index(examples: Any) -> bool:
    """True for a pandas DataFrame whose index is not the default 0..n-1 range."""
    import pandas as pd

    if not isinstance(examples, pd.DataFrame):
        return False
    return not pd.Index(np.arange(len(examples))).equals(examples.index)


class _IndexRestoringModel:
    """The teacher called on rows whose last columns are its DataFrame index: they are set back as the index."""

    _HIDDEN = ("n_features_in_", "feature_names_in_")

    def __init__(self, model: Any, index_columns: list[Any]) -> None:
        self._model = model
        self._index_columns = list(index_columns)

    def _indexed(self, X: Any) -> Any:
        import pandas as pd

        if not isinstance(X, pd.DataFrame):
            raise ModelInterfaceError(
                f"reset_index needs DataFrame rows to restore the index {self._index_columns}; found {type(X).__name__}"
            )
        return X.set_index(self._index_columns)

    def predict(self, X: Any) -> Any:
        return self._model.predict(self._indexed(X))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in self._HIDDEN or name in ("_model", "_index_columns"):
            raise AttributeError(name)
        attribute = getattr(self._model, name)
        if name == "predict_proba":
            return lambda X: attribute(self._indexed(X))
        return attribute
