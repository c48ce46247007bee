import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from pellucid.data import as_dataset
from pellucid.errors import ArgumentError, DataValueError, ModelInterfaceError, ProbabilitiesRequiredError
from pellucid.model import ModelWrapper

X, Y = load_iris(return_X_y=True)


def test_classifier_has_one_output_per_class():
    model = LogisticRegression(max_iter=500).fit(X, Y)
    wrapper = ModelWrapper(model, as_dataset(X))
    assert wrapper.task == "classification" and wrapper.classes == [0, 1, 2]
    assert np.allclose(wrapper.predict_output(X[:5]), model.predict_proba(X[:5]))


def test_binary_classifier_still_has_two_outputs():
    model = LogisticRegression().fit(X, Y == 0)
    wrapper = ModelWrapper(model, as_dataset(X), classes=["no", "yes"])
    assert wrapper.n_outputs == 2 and wrapper.classes == ["no", "yes"]


def test_pipeline_and_regressor_and_function():
    pipeline = make_pipeline(StandardScaler(), LinearRegression()).fit(X, Y)
    wrapper = ModelWrapper(pipeline, as_dataset(X))
    assert wrapper.task == "regression" and wrapper.predict_output(X[:3]).shape == (3, 1)
    function = ModelWrapper(lambda rows: rows.sum(axis=1), as_dataset(X))
    assert function.task == "regression" and "inferred" in function.notes[0]
    probabilities = ModelWrapper(lambda rows: np.tile([0.2, 0.8], (len(rows), 1)), as_dataset(X))
    assert probabilities.task == "classification" and probabilities.classes == [0, 1]


def test_bad_models_and_classes():
    with pytest.raises(ModelInterfaceError, match="neither|must have predict"):
        ModelWrapper(object(), as_dataset(X))
    with pytest.raises(ProbabilitiesRequiredError, match="predict_proba"):  # 3 classes: no single probability
        ModelWrapper(SVC().fit(X, Y), as_dataset(X), model_task="classification")
    model = LogisticRegression(max_iter=500).fit(X, Y)
    with pytest.raises(ArgumentError, match="classes lists 2 labels but the model has 3 outputs"):
        ModelWrapper(model, as_dataset(X), classes=["a", "b"])


def test_nan_the_model_cannot_take_is_named():
    model = LogisticRegression(max_iter=500).fit(X, Y)
    bad = X[:3].copy()
    bad[1, 2] = np.nan
    wrapper = ModelWrapper(model, as_dataset(X))
    with pytest.raises(DataValueError, match=r"row 1, feature 2\)"):
        wrapper.predict_output(bad)
