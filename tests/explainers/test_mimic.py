import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.svm import SVR

from pellucid import TabularExplainer
from pellucid.errors import ArgumentError
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
    return np.abs(explanation.local_values.sum(axis=1) + explanation.expected_values - explanation.model_output).max()


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
    assert explanation.method == "mimic.linear" and _additive(explanation) < 1e-8


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
    assert mimic.explain_global().get_ranked_global_names()[0] in ["feature_2", "feature_3"]


def test_fidelity_is_the_held_out_accuracy_of_a_surrogate_trained_without_those_rows():
    X, y = load_breast_cancer(return_X_y=True)
    teacher = LogisticRegression(max_iter=5000).fit(X, y)
    mimic = MimicExplainer(teacher, X, LGBMExplainableModel, augment_data=False)
    held_out = mimic.held_out_index
    assert mimic.fidelity["held_out_rows"] == len(held_out) == round(0.2 * len(X))
    # an independent recomputation: the same kind of surrogate fitted here on the other rows only
    train = np.setdiff1d(np.arange(len(X)), held_out)
    check = LGBMExplainableModel(True, 0).fit(X[train], teacher.predict(X[train]))
    agreement = np.mean(check.predict(X[held_out]) == teacher.predict(X[held_out]))
    assert mimic.fidelity["accuracy"] == pytest.approx(agreement)


def test_held_out_rows_never_reach_the_fidelity_surrogates_training():
    # A teacher whose labels are a pseudo-random function of the row: a full-depth tree memorises the rows it is
    # trained on (accuracy 1 there) and guesses on others (about 0.5). Were the held-out rows used for training,
    # the held-out accuracy would be 1.
    rng = np.random.default_rng(5)
    X = rng.normal(size=(400, 3))

    def teacher(rows):
        label = (np.floor(np.abs(rows[:, 0]) * 1e6) % 2).astype(float)
        return np.column_stack([1 - label, label])

    mimic = MimicExplainer(teacher, X, DecisionTreeExplainableModel, augment_data=False,
                           model_task="classification", held_out_fraction=0.25)
    assert mimic.fidelity["held_out_rows"] == 100
    assert mimic.fidelity["accuracy"] < 0.7
    # the explained surrogate is trained on all rows, so it replicates the teacher on every one of them
    assert mimic.get_surrogate_model_replication_measure(X) == 1.0
    assert mimic.get_surrogate_model_replication_measure(X[mimic.held_out_index]) == 1.0


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
    with pytest.raises(ArgumentError, match="held_out_fraction"):
        MimicExplainer(teacher, X, LinearExplainableModel, held_out_fraction=0.5)
    with pytest.raises(ArgumentError, match="explain_subset"):
        MimicExplainer(teacher, X, LinearExplainableModel, explain_subset=[10])
    with pytest.raises(ArgumentError, match="reset_index"):
        MimicExplainer(teacher, X, LinearExplainableModel, reset_index="sometimes")


def test_tabular_explainer_is_not_mimic():
    X, y = load_diabetes(return_X_y=True)
    assert TabularExplainer(LinearRegression().fit(X, y), X).explainer_name == "LinearExplainer"
