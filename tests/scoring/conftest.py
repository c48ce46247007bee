"""Small fitted models shared by the scoring tests."""

import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression, Ridge


@pytest.fixture(scope="module")
def diabetes_ridge():
    X, y = load_diabetes(return_X_y=True)
    return Ridge(alpha=0.5).fit(X[:300], y[:300]), X


@pytest.fixture(scope="module")
def iris_logistic():
    X, y = load_iris(return_X_y=True)
    return LogisticRegression(max_iter=2000).fit(X, y), X


# ---------------------------------------------------------------------- linear values
