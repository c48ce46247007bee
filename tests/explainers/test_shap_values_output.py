"""shap_values_output (the SDK's ShapValuesOutput) on MimicExplainer, TreeExplainer and TabularExplainer.

Oracles: the target probabilities come from the models' own predict_proba (not from the explainer), and the
rescaled values are checked against the DEFAULT values through the rule's closed form (one factor for the
positive values and one for the negative values of a row/class, signs kept while the gap is below the L1 norm).
"""

from __future__ import annotations

import numpy as np
import pytest
from lightgbm import LGBMClassifier
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression

import pellucid
from pellucid.common.constants import ShapValuesOutput
from pellucid.errors import ArgumentError
from pellucid.explainers._probability_output import rescale_matrix
from pellucid.explainers.mimic import MimicExplainer
from pellucid.explainers.tabular import TabularExplainer
from pellucid.explainers.tree import TreeExplainer
from pellucid.mimic.models import LGBMExplainableModel, LinearExplainableModel


def _data(name):
    X, y = {"binary": load_breast_cancer, "multiclass": load_iris}[name](return_X_y=True)
    rng = np.random.default_rng(0)
    return X[rng.permutation(len(X))], y


def _teacher(X, y):
    return RandomForestClassifier(n_estimators=25, max_depth=4, random_state=0).fit(X, y)


def _totals(explanation):
    return explanation.local_values.sum(axis=1) + explanation.expected_values_array


def _check_factors(default, scaled):
    """Per row and class: positive values times one factor >= 0, negative values times another (closed form)."""
    for row in range(default.shape[0]):
        for k in range(default.shape[2]):
            v, w = default[row, :, k], scaled[row, :, k]
            gap = w.sum() - v.sum()
            norm = np.abs(v).sum()
            if abs(gap) < norm:  # the proportional regime: signs kept, positive * (1 + c), negative * (1 - c)
                c = gap / norm
                np.testing.assert_allclose(w, v + c * np.abs(v), rtol=0, atol=1e-12)
                assert np.all(np.sign(w) == np.sign(v))
            else:  # the whole L1 norm moved, the rest spread equally over the features
                flat = np.sign(gap) * (abs(gap) - norm) / len(v)
                np.testing.assert_allclose(w, v + np.sign(gap) * np.abs(v) + flat, rtol=0, atol=1e-12)


def test_shap_values_output_is_importable_like_the_sdk():
    assert pellucid.ShapValuesOutput is ShapValuesOutput
    assert [m.value for m in ShapValuesOutput] == ["default", "probability", "teacher_probability"]
    assert ShapValuesOutput("teacher_probability") is ShapValuesOutput.TEACHER_PROBABILITY


@pytest.mark.parametrize("data", ["binary", "multiclass"])
@pytest.mark.parametrize("surrogate", [LGBMExplainableModel, LinearExplainableModel])
def test_mimic_probability_and_teacher_probability_add_up_exactly(data, surrogate):
    X, y = _data(data)
    teacher = _teacher(X, y)
    rows = X[:40]
    explanations = {
        mode: MimicExplainer(teacher, X, surrogate, shap_values_output=mode, held_out_fraction=0,
                             explainable_model_args={"max_iter": 2000} if surrogate is LinearExplainableModel
                             else None).explain_local(rows)
        for mode in ShapValuesOutput
    }
    default = explanations[ShapValuesOutput.DEFAULT]
    assert default.meta["output_space"] in ("log_odds", "margin", "logit")
    surrogate_model = MimicExplainer(teacher, X, surrogate, held_out_fraction=0,
                                     explainable_model_args={"max_iter": 2000} if surrogate is LinearExplainableModel
                                     else None).surrogate_model
    surrogate_proba = surrogate_model.predict_proba(rows)
    teacher_proba = teacher.predict_proba(rows)
    # DEFAULT is unchanged: base + sum is the surrogate's margin, not a probability
    assert np.abs(_totals(default) - surrogate_proba).max() > 0.05
    for mode, target in ((ShapValuesOutput.PROBABILITY, surrogate_proba),
                         (ShapValuesOutput.TEACHER_PROBABILITY, teacher_proba)):
        scaled = explanations[mode]
        assert scaled.meta["output_space"] == "probability"
        assert scaled.meta["parameters"]["shap_values_output"] == mode.value
        np.testing.assert_allclose(_totals(scaled), target, rtol=0, atol=1e-10)
        np.testing.assert_allclose(scaled.model_output, target, rtol=0, atol=1e-10)
        base = scaled.expected_values_array
        assert np.all((base > 0) & (base < 1))
        np.testing.assert_allclose(base.sum(), 1.0, atol=1e-12)
        _check_factors(default.local_values, scaled.local_values)
    # teacher and surrogate disagree somewhere, so the two modes really differ
    assert np.abs(explanations[ShapValuesOutput.PROBABILITY].local_values
                  - explanations[ShapValuesOutput.TEACHER_PROBABILITY].local_values).max() > 1e-6


def test_mimic_binary_base_is_the_probability_at_the_expected_log_odds():
    X, y = _data("binary")
    default = MimicExplainer(_teacher(X, y), X, LGBMExplainableModel, held_out_fraction=0).explain_local(X[:5])
    scaled = MimicExplainer(_teacher(X, y), X, LGBMExplainableModel, held_out_fraction=0,
                            shap_values_output="probability").explain_local(X[:5])
    p = 1.0 / (1.0 + np.exp(-default.expected_values_array[1]))
    np.testing.assert_allclose(scaled.expected_values_array, [1 - p, p], rtol=0, atol=1e-12)
    np.testing.assert_allclose(scaled.local_values[:, :, 0], -scaled.local_values[:, :, 1], rtol=0, atol=0)


