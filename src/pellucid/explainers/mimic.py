"""MimicExplainer: a global surrogate trained on the teacher model's outputs, explained exactly.

The surrogate (LightGBM, a decision tree, a linear or SGD model) is trained on the background data, optionally
augmented with column-wise permuted copies, labelled by the teacher: its predicted class for a classifier, its
prediction for a regressor. The surrogate is then explained exactly (TreeSHAP or linear SHAP), and its
**fidelity** to the teacher on held-out rows (R^2 for regression; accuracy and log-loss against the teacher's
probabilities for classification) is reported in ``meta["fidelity"]``, with a warning when it is poor.

Examples
--------
>>> from sklearn.datasets import load_diabetes
>>> from sklearn.linear_model import Ridge
>>> from pellucid.mimic.models import LinearExplainableModel
>>> X, y = load_diabetes(return_X_y=True)
>>> explainer = MimicExplainer(Ridge().fit(X, y), X, LinearExplainableModel)
>>> round(explainer.fidelity["r2"], 6)
1.0
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import Any

import numpy as np

from pellucid.data import Dataset
from pellucid.errors import ArgumentError, DataValueError, ModelInterfaceError
from pellucid.explainers.base import BaseExplainer, LocalResult
from pellucid.explainers.linear import LinearExplainer
from pellucid.explainers.tree import TreeExplainer
from pellucid.explanation import CLASSIFICATION
from pellucid.mimic.models.explainable_model import BaseExplainableModel
from pellucid.model import is_callable_model

__all__ = ["MimicExplainer", "POOR_FIDELITY"]

logger = logging.getLogger(__name__)

#: Below these held-out scores the surrogate's explanation is flagged as untrustworthy.
POOR_FIDELITY = {"r2": 0.8, "accuracy": 0.9}
# Small data is augmented up to about this many training rows (at most max_num_of_augmentations copies).
_AUGMENT_TARGET_ROWS = 5000


class MimicExplainer(BaseExplainer):
    """Explain a model through a surrogate trained to mimic it.

    Parameters
    ----------
    model : object or callable
        The teacher model (predict / predict_proba / function).
    initialization_examples : array-like of shape (n_rows, n_features)
        Numeric training data for the surrogate (use ``transformations`` for raw categorical data).
    explainable_model : type
        A surrogate class: ``LGBMExplainableModel``, ``LinearExplainableModel``, ``SGDExplainableModel`` or
        ``DecisionTreeExplainableModel`` (from ``pellucid.mimic.models``).
    explainable_model_args : dict, optional
        Arguments of the surrogate's estimator.
    features, classes, transformations, model_task, explain_subset, is_function
        See :class:`~pellucid.explainers.base.BaseExplainer`.
    augment_data : bool, default True
        Add copies of the data with each column permuted independently, so the surrogate also learns the teacher
        off the data's correlations (up to about 5,000 rows).
    max_num_of_augmentations : int, default 10
        Most copies added by augmentation.
    held_out_fraction : float, default 0.2
        Share of labelled rows kept out of training to measure fidelity.
    random_state : int, default 0
        Seed of augmentation, the split and the surrogate.
    """

    method = "mimic"

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
        held_out_fraction: float = 0.2,
        random_state: int = 0,
        model_task: str = "unknown",
        allow_all_transformations: bool = False,
        explain_subset: list[int] | None = None,
        is_function: bool = False,
    ) -> None:
        super().__init__(
            model, initialization_examples, features, classes, transformations, model_task=model_task,
            allow_all_transformations=allow_all_transformations, explain_subset=explain_subset,
            is_function=is_function,
        )
        if not (isinstance(explainable_model, type) and issubclass(explainable_model, BaseExplainableModel)):
            raise ArgumentError(
                "explainable_model must be one of pellucid's surrogate classes (LGBMExplainableModel, "
                "LinearExplainableModel, SGDExplainableModel, DecisionTreeExplainableModel); found "
                f"{explainable_model!r}"
            )
        if not isinstance(max_num_of_augmentations, int) or max_num_of_augmentations < 0:
            raise ArgumentError(f"max_num_of_augmentations must be an integer >= 0; found {max_num_of_augmentations!r}")
        if not 0.0 < held_out_fraction < 0.5:
            raise ArgumentError(f"held_out_fraction must be in (0, 0.5); found {held_out_fraction!r}")
        if self.background is None:
            raise ArgumentError("MimicExplainer needs initialization_examples to train the surrogate on")
        self.teacher = self._wrap_model(self.background)
        self._task, self._classes = self.teacher.task, self.teacher.classes
        self.augment_data = augment_data
        self.max_num_of_augmentations = max_num_of_augmentations
        self.random_state = random_state
        self.explainable_model_args = dict(explainable_model_args or {})
        training = self._training_rows()
        train, held_out, labels, teacher_output = self._label_and_split(training, held_out_fraction)
        self.surrogate = explainable_model(self._task == CLASSIFICATION, random_state, **self.explainable_model_args)
        self.surrogate.fit(training[train], labels[train])
        self._check_surrogate_classes()
        self.fidelity = self._fidelity(training[held_out], labels[held_out], teacher_output[held_out])
        self._inner = self._inner_explainer(training[train])
        self.output_space = self._inner.output_space

    @classmethod
    def supports(cls, model: Any) -> bool:
        """Any model with predict/predict_proba, or a function, can be mimicked."""
        return is_callable_model(model)

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
            copies = min(self.max_num_of_augmentations, max(0, math.ceil(_AUGMENT_TARGET_ROWS / len(rows)) - 1))
        if copies:
            rng = np.random.default_rng(self.random_state)
            permuted = [np.column_stack([rng.permutation(rows[:, j]) for j in range(rows.shape[1])])
                        for _ in range(copies)]
            rows = np.vstack([rows, *permuted])
            self._notes.append(
                f"training data augmented with {copies} column-permuted copies: {background.n_rows} -> {len(rows)} rows"
            )
        return rows

    def _label_and_split(self, rows: np.ndarray, held_out_fraction: float):
        teacher_output = self.teacher.predict_output(rows)
        labels = teacher_output.argmax(axis=1) if self._task == CLASSIFICATION else teacher_output[:, 0]
        rng = np.random.default_rng(self.random_state + 1)
        order = rng.permutation(len(rows))
        n_held_out = max(1, int(round(held_out_fraction * len(rows))))
        return order[n_held_out:], order[:n_held_out], labels, teacher_output

    def _check_surrogate_classes(self) -> None:
        if self._task != CLASSIFICATION:
            return
        learned = list(getattr(self.surrogate.model, "classes_", []))
        if learned != list(range(len(self._classes))):
            missing = sorted(set(range(len(self._classes))) - set(learned))
            raise ModelInterfaceError(
                f"the teacher never predicts classes {[self._classes[i] for i in missing]} on the training data, so a "
                "surrogate cannot learn them; pass data on which the model predicts every class"
            )

    def _fidelity(self, rows: np.ndarray, labels: np.ndarray, teacher_output: np.ndarray) -> dict[str, Any]:
        if self._task == CLASSIFICATION:
            accuracy = float(np.mean(self.surrogate.predict(rows) == labels))
            probabilities = np.clip(self.surrogate.predict_proba(rows), 1e-15, 1.0)
            teacher = teacher_output / teacher_output.sum(axis=1, keepdims=True)
            log_loss = float(-np.mean(np.sum(teacher * np.log(probabilities), axis=1)))
            fidelity = {"accuracy": accuracy, "log_loss": log_loss, "target": "teacher's predicted class"}
            poor = accuracy < POOR_FIDELITY["accuracy"]
        else:
            predicted = self.surrogate.predict(rows)
            residual = float(np.sum((labels - predicted) ** 2))
            total = float(np.sum((labels - labels.mean()) ** 2))
            r2 = 1.0 - residual / total if total > 0 else float(residual == 0.0)
            fidelity = {"r2": r2, "target": "teacher's prediction"}
            poor = r2 < POOR_FIDELITY["r2"]
        fidelity.update({"held_out_rows": int(len(rows)), "surrogate": type(self.surrogate).__name__})
        if poor:
            message = (
                f"the {type(self.surrogate).__name__} surrogate mimics the model poorly on held-out rows ({fidelity}); "
                "its explanation may not reflect the model. Try another surrogate or more data"
            )
            warnings.warn(message, UserWarning, stacklevel=3)
            logger.warning(message)
            self._notes.append(message)
        return fidelity

    def _inner_explainer(self, training: np.ndarray) -> BaseExplainer:
        features = self.features
        if self.surrogate.explainer_kind == "linear":
            return LinearExplainer(self.surrogate.model, training, features=features)
        return TreeExplainer(self.surrogate.model, features=features)

    # ------------------------------------------------------------------ explaining
    def _task_and_classes(self) -> tuple[str, list | None]:
        return self._task, self._classes

    def _parameters(self) -> dict[str, Any]:
        return {
            "surrogate": type(self.surrogate).__name__,
            "surrogate_args": self.explainable_model_args,
            "augment_data": self.augment_data,
            "max_num_of_augmentations": self.max_num_of_augmentations,
            "random_state": self.random_state,
        }

    def _explain_rows(self, rows: Dataset) -> LocalResult:
        if not rows.is_numeric:
            raise DataValueError("evaluation_examples must be numeric for MimicExplainer, like its training data")
        inner = self._inner.explain_local(rows.values)
        return LocalResult(
            values=inner.local_values,
            expected_values=inner.expected_values_array,
            model_output=inner.model_output,
            meta={
                "fidelity": self.fidelity,
                "surrogate_method": inner.method,
                "notes": [f"values explain the {type(self.surrogate).__name__} surrogate exactly ({inner.method}), "
                          "which mimics the model; see meta['fidelity']"],
            },
        )
