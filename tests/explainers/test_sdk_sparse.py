"""Sparse data as the old SDK handled it: integer-column transformations on numpy/scipy input, LIME that perturbs
only a sparse row's non-zero columns, PFI that skips all-zero columns and takes sparse labels.

Oracles: the same explanation computed on a DataFrame (transformations), pellucid's dense LIME on the sub-problem
of a row's non-zero columns (the other columns held at 0), PFI's dense path on the same data.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from pellucid.explainers.kernel import KernelExplainer
from pellucid.explainers.lime import LIMEExplainer
from pellucid.explainers.pfi import PFIExplainer

N_HASHED = 2**16


@pytest.fixture(scope="module")
def hashed():
    """60 short documents hashed into 2**16 features, and a 3-class logistic regression on them."""
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(200)]
    documents = [" ".join(rng.choice(words, 12)) for _ in range(60)]
    X = HashingVectorizer(n_features=N_HASHED).transform(documents).tocsr()
    y = np.array([sum(f"w{i} " in d + " " for i in range(10)) % 3 for d in documents])
    return X, y, LogisticRegression(max_iter=1000).fit(X, y)


class Recording:
    """A classifier that records what it is called with and refuses dense input or too many stored values."""

    def __init__(self, model, max_values, max_total_rows=None):
        self.model, self.classes_, self.max_values = model, model.classes_, max_values
        self.max_total_rows = max_total_rows
        self.calls = []

    def predict_proba(self, rows):
        assert sp.issparse(rows), f"the model got {type(rows).__name__}, not a sparse matrix"
        assert rows.nnz <= self.max_values, f"one call held {rows.nnz} stored values"
        self.calls.append((rows.shape, rows.nnz))
        total = sum(shape[0] for shape, _ in self.calls)
        assert self.max_total_rows is None or total <= self.max_total_rows, f"the model was asked for {total} rows"
        return self.model.predict_proba(rows)


# ---------------------------------------------------------------------- transformations on integer columns
def test_transformations_list_of_integer_columns_on_numpy_and_sparse_input():
    X, y = load_iris(return_X_y=True)
    raw = np.column_stack([X, (X[:, 0] > 5.8).astype(float)])
    parts = [([0, 1], StandardScaler()), ([2], StandardScaler()), ([3], None), ([4], OneHotEncoder(sparse_output=False))]
    named = ColumnTransformer([(str(i), t if t is not None else "passthrough", c) for i, (c, t) in enumerate(parts)])
    model = LogisticRegression(max_iter=1000).fit(named.fit_transform(raw), y)
    fitted = [(c, named.named_transformers_[str(i)] if t is not None else None) for i, (c, t) in enumerate(parts)]
    columns = ["a", "b", "c", "d", "e"]
    by_name = [([columns[j] for j in c], t) for c, t in fitted]
    frame = pd.DataFrame(raw, columns=columns)
    reference = KernelExplainer(model, frame.iloc[:10], transformations=by_name).explain_local(frame.iloc[:3], raw=True)
    assert reference.local_values.shape == (3, 5, 3)
    for data in (raw, sp.csr_matrix(raw)):
        explanation = KernelExplainer(model, data[:10], transformations=fitted).explain_local(data[:3], raw=True)
        np.testing.assert_allclose(explanation.local_values, reference.local_values, atol=1e-12)
        engineered = KernelExplainer(model, data[:10], transformations=fitted).explain_local(data[:3], raw=False)
        assert engineered.local_values.shape == (3, 6, 3)


# ---------------------------------------------------------------------- LIME on wide sparse data
def test_lime_on_hashed_features_perturbs_only_each_rows_non_zero_columns(hashed):
    X, _, model = hashed
    rows, background = X[10:13], X[:10]
    num_samples = 300
    widest_row = int(np.diff(rows.indptr).max())
    recording = Recording(model, max_values=max(num_samples * widest_row, background.nnz))
    explainer = LIMEExplainer(recording, background, classes=["a", "b", "c"], num_samples=num_samples, seed=3)
    explanation = explainer.explain_local(rows)
    assert explainer.sparse_ and explanation.meta["parameters"]["sparse_neighbourhoods"]
    assert explanation.local_values.shape == (3, N_HASHED, 3)
    assert max(shape[0] for shape, _ in recording.calls) <= num_samples
    for i in range(rows.shape[0]):
        unused = np.setdiff1d(np.arange(N_HASHED), rows[i].indices)
        assert not explanation.local_values[i, unused].any()
    np.testing.assert_allclose(explanation.model_output, model.predict_proba(rows))

    # Oracle: dense LIME on the first row's non-zero columns alone, the other columns held at 0 for the model.
    columns = np.sort(rows[0].indices)

    def on_columns(values):
        full = np.zeros((values.shape[0], N_HASHED))
        full[:, columns] = values
        return model.predict_proba(sp.csr_matrix(full))

    dense = LIMEExplainer(on_columns, background[:, columns].toarray(), model_task="classification",
                          num_samples=num_samples, seed=3, kernel_width=0.75 * math.sqrt(N_HASHED))
    oracle = dense.explain_local(rows[0, columns].toarray())
    np.testing.assert_allclose(explanation.local_values[0][columns], oracle.local_values[0], atol=1e-10)
    np.testing.assert_allclose(explanation.meta["intercepts"][0], oracle.meta["intercepts"][0], atol=1e-10)


def test_lime_keeps_dense_neighbourhoods_for_narrow_sparse_data():
    X, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=1000).fit(X, y)
    sparse = LIMEExplainer(model, sp.csr_matrix(X), num_samples=200)
    assert not sparse.sparse_
    forced = LIMEExplainer(model, sp.csr_matrix(X), num_samples=200, sparse_neighbourhoods=True)
    values = forced.explain_local(sp.csr_matrix(X[:2])).local_values
    assert forced.sparse_ and values.shape == (2, 4, 3)


# ---------------------------------------------------------------------- PFI on wide sparse data
def test_pfi_on_hashed_features_permutes_only_columns_that_vary(hashed):
    X, y, model = hashed
    rows, labels = X[:20], y[:20]
    varying = np.unique(rows.indices)
    n_repeats = 2
    # Every call is the baseline or shuffled copies of a varying column: anything more is a permuted zero column.
    bound = (1 + n_repeats * len(varying)) * rows.shape[0] + 1  # + the wrapper's one-row probe
    recording = Recording(model, max_values=10**6, max_total_rows=bound)
    explanation = PFIExplainer(recording, n_repeats=n_repeats).explain_global(rows, sp.csr_matrix(labels[:, None]))
    importances = explanation.global_values[:, 0]
    zero = np.setdiff1d(np.arange(N_HASHED), varying)
    assert not importances[zero].any() and not np.asarray(explanation.meta["importances_std"])[zero].any()
    assert any(f"{len(zero)} of {N_HASHED} features are constant" in note for note in explanation.meta["notes"])


def test_pfi_sparse_and_dense_paths_agree_and_constant_columns_get_zero():
    X, y = load_iris(return_X_y=True)
    data = np.column_stack([X[:, :2], np.zeros(len(X)), X[:, 2:], np.full(len(X), 3.0)])
    data[::3, 1] = 0.0
    model = LogisticRegression(max_iter=2000).fit(data, y)
    dense = PFIExplainer(model, n_repeats=3, seed=5).explain_global(data, y)
    sparse = PFIExplainer(model, n_repeats=3, seed=5).explain_global(sp.csr_matrix(data), y)
    np.testing.assert_allclose(sparse.global_values, dense.global_values, atol=1e-12)
    np.testing.assert_allclose(np.asarray(sparse.meta["importances"]), np.asarray(dense.meta["importances"]), atol=1e-12)
    assert not dense.global_values[[2, 5]].any() and dense.global_values[[0, 1, 3, 4], 0].all()
