"""KernelScoringExplainer: exact Shapley values by enumeration, additivity, save/load with skops and pickle."""

from itertools import combinations
from math import factorial

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.neural_network import MLPClassifier

from pellucid.errors import UnsafeArtifactError
from pellucid.explainers import kernel
from pellucid.scoring import KernelScoringExplainer, ScoringExplainer, create_scoring_explainer

NAMES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def brute_force_shapley(f, rows, background, weights):
    """Shapley values of v(S) = sum_b w_b f(x_S, b_notS), from the Shapley formula over every coalition."""
    n_features = rows.shape[1]
    values = []
    for x in rows:
        def v(coalition, x=x):
            synthetic = background.copy()
            synthetic[:, list(coalition)] = x[list(coalition)]
            return weights @ f(synthetic)

        phi = np.zeros((n_features, np.atleast_1d(v(())).shape[0]))
        for i in range(n_features):
            others = [j for j in range(n_features) if j != i]
            for size in range(n_features):
                weight = factorial(size) * factorial(n_features - size - 1) / factorial(n_features)
                for coalition in combinations(others, size):
                    phi[i] += weight * (v(coalition + (i,)) - v(coalition))
        values.append(phi)
    return np.asarray(values)


@pytest.fixture(scope="module")
def iris_mlp():
    X, y = load_iris(return_X_y=True)
    frame = pd.DataFrame(X, columns=NAMES)
    model = MLPClassifier((8,), max_iter=2000, random_state=0).fit(frame, y)
    return model, frame


def test_values_are_exact_shapley_values_and_add_up(iris_mlp):
    model, frame = iris_mlp
    explainer = kernel.KernelExplainer(model, frame, nclusters=6)
    scoring = create_scoring_explainer(explainer)
    assert isinstance(scoring, KernelScoringExplainer) and scoring.background.n_rows == 6
    rows = frame.iloc[::30]
    values = np.moveaxis(np.asarray(scoring.explain(rows)), 0, 2)  # [classes][rows][features] -> [rows][features][classes]

    def proba(values_):
        return model.predict_proba(pd.DataFrame(values_, columns=NAMES))

    reference = brute_force_shapley(proba, rows.to_numpy(), scoring.background.values, scoring.background.row_weights())
    assert np.allclose(values, reference, atol=1e-8)
    assert np.allclose(values.sum(axis=1) + scoring.expected_values, model.predict_proba(rows), atol=1e-8)
    assert scoring.output_space == "probability"
    assert scoring.predict(rows).tolist() == model.predict(rows).tolist()
    same_batch = explainer.explain_local(rows).local_values
    assert np.allclose(values, same_batch, atol=1e-12)


def test_round_trip_with_skops_model_is_exact(tmp_path, iris_mlp):
    pytest.importorskip("skops")
    model, frame = iris_mlp
    scoring = kernel.KernelExplainer(model, frame, classes=["setosa", "versicolor", "virginica"]).create_scoring_explainer()
    folder = scoring.save(tmp_path / "kernel")
    assert (folder / "model.skops").is_file()
    loaded = ScoringExplainer.load(folder)
    assert type(loaded) is KernelScoringExplainer and loaded.classes == ["setosa", "versicolor", "virginica"]
    assert list(loaded.background.columns) == NAMES and loaded.background.kind == "pandas"
    rows = frame.iloc[:20].to_numpy()
    assert np.array_equal(np.asarray(loaded.explain(rows)), np.asarray(scoring.explain(rows)))
    assert np.array_equal(loaded.expected_values, scoring.expected_values)
    names = np.asarray(["setosa", "versicolor", "virginica"])
    assert loaded.predict(rows).tolist() == names[model.predict(frame.iloc[:20])].tolist()  # in the explainer's labels


def test_background_from_given_rows(iris_mlp):
    model, frame = iris_mlp
    explainer = kernel.KernelExplainer(model, frame.iloc[:10], nclusters=5)
    scoring = create_scoring_explainer(explainer, frame)
    assert scoring.background.n_rows == 5 and np.isclose(scoring.background.row_weights().sum(), 1.0)
    assert any("150 rows given" in note for note in scoring.notes)


class _Doubler:
    """A model only pickle can store."""

    def predict(self, X):
        values = np.asarray(X, dtype=float)
        return 2.0 * values[:, 0] - values[:, 1]


def test_pickle_only_model_needs_allow_pickle_both_ways(tmp_path):
    X = np.random.default_rng(0).normal(size=(40, 3))
    scoring = kernel.KernelExplainer(_Doubler(), X, nclusters=4, model_task="regression").create_scoring_explainer()
    with pytest.raises(UnsafeArtifactError, match="allow_pickle=True"):
        scoring.save(tmp_path / "refused")
    folder = scoring.save(tmp_path / "pickled", allow_pickle=True)
    with pytest.raises(UnsafeArtifactError, match="is a pickle"):
        ScoringExplainer.load(folder)
    loaded = ScoringExplainer.load(folder, allow_pickle=True)
    assert np.array_equal(np.asarray(loaded.explain(X[:5])), np.asarray(scoring.explain(X[:5])))
    # a linear model: the Shapley value of feature j is w_j (x_j - weighted background mean_j)
    mean = scoring.background.values.T @ scoring.background.row_weights()
    assert np.allclose(np.asarray(loaded.explain(X[:5])), np.array([2.0, -1.0, 0.0]) * (X[:5] - mean), atol=1e-10)


def test_the_classic_example_in_four_lines(tmp_path):
    """The lines the demo prints: create, save, reload a scoring explainer for the breast-cancer SVC, score rows."""
    from pellucid.demo import classic_example
    from pellucid.explainers.tabular import TabularExplainer
    from pellucid.scoring.scoring_explainer import ScoringExplainer as SdkPath

    model, x_train, x_test, _, names, classes = classic_example()
    explainer = TabularExplainer(model, x_train, features=names, classes=classes)

    scoring = explainer.create_scoring_explainer(x_train)
    scoring.save(tmp_path / "scoring_explainer", exist_ok=True)
    scoring = SdkPath.load(tmp_path / "scoring_explainer")
    predictions, values = scoring.predict(x_test[:2]), np.asarray(scoring.explain(x_test[:2]))

    assert SdkPath is ScoringExplainer and isinstance(scoring, KernelScoringExplainer)
    assert values.shape == (2, 2, 30)  # [classes][rows][features]
    assert predictions.tolist() == np.asarray(classes)[model.predict(x_test[:2])].tolist()
    assert np.allclose(values.sum(axis=2).T + scoring.expected_values, model.predict_proba(x_test[:2]), atol=1e-8)


def test_given_background_is_summarised_only_above_ten_rows_per_cluster(iris_mlp):
    model, frame = iris_mlp
    explainer = kernel.KernelExplainer(model, frame.iloc[:10], nclusters=5)
    kept = create_scoring_explainer(explainer, frame.iloc[:50])  # 50 rows, not more than 10 x 5
    assert kept.background.n_rows == 50 and np.allclose(kept.background.row_weights(), 1 / 50)
    np.testing.assert_array_equal(kept.background.values, frame.iloc[:50].to_numpy(dtype=float))
    assert create_scoring_explainer(explainer, frame.iloc[:51]).background.n_rows == 5
