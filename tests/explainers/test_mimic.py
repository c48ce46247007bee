import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.svm import SVR

from pellucid import TabularExplainer
from pellucid.errors import ArgumentError, ModelInterfaceError
from pellucid.explainers.linear import LinearExplainer
from pellucid.explainers.mimic import MimicExplainer
from pellucid.mimic.mimic_explainer import MimicExplainer as SdkPathMimicExplainer
from pellucid.mimic.models import (
    DecisionTreeExplainableModel,
    LGBMExplainableModel,
    LinearExplainableModel,
    SGDExplainableModel,
)
from pellucid.mimic.models.lightgbm_model import LGBMExplainableModel as SdkPathLGBM


def _additive(explanation):
    return np.abs(explanation.local_values.sum(axis=1) + explanation.expected_values_array - explanation.model_output).max()


def test_sdk_import_paths_are_the_same_objects():
    assert SdkPathMimicExplainer is MimicExplainer and SdkPathLGBM is LGBMExplainableModel


def test_linear_teacher_mimicked_exactly_gives_the_teachers_shap_values():
    X, y = load_diabetes(return_X_y=True)
    teacher = LinearRegression().fit(X, y)
    mimic = MimicExplainer(teacher, X, LinearExplainableModel)
    assert mimic.fidelity["r2"] == pytest.approx(1.0, abs=1e-9)
    explanation = mimic.explain_local(X[:20])
    # the surrogate is trained on augmented data, so compare against the teacher's exact values on that background
    exact = LinearExplainer(teacher, mimic._inner.background).explain_local(X[:20])
    assert np.allclose(explanation.local_values, exact.local_values, atol=1e-6)
    assert explanation.meta["fidelity"]["r2"] == pytest.approx(1.0, abs=1e-9)
    assert explanation.method == "mimic" and _additive(explanation) < 1e-8


@pytest.mark.parametrize("surrogate", [LGBMExplainableModel, DecisionTreeExplainableModel, SGDExplainableModel])
def test_multiclass_surrogates_have_one_output_per_class(surrogate):
    X, y = load_iris(return_X_y=True)
    teacher = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    mimic = MimicExplainer(teacher, X, surrogate, classes=["setosa", "versicolor", "virginica"])
    explanation = mimic.explain_local(X[:7])
    assert explanation.local_values.shape == (7, 4, 3)
    assert explanation.classes == ["setosa", "versicolor", "virginica"]
    assert 0.0 <= explanation.meta["fidelity"]["accuracy"] <= 1.0 and explanation.meta["fidelity"]["log_loss"] > 0
    assert _additive(explanation) < 1e-6
    assert mimic.explain_global().get_ranked_global_names()[0] in [2, 3]  # the SDK's default names: column indices


def test_fidelity_is_the_held_out_accuracy():
    X, y = load_breast_cancer(return_X_y=True)
    teacher = LogisticRegression(max_iter=5000).fit(X, y)
    mimic = MimicExplainer(teacher, X, LGBMExplainableModel, augment_data=False)
    assert mimic.fidelity["held_out_rows"] == round(0.2 * len(X))
    # an independent recomputation on the same held-out rows the explainer used
    order = np.random.default_rng(1).permutation(len(X))
    held = X[order[: mimic.fidelity["held_out_rows"]]]
    agreement = np.mean(mimic.surrogate.predict(held) == teacher.predict(held))
    assert mimic.fidelity["accuracy"] == pytest.approx(agreement)


def test_poor_fidelity_warns():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    teacher = SVR(C=50).fit(X, np.sin(3 * X[:, 0]) * np.cos(3 * X[:, 1]))
    with pytest.warns(UserWarning, match="mimics the model poorly"):
        mimic = MimicExplainer(teacher, X, LinearExplainableModel)
    assert mimic.fidelity["r2"] < 0.8
    assert any("poorly" in n for n in mimic.explain_local(X[:2]).meta["notes"])


def test_pandas_and_sparse_input_and_regression():
    X, y = load_diabetes(return_X_y=True)
    frame = pd.DataFrame(X, columns=[f"c{i}" for i in range(10)])
    teacher = LinearRegression().fit(X, y)
    from_frame = MimicExplainer(teacher, frame, LGBMExplainableModel).explain_local(frame.iloc[:5])
    assert from_frame.features[:2] == ["c0", "c1"] and from_frame.local_values.shape == (5, 10, 1)
    from_sparse = MimicExplainer(teacher, sp.csr_matrix(X), LGBMExplainableModel).explain_local(sp.csr_matrix(X[:5]))
    assert np.allclose(from_frame.local_values, from_sparse.local_values)


def test_bad_input():
    X, y = load_diabetes(return_X_y=True)
    teacher = LinearRegression().fit(X, y)
    with pytest.raises(ArgumentError, match="surrogate classes"):
        MimicExplainer(teacher, X, LinearRegression)
    with pytest.raises(ArgumentError, match="do not fit"):
        MimicExplainer(teacher, X, LinearExplainableModel, explainable_model_args={"no_such_arg": 1})
    with pytest.raises(ArgumentError, match="max_num_of_augmentations"):
        MimicExplainer(teacher, X, LinearExplainableModel, max_num_of_augmentations=-1)
    Xc, yc = load_iris(return_X_y=True)
    always_zero = LogisticRegression(max_iter=500).fit(Xc, yc)
    with pytest.raises(ModelInterfaceError, match="never predicts"):
        MimicExplainer(always_zero, Xc[:40], LGBMExplainableModel, augment_data=False)


def test_tabular_explainer_is_not_mimic():
    X, y = load_diabetes(return_X_y=True)
    assert TabularExplainer(LinearRegression().fit(X, y), X).explainer_name == "LinearExplainer"
