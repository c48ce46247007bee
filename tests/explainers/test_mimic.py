from enum import Enum

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
    assert mimic.explain_global().get_ranked_global_names()[0] in [2, 3]  # the SDK's default names: column indices


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


# ------------------------------------------------------------------ the SDK's behaviour
def test_replication_measure_is_sklearns_score_against_the_teacher():
    from sklearn.metrics import accuracy_score, r2_score

    X, y = load_diabetes(return_X_y=True)
    teacher = SVR(C=50).fit(X, y)
    mimic = MimicExplainer(teacher, X[:300], LGBMExplainableModel)
    assert mimic.surrogate_model is mimic.surrogate
    for rows in (X[:300], X[300:]):
        expected = r2_score(teacher.predict(rows), mimic.surrogate_model.model.predict(rows))
        assert mimic.get_surrogate_model_replication_measure(rows) == pytest.approx(expected, abs=1e-12)
    assert isinstance(mimic.get_surrogate_model_replication_measure(X[300:]), float)
    with pytest.raises(ArgumentError, match="at least 2 rows"):
        mimic.get_surrogate_model_replication_measure(X[:1])

    Xc, yc = load_iris(return_X_y=True)
    classifier = RandomForestClassifier(n_estimators=10, random_state=0).fit(Xc, yc)
    mimic = MimicExplainer(classifier, Xc[::2], DecisionTreeExplainableModel, explainable_model_args={"max_depth": 2})
    for rows in (Xc[::2], Xc[1::2], Xc[:1]):
        expected = accuracy_score(classifier.predict(rows), mimic.surrogate_model.model.predict(rows))
        assert mimic.get_surrogate_model_replication_measure(rows) == pytest.approx(expected, abs=1e-12)
    assert mimic.get_surrogate_model_replication_measure(Xc) < 1.0  # a depth-2 tree is not the forest


@pytest.mark.parametrize("surrogate", [LinearExplainableModel, LGBMExplainableModel])
def test_expected_value_is_the_surrogates_mean_over_all_initialization_examples(surrogate):
    from sklearn.linear_model import Ridge

    X, y = load_diabetes(return_X_y=True)
    teacher = Ridge().fit(X, y)
    explanation = MimicExplainer(teacher, X, surrogate).explain_local(X[:5])
    mimic = MimicExplainer(teacher, X, surrogate)
    mean_prediction = mimic.surrogate_model.model.predict(X).mean()
    assert explanation.expected_values_array[0] == pytest.approx(mean_prediction, rel=1e-9)
    if surrogate is LinearExplainableModel:
        assert explanation.expected_values_array[0] == pytest.approx(teacher.predict(X).mean(), abs=1e-6)
        assert round(float(explanation.expected_values_array[0]), 2) == 152.13  # 150.42 on the 80% it once used
    assert _additive(explanation) < 1e-6


@pytest.mark.parametrize("surrogate", [LGBMExplainableModel, DecisionTreeExplainableModel, LinearExplainableModel])
def test_a_class_the_teacher_never_predicts_still_gets_values(surrogate):
    Xc, yc = load_iris(return_X_y=True)
    teacher = LogisticRegression(max_iter=500).fit(Xc, yc)
    rows = Xc[:40]  # all setosa: the teacher predicts class 0 only
    assert set(teacher.predict(rows)) == {0}
    mimic = MimicExplainer(teacher, rows, surrogate, augment_data=False, held_out_fraction=0.0,
                           classes=["setosa", "versicolor", "virginica"])
    assert list(mimic.surrogate_model.model.classes_) == [0, 1, 2]
    explanation = mimic.explain_local(rows[:6])
    assert explanation.local_values.shape == (6, 4, 3) and explanation.classes == ["setosa", "versicolor", "virginica"]
    assert _additive(explanation) < 1e-6
    assert sum("never predicts class 'versicolor'" in note for note in explanation.meta["notes"]) == 1
    assert sum("never predicts class 'virginica'" in note for note in explanation.meta["notes"]) == 1
    # as in the SDK's imbalanced-classes test, the surrogate still replicates the teacher on the data
    assert mimic.get_surrogate_model_replication_measure(rows) == 1.0


def test_the_added_row_is_the_teachers_most_probable_one_for_the_missing_class():
    Xc, yc = load_iris(return_X_y=True)
    teacher = LogisticRegression(max_iter=500).fit(Xc, yc)
    rows = Xc[:40]
    mimic = MimicExplainer(teacher, rows, DecisionTreeExplainableModel, augment_data=False, held_out_fraction=0.0)
    tree = mimic.surrogate_model.model
    assert tree.tree_.n_node_samples[0] == 42  # 40 rows and one row per missing class
    for missing in (1, 2):
        best = rows[np.argmax(teacher.predict_proba(rows)[:, missing])]
        assert tree.predict(best[None, :])[0] in (missing, 0)
        leaf = tree.apply(best[None, :])[0]
        assert tree.tree_.value[leaf, 0, missing] > 0  # that row, labelled with the missing class, reached a leaf


@pytest.mark.parametrize(("surrogate", "method"), [
    (LGBMExplainableModel, "mimic.lightgbm"), (LinearExplainableModel, "mimic.linear"),
    (SGDExplainableModel, "mimic.sgd"), (DecisionTreeExplainableModel, "mimic.tree"),
])
def test_method_names_the_surrogate_as_in_the_sdk(surrogate, method):
    X, y = load_diabetes(return_X_y=True)
    mimic = MimicExplainer(LinearRegression().fit(X, y), X[:100], surrogate, held_out_fraction=0.0)
    assert mimic.method == method
    assert mimic.explain_local(X[:2]).method == method and mimic.explain_global(X[:5]).method == method