def test_mimic_regression_teacher_probability_adds_up_to_the_teacher():
    X, y = load_diabetes(return_X_y=True)
    teacher = RandomForestRegressor(n_estimators=20, max_depth=4, random_state=0).fit(X, y)
    default = MimicExplainer(teacher, X, LGBMExplainableModel, held_out_fraction=0).explain_local(X[:30])
    probability = MimicExplainer(teacher, X, LGBMExplainableModel, held_out_fraction=0,
                                 shap_values_output=ShapValuesOutput.PROBABILITY).explain_local(X[:30])
    np.testing.assert_array_equal(probability.local_values, default.local_values)  # a no-op for regression
    scaled = MimicExplainer(teacher, X, LGBMExplainableModel, held_out_fraction=0,
                            shap_values_output=ShapValuesOutput.TEACHER_PROBABILITY).explain_local(X[:30])
    np.testing.assert_allclose(_totals(scaled)[:, 0], teacher.predict(X[:30]), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(scaled.expected_values_array, default.expected_values_array)
    _check_factors(default.local_values, scaled.local_values)


@pytest.mark.parametrize("data", ["binary", "multiclass"])
@pytest.mark.parametrize("factory", [
    lambda: GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=0),
    lambda: LGBMClassifier(n_estimators=30, num_leaves=8, random_state=0, verbose=-1),
])
def test_tree_probability_adds_up_to_predict_proba(data, factory):
    X, y = _data(data)
    model = factory().fit(X, y)
    rows = X[:40]
    default = TreeExplainer(model).explain_local(rows)
    scaled = TreeExplainer(model, shap_values_output=ShapValuesOutput.PROBABILITY).explain_local(rows)
    assert default.meta["output_space"] in ("log_odds", "margin")
    assert scaled.meta["output_space"] == "probability"
    np.testing.assert_allclose(_totals(scaled), model.predict_proba(rows), rtol=0, atol=1e-10)
    assert np.abs(_totals(default) - model.predict_proba(rows)).max() > 0.05
    _check_factors(default.local_values, scaled.local_values)


def test_tree_probability_is_a_no_op_for_a_forest_and_subset_comes_after_scaling():
    X, y = _data("binary")
    forest = _teacher(X, y)
    np.testing.assert_array_equal(
        TreeExplainer(forest, shap_values_output="probability").explain_local(X[:10]).local_values,
        TreeExplainer(forest).explain_local(X[:10]).local_values,
    )
    model = GradientBoostingClassifier(n_estimators=20, random_state=0).fit(X, y)
    full = TreeExplainer(model, shap_values_output="probability").explain_local(X[:10])
    subset = TreeExplainer(model, shap_values_output="probability", explain_subset=[2, 5]).explain_local(X[:10])
    np.testing.assert_allclose(subset.local_values, full.local_values[:, [2, 5]], rtol=0, atol=0)


def test_tabular_passes_shap_values_output_through():
    X, y = _data("binary")
    model = GradientBoostingClassifier(n_estimators=20, random_state=0).fit(X, y)
    explanation = TabularExplainer(model, X, shap_values_output=ShapValuesOutput.PROBABILITY).explain_local(X[:10])
    np.testing.assert_allclose(_totals(explanation), model.predict_proba(X[:10]), rtol=0, atol=1e-10)
    with pytest.raises(ArgumentError, match="cannot rescale"):
        TabularExplainer(LogisticRegression(max_iter=5000).fit(X, y), X, shap_values_output="probability")


def test_bad_shap_values_output_is_refused():
    X, y = _data("binary")
    model = GradientBoostingClassifier(n_estimators=5, random_state=0).fit(X, y)
    with pytest.raises(ArgumentError, match="shap_values_output must be one of"):
        TreeExplainer(model, shap_values_output="teacher_probability")
    with pytest.raises(ArgumentError, match="shap_values_output must be one of"):
        MimicExplainer(model, X, LGBMExplainableModel, shap_values_output="odds")


def test_rescale_matrix_closed_form():
    values = np.array([[1.0, -2.0, 0.5], [0.1, -0.1, 0.0], [0.0, 0.0, 0.0]])
    target = np.array([0.25, 3.0, -0.6])
    scaled = rescale_matrix(values, 0.5, target)
    # row 0: gap -0.25 - (-0.5) = 0.25 - 0.5 - (-0.5) -> target - base - sum = 0.25 - 0.5 + 0.5 = 0.25, L1 3.5
    np.testing.assert_allclose(scaled[0], values[0] + (0.25 / 3.5) * np.abs(values[0]))
    # row 1: gap 2.5 > L1 0.2: every value gets + |v|, then (2.5 - 0.2) / 3 each
    np.testing.assert_allclose(scaled[1], values[1] + np.abs(values[1]) + 2.3 / 3)
    # row 2: all zero: the gap is spread equally
    np.testing.assert_allclose(scaled[2], np.full(3, -1.1 / 3))
    np.testing.assert_allclose(scaled.sum(axis=1) + 0.5, target, rtol=0, atol=1e-14)


def test_tree_scoring_explainer_states_the_margin_space_it_explains():
    from pellucid.scoring import create_scoring_explainer

    X, y = _data("binary")
    model = GradientBoostingClassifier(n_estimators=10, random_state=0).fit(X, y)
    scoring = create_scoring_explainer(TreeExplainer(model, shap_values_output="probability"))
    assert scoring.output_space == "log_odds"
    assert any("shap_values_output" in note for note in scoring.notes)
