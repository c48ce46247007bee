"""Explanations as pandas DataFrames: one tidy (long) row per value, or one wide row per explained row.

Examples
--------
>>> import numpy as np
>>> from pellucid.explanation import Explanation
>>> e = Explanation(method="example", task="regression", features=["a", "b"],
...                 local_values=np.array([[[1.0], [-3.0]]]), expected_values=np.array([0.5]),
...                 eval_data=np.array([[10.0, 20.0]]))
>>> to_frame(e)[["row", "feature", "value", "feature_value"]].values.tolist()
[[0, 'a', 1.0, 10.0], [0, 'b', -3.0, 20.0]]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from pellucid.explanation import Explanation

__all__ = ["to_frame", "REGRESSION_OUTPUT"]

#: The ``output`` column's value for a regressor's single output.
REGRESSION_OUTPUT = "prediction"


def _outputs(explanation: Explanation) -> list[Any]:
    return list(explanation.classes) if explanation.classes is not None else [REGRESSION_OUTPUT]


def to_frame(explanation: Explanation, *, wide: bool = False) -> pd.DataFrame:
    """The explanation's values as a DataFrame.

    Parameters
    ----------
    explanation : Explanation
    wide : bool, default False
        False: a tidy frame with one line per (row, feature, output) and the columns ``row`` (int),
        ``feature`` (str), ``output`` (class label, or ``"prediction"`` for a regressor), ``value`` (float) and
        ``feature_value`` (the row's value of the feature; NaN without eval_data), n_rows * n_features *
        n_outputs lines in row, feature, output order. True: one line per explained row (index ``row``) with one
        column per feature for a regressor and columns (output, feature) for a classifier.
        A global-only explanation gives lines (feature, output, value) when long, and a feature x output
        table when wide.

    Returns
    -------
    pandas.DataFrame
    """
    outputs = _outputs(explanation)
    if explanation.local_values is None:
        values = explanation.global_values  # (n_features, n_outputs)
        if wide:
            return pd.DataFrame(values, index=pd.Index(explanation.features, name="feature"),
                                columns=pd.Index(outputs, name="output"))
        features = np.repeat(np.asarray(explanation.features, dtype=object), len(outputs))
        return pd.DataFrame({"feature": features, "output": outputs * explanation.n_features,
                             "value": values.ravel()})
    local = explanation.local_values  # (n_rows, n_features, n_outputs)
    n_rows, n_features, n_outputs = local.shape
    if wide:
        index = pd.RangeIndex(n_rows, name="row")
        if explanation.classes is None:
            return pd.DataFrame(local[:, :, 0], index=index, columns=pd.Index(explanation.features, name="feature"))
        columns = pd.MultiIndex.from_product([outputs, explanation.features], names=["output", "feature"])
        return pd.DataFrame(np.moveaxis(local, 2, 1).reshape(n_rows, n_outputs * n_features), index=index,
                            columns=columns)
    rows = np.repeat(np.arange(n_rows), n_features * n_outputs)
    features = np.tile(np.repeat(np.asarray(explanation.features, dtype=object), n_outputs), n_rows)
    output_column = np.tile(np.asarray(outputs, dtype=object), n_rows * n_features)
    if explanation.eval_data is None:
        feature_values: Any = np.full(rows.shape[0], np.nan)
    else:
        feature_values = np.repeat(explanation.eval_data.ravel(), n_outputs)
    return pd.DataFrame({"row": rows, "feature": features, "output": output_column, "value": local.ravel(),
                         "feature_value": feature_values})
