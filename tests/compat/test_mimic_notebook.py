"""interpret-community ``notebooks/explain-regression-mimic-explainer``, with only the imports changed.

California housing (generated with the same schema), a huber ``GradientBoostingRegressor``, ``MimicExplainer``
with the LightGBM then the linear surrogate, ``get_surrogate_model_replication_measure(training_data=...)``, the
ranked global importances and one row's ranked local importances.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split

# was: from interpret.ext.blackbox import MimicExplainer
# was: from interpret.ext.glassbox import LGBMExplainableModel, LinearExplainableModel, ...
from pellucid import MimicExplainer
from pellucid.mimic.models.lightgbm_model import LGBMExplainableModel  # the SDK's module path, renamed
from pellucid.mimic.models.linear_model import LinearExplainableModel
from tests.compat._data import california_housing
from tests.compat._helpers import assert_global_ranking, assert_ranking_consistent


def test_regression_mimic_explainer():
    data, target, feature_names = california_housing(300)
    x_train, x_test, y_train, y_test = train_test_split(data, target, test_size=0.2, random_state=0)
    reg = GradientBoostingRegressor(n_estimators=30, max_depth=4, learning_rate=0.1, loss="huber", random_state=1)
    model = reg.fit(x_train, y_train)

    measures = {}
    for surrogate in (LGBMExplainableModel, LinearExplainableModel):
        explainer = MimicExplainer(model, x_train, surrogate, augment_data=True, max_num_of_augmentations=10,
                                   features=feature_names)
        measure = explainer.get_surrogate_model_replication_measure(training_data=x_train)
        # the SDK's measure: R² of the surrogate's predictions against the teacher's on the given rows
        oracle = r2_score(model.predict(x_train), explainer.surrogate_model.predict(x_train))
        assert measure == pytest.approx(oracle, rel=1e-9, abs=1e-12)
        measures[surrogate.__name__] = measure
    assert all(0.0 < value <= 1.0 for value in measures.values())

    global_explanation = explainer.explain_global(x_test)  # the linear surrogate, as in the notebook
    assert global_explanation.method == "mimic.linear"
    assert_global_ranking(global_explanation, feature_names)
    local = np.asarray(global_explanation.local_importance_values)
    assert local.shape == (len(x_test), len(feature_names))
    # values explain the surrogate exactly: sum + expected value = surrogate prediction
    expected = global_explanation.expected_values
    np.testing.assert_allclose(local.sum(axis=1) + np.ravel(expected)[0],
                               explainer.surrogate_model.predict(x_test), atol=1e-8)

    local_explanation = explainer.explain_local(x_test[0, :])
    names = local_explanation.get_ranked_local_names()
    values = local_explanation.get_ranked_local_values()
    row = np.asarray(local_explanation.local_importance_values)
    assert row.shape == (len(feature_names),)
    assert_ranking_consistent(names, values, feature_names, row)
    np.testing.assert_allclose(row, local[0], atol=1e-10)

