"""The SDK's ``interpret_community.adapter``: explanations made from importance values computed elsewhere.

``ExplanationAdapter(features=None, classification=False, method="Adapter")`` turns local importance values in the
SDK's layout (``[rows][features]`` for a regressor, ``[classes][rows][features]`` for a classifier, or
``[rows][features]`` of the positive class of a binary classifier) into a pellucid :class:`~pellucid.Explanation`,
for instance captum's attributions (the SDK's captum notebook).

>>> import numpy as np
>>> adapter = ExplanationAdapter(features=["A", "B"])
>>> adapter.create_global(np.array([[1.0, -2.0], [3.0, 0.0]])).get_ranked_global_names()
['A', 'B']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pellucid.data import as_dataset, default_feature_names
from pellucid.errors import DataShapeError
from pellucid.explanation import Explanation

__all__ = ["ExplanationAdapter"]


class ExplanationAdapter:
    """Build explanations from local importance values (the SDK's ``ExplanationAdapter``).

    Parameters
    ----------
    features : list of str, optional
        Feature names; default the column indices ``0, 1, ...``.
    classification : bool, default False
        Whether the values explain a classifier (per class) or a regressor.
    method : str, default "Adapter"
        The explanation's ``method``.
    """

    def __init__(self, features: Any = None, classification: bool = False, method: str = "Adapter") -> None:
        self.features = None if features is None else list(features)
        self.classification = bool(classification)
        self.method = method

    def create_local(self, local_importance_values: Any, evaluation_examples: Any = None,
                     expected_values: Any = None) -> Explanation:
        """A local explanation of the given values.

        Parameters
        ----------
        local_importance_values : array-like
            Shape (n_rows, n_features) for a regressor, (n_classes, n_rows, n_features) for a classifier, or
            (n_rows, n_features) for a binary classifier's positive class (class 0 then gets the negated values,
            as in the SDK). numpy arrays, lists and tensors (``.detach()``) are accepted.
        evaluation_examples : array-like of shape (n_rows, n_features), optional
            The explained rows.
        expected_values : float or array-like of shape (n_outputs,), optional
            The expected value per output.

        Returns
        -------
        Explanation
        """
        values = _as_array(local_importance_values)
        if self.classification and values.ndim == 2:
            values = np.stack([-values, values])
        wanted = 3 if self.classification else 2
        if values.ndim != wanted:
            layout = "[classes][rows][features] or [rows][features]" if self.classification else "[rows][features]"
            raise DataShapeError(
                f"expected local importance values laid out {layout}; found an array of shape {values.shape}"
            )
        local = np.moveaxis(values, 0, 2) if self.classification else values[:, :, None]
        n_features = local.shape[1]
        features = self.features if self.features is not None else default_feature_names(n_features)
        if len(features) != n_features:
            raise DataShapeError(f"expected {n_features} feature names for the values; found {len(features)}")
        expected = None if expected_values is None else _as_array(expected_values).reshape(-1)
        eval_data = None if evaluation_examples is None else as_dataset(evaluation_examples).values
        return Explanation(
            method=self.method,
            task="classification" if self.classification else "regression",
            features=features,
            classes=list(range(local.shape[2])) if self.classification else None,
            local_values=local,
            expected_values=expected,
            eval_data=eval_data,
        )

    def create_global(self, local_importance_values: Any, evaluation_examples: Any = None,
                      expected_values: Any = None, include_local: bool = True, batch_size: int = 100) -> Explanation:
        """A global explanation of the given local values: global importance is the mean |local value|.

        Parameters are those of :meth:`create_local`; ``include_local=False`` keeps only the global values.
        ``batch_size`` is accepted for the SDK's signature (the values are already in memory).

        Returns
        -------
        Explanation
        """
        explanation = self.create_local(local_importance_values, evaluation_examples, expected_values)
        return explanation if include_local else explanation.global_only()


def _as_array(values: Any) -> np.ndarray:
    detach = getattr(values, "detach", None)
    if callable(detach):  # a torch tensor (captum's attributions)
        values = detach().cpu().numpy()
    return np.asarray(values, dtype=float)
