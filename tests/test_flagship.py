"""The flagship example trains without a warning, and pellucid's advice for an SVC without probabilities is
scikit-learn's own recommendation (read from its deprecation message, not copied)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.svm import SVC

from pellucid.data import as_dataset
from pellucid.demo import classic_example
from pellucid.model import ModelWrapper


def test_the_classic_example_raises_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model, x_train, x_test, _, names, classes = classic_example()
        probabilities = model.predict_proba(x_test)
    assert probabilities.shape == (len(x_test), 2) and np.allclose(probabilities.sum(axis=1), 1.0)
    assert (model.predict(x_test) == probabilities.argmax(axis=1)).mean() > 0.9


def test_the_advice_for_an_svc_without_probabilities_is_sklearns():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), np.arange(40) % 2
    with pytest.warns(FutureWarning) as caught:
        SVC(probability=True).fit(X, y)
    recommendation = "CalibratedClassifierCV(SVC(), ensemble=False)"
    assert recommendation in str(caught[0].message)  # what scikit-learn recommends today
    # as in the old SDK, an SVC without probabilities is explained as a regression of its labels; the note
    # that says so gives scikit-learn's current advice for probabilities
    wrapper = ModelWrapper(SVC().fit(X, y), as_dataset(X))
    advice = " ".join(wrapper.notes)
    assert recommendation in advice and "probability=True)" in advice
