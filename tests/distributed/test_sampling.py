"""sample_rows and summarize on dask collections, against the in-memory functions of pellucid.data.

Sampling draws the same row positions as pellucid.data.sample_rows with the same seed, so the oracle is the
in-memory sample of the same data. Summaries of a collection that fits the sample are the in-memory summary;
for larger ones the weights are checked against a brute-force nearest-row count.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist

from pellucid import data as core
from pellucid.distributed import sample_rows, summarize
from pellucid.errors import ArgumentError

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 5, size=(4, 3))
    values = np.concatenate([c + rng.normal(0, 0.5, size=(n, 3)) for c, n in zip(centres, (500, 300, 150, 50))])
    values[:, 2] = np.round(values[:, 2])  # an integer-valued column: summaries snap to observed values
    return pd.DataFrame(rng.permutation(values), columns=["a", "b", "c"])


def test_sample_rows_matches_in_memory_sample(client, frame):
    expected, expected_index = core.sample_rows(core.as_dataset(frame), 120, seed=7)
    for collection in (dd.from_pandas(frame, npartitions=7), da.from_array(frame.to_numpy(), chunks=(130, 3))):
        sampled, index = sample_rows(collection, 120, seed=7, client=client)
        assert np.array_equal(index, expected_index)
        assert np.array_equal(sampled.values, expected.values)
        assert sampled.n_rows == 120 and "uniform without replacement" in sampled.notes[-1]
    dataframe_sample, _ = sample_rows(dd.from_pandas(frame, npartitions=3), 10, seed=1, client=client)
    assert dataframe_sample.kind == "pandas" and dataframe_sample.feature_names == ["a", "b", "c"]
    everything, index = sample_rows(dd.from_pandas(frame, npartitions=3), 5000, client=client)
    assert np.array_equal(everything.values, frame.to_numpy()) and np.array_equal(index, np.arange(len(frame)))


def test_sample_rows_in_memory_delegates(frame):
    sampled, index = sample_rows(frame.to_numpy(), 50, seed=3)
    expected, expected_index = core.sample_rows(core.as_dataset(frame.to_numpy()), 50, seed=3)
    assert np.array_equal(sampled.values, expected.values) and np.array_equal(index, expected_index)
    with pytest.raises(ArgumentError, match="n_rows must be a positive integer"):
        sample_rows(frame, 0)


def test_summarize_small_collection_equals_in_memory(client, frame):
    expected = core.summarize(core.as_dataset(frame), 4, seed=0)
    summary = summarize(dd.from_pandas(frame, npartitions=4), 4, seed=0, client=client)
    assert np.array_equal(summary.values, expected.values)
    assert np.array_equal(summary.weights, expected.weights)


def test_summarize_large_collection_weights_every_row(client, frame):
    collection = da.from_array(frame.to_numpy(), chunks=(250, 3))
    summary = summarize(collection, 4, seed=0, sample_size=200, client=client)
    assert summary.n_rows == 4
    np.testing.assert_allclose(summary.weights.sum(), 1.0)
    values = frame.to_numpy()
    # Summary rows hold observed values; the integer column stays integer.
    assert all(np.isin(summary.values[:, j], values[:, j]).all() for j in range(3))
    # Oracle: share of all rows nearest (on the sample's standardised scale) to each summary row.
    sample, _ = core.sample_rows(core.as_dataset(values), 200, seed=0)
    scale = sample.values.std(axis=0)
    nearest = cdist(values / scale, summary.values / scale).argmin(axis=1)
    np.testing.assert_allclose(summary.weights, np.bincount(nearest, minlength=4) / len(values), atol=1e-12)
    # The four blobs hold 50%, 30%, 15% and 5% of the rows.
    np.testing.assert_allclose(np.sort(summary.weights), [0.05, 0.15, 0.3, 0.5], atol=0.01)
    assert "one pass on the Dask workers" in summary.notes[-1]


def test_summary_of_a_collection_is_a_kernel_background(client, frame):
    from sklearn.linear_model import LinearRegression

    from pellucid.explainers.kernel import KernelExplainer

    target = frame["a"] - 2 * frame["b"] + 0.5 * frame["c"]
    model = LinearRegression().fit(frame, target)
    summary = summarize(dd.from_pandas(frame, npartitions=4), 6, client=client)
    explainer = KernelExplainer(model, summary)
    assert explainer.background.n_rows == 6
    np.testing.assert_allclose(explainer.background.row_weights(), summary.weights)
    rows = frame.iloc[:5]
    explanation = explainer.explain_local(rows)
    # Exact for a linear model (3 features: every coalition enumerated): coef * (x - weighted background mean)
    mean = summary.weights @ summary.values
    np.testing.assert_allclose(explanation.local_values[:, :, 0], model.coef_ * (rows.to_numpy() - mean), atol=1e-9)


def test_direct_explainer_sampling_policy_with_the_dask_backend(client):
    # The SDK's explain_global(X, sampling_policy=...) on a direct explainer: the dask backend samples the same rows.
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from pellucid.explainers.kernel import KernelExplainer
    from pellucid.explainers.tabular import SamplingPolicy

    X, y = load_iris(return_X_y=True)
    explainer = KernelExplainer(LogisticRegression(max_iter=1000).fit(X, y), X[::15])
    policy = SamplingPolicy(allow_eval_sampling=True, max_rows=6, seed=2)
    local = explainer.explain_global(X[:40], sampling_policy=policy)
    remote = explainer.explain_global(X[:40], sampling_policy=policy, backend="dask", client=client)
    assert local.local_values.shape[0] == remote.local_values.shape[0] == 6
    np.testing.assert_allclose(remote.eval_data, local.eval_data)
    np.testing.assert_allclose(remote.local_values, local.local_values, atol=1e-12)