def test_explain_subset_is_the_matching_slice_of_the_full_explanation():
    X, y = load_diabetes(return_X_y=True)
    teacher = LinearRegression().fit(X, y)
    full = MimicExplainer(teacher, X, LGBMExplainableModel).explain_local(X[:8])
    subset = MimicExplainer(teacher, X, LGBMExplainableModel, explain_subset=[7, 2, 5]).explain_local(X[:8])
    assert subset.features == [7, 2, 5]
    np.testing.assert_array_equal(subset.local_values, full.local_values[:, [7, 2, 5], :])
    np.testing.assert_array_equal(subset.expected_values_array, full.expected_values_array)
    with pytest.raises(ArgumentError, match="transformations"):
        MimicExplainer(teacher, X, LGBMExplainableModel, explain_subset=[0], transformations=np.eye(10))


def test_sparse_data_argument_as_in_the_sdk():
    from sklearn.linear_model import Lasso

    X, y = load_diabetes(return_X_y=True)
    teacher = LinearRegression().fit(X, y)
    lasso = MimicExplainer(teacher, sp.csr_matrix(X), LinearExplainableModel,
                           explainable_model_args={"sparse_data": True, "alpha": 0.01})
    assert isinstance(lasso.surrogate_model.model, Lasso) and lasso.surrogate_model.model.alpha == 0.01
    independent = Lasso(alpha=0.01, random_state=0).fit(X, teacher.predict(X))
    np.testing.assert_allclose(lasso.surrogate_model.model.coef_, independent.coef_, atol=1e-8)
    plain = MimicExplainer(teacher, X, LinearExplainableModel)
    assert isinstance(plain.surrogate_model.model, LinearRegression)
    # the other surrogates accept the flag (their data may be sparse as it is)
    MimicExplainer(teacher, sp.csr_matrix(X), LGBMExplainableModel, explainable_model_args={"sparse_data": True})


def test_augmentation_follows_the_sdks_rule():
    # the SDK adds n_columns // n_rows - 1 permuted copies (at most max_num_of_augmentations): only wide data
    rng = np.random.default_rng(3)
    wide = rng.normal(size=(5, 32))
    teacher = LinearRegression().fit(rng.normal(size=(64, 32)), rng.normal(size=64))

    def training_rows(X, **options):
        mimic = MimicExplainer(teacher, X, DecisionTreeExplainableModel, held_out_fraction=0.0, **options)
        return mimic.surrogate_model.model.tree_.n_node_samples[0]

    assert training_rows(wide) == 5 * (1 + 5)
    assert training_rows(wide, max_num_of_augmentations=2) == 5 * 3
    assert training_rows(wide, augment_data=False) == 5
    tall = rng.normal(size=(40, 32))
    assert training_rows(tall) == 40


class _IndexedTeacher:
    """A regressor that reads its rows' DataFrame index (like the SDK's DataFrameTestModel)."""

    def __init__(self, require_index=True):
        self.require_index = require_index
        self.seen_index = []

    def predict(self, X):
        assert isinstance(X, pd.DataFrame) and list(X.columns) == ["a", "b"]
        index = X.index.to_numpy(dtype=float)
        self.seen_index.append(X.index.name)
        if self.require_index:
            assert X.index.name == "day"
        return 2.0 * X["a"].to_numpy() - X["b"].to_numpy() + 0.5 * index


def _indexed_frame(n=60, start=100):
    rng = np.random.default_rng(9)
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    frame.index = pd.Index(np.arange(start, start + n), name="day")
    return frame


class _ResetIndex(str, Enum):  # the shape of the SDK's constants.ResetIndex
    Ignore = "ignore"
    Reset = "reset"
    ResetTeacher = "reset_teacher"


@pytest.mark.parametrize("reset_index", ["reset", True, _ResetIndex.Reset])
def test_reset_index_makes_the_index_a_feature_and_gives_it_to_the_teacher(reset_index):
    frame = _indexed_frame()
    teacher = _IndexedTeacher()
    mimic = MimicExplainer(teacher, frame, LinearExplainableModel, reset_index=reset_index)
    explanation = mimic.explain_local(_indexed_frame(5, start=130))
    assert explanation.features == ["a", "b", "day"]
    rows = _indexed_frame(5, start=130)
    day = rows.index.to_numpy(dtype=float)
    # a linear teacher is mimicked exactly: the index's value is 0.5 (day - mean day)
    np.testing.assert_allclose(explanation.local_values[:, 2, 0], 0.5 * (day - frame.index.to_numpy().mean()),
                               atol=1e-8)
    assert mimic.get_surrogate_model_replication_measure(rows) == pytest.approx(1.0, abs=1e-9)


def test_reset_index_teacher_only_and_ignore():
    frame = _indexed_frame()
    teacher = _IndexedTeacher()
    mimic = MimicExplainer(teacher, frame, LGBMExplainableModel, reset_index="reset_teacher", features=["a", "b"],
                           held_out_fraction=0.0)
    explanation = mimic.explain_local(_indexed_frame(4, start=130))
    assert explanation.features == ["a", "b"] and explanation.local_values.shape == (4, 2, 1)
    assert set(teacher.seen_index) == {"day"}
    # "ignore" (the default) gives the teacher no index, as in the SDK
    with pytest.raises(ModelInterfaceError, match="AssertionError"):
        MimicExplainer(_IndexedTeacher(), frame, LGBMExplainableModel)
    lenient = _IndexedTeacher(require_index=False)
    ignored = MimicExplainer(lenient, frame, LGBMExplainableModel, held_out_fraction=0.0)
    assert ignored.explain_local(frame.iloc[:3]).features == ["a", "b"] and set(lenient.seen_index) == {None}
