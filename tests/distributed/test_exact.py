"""Kernel SHAP, TreeSHAP, Mimic and Deep explanations on Dask equal the single-process ones exactly.

The oracle is the same explainer called once in this process on all rows. Kernel SHAP's values depend on
which rows share a block (they share coalitions and the adaptive allocation): the first test shows it, the
next that partitions aligned to the explainer's blocks give the single-process values bit for bit, whatever
the input's own partitioning. Kernel SHAP's values are also checked against the additivity identity.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn import svm
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import RandomForestRegressor

from pellucid.distributed import row_block
from pellucid.explainers.kernel import KernelExplainer

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    X = (X[:, :8] - X[:, :8].mean(axis=0)) / X[:, :8].std(axis=0)
    return X, y


@pytest.fixture(scope="module")
def kernel(cancer):
    X, y = cancer
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # sklearn 1.9 deprecates probability=True
        model = svm.SVC(gamma=0.05, C=10.0, probability=True, random_state=0).fit(X, y)
    explainer = KernelExplainer(model, X, nclusters=5, nsamples=64, seed=3)
    rows = X[:300]
    return explainer, rows, explainer.explain_local(rows)


def test_kernel_values_depend_on_the_rows_sharing_a_block(kernel):
    explainer, rows, single = kernel
    assert row_block(explainer, rows.shape[1]) == 128
    shifted = explainer.explain_local(rows[50:178])  # a block of other rows
    assert not np.array_equal(shifted.local_values, single.local_values[50:178])
    aligned = explainer.explain_local(rows[128:256])  # the same block of rows
    assert np.array_equal(aligned.local_values, single.local_values[128:256])


@pytest.mark.parametrize("form", ["numpy", "partition_rows", "dask.dataframe", "dask.array"])
def test_kernel_equals_single_process(client, kernel, form):
    explainer, rows, single = kernel
    options = {}
    if form == "partition_rows":
        data, options = rows, {"partition_rows": 50}
    elif form == "dask.dataframe":
        data = dd.from_pandas(pd.DataFrame(rows), npartitions=7)
    elif form == "dask.array":
        data = da.from_array(rows, chunks=(37, 8))
    else:
        data = rows
    dist = explainer.explain_local(data, backend="dask", client=client, **options)
    assert np.array_equal(dist.local_values, single.local_values)
    assert np.array_equal(dist.standard_errors, single.standard_errors)
    assert np.array_equal(dist.model_output, single.model_output)
    assert np.array_equal(dist.expected_values_array, single.expected_values_array)
    facts = dist.meta["distributed"]
    assert facts["row_block"] == 128 and all(n % 128 == 0 for n in facts["partition_rows"][:-1])
    assert facts["partition_rows"] == [128, 128, 44]
    if form == "partition_rows":
        assert any("partition_rows=50 moved to 128" in note for note in dist.meta["notes"])
    # additivity: values + expected value = model output, per row and class
    np.testing.assert_allclose(dist.local_values.sum(axis=1) + dist.expected_values_array, dist.model_output, atol=1e-9)


def test_tree_equals_single_process(client):
    from pellucid.explainers.tree import TreeExplainer

    lightgbm = pytest.importorskip("lightgbm")
    X, y = load_breast_cancer(return_X_y=True)
    boosted = lightgbm.LGBMClassifier(n_estimators=40, num_leaves=8, verbose=-1).fit(X, y)
    explainer = TreeExplainer(boosted)
    single = explainer.explain_local(X)
    dist = explainer.explain_local(da.from_array(X, chunks=(100, 30)), backend="dask", client=client)
    assert np.array_equal(dist.local_values, single.local_values)
    assert np.array_equal(dist.expected_values_array, single.expected_values_array)
    assert dist.meta["output_space"] == single.meta["output_space"]
    np.testing.assert_allclose(dist.local_values.sum(axis=1) + dist.expected_values_array, dist.model_output, atol=1e-9)

    Xr, yr = load_diabetes(return_X_y=True)
    forest = RandomForestRegressor(n_estimators=10, max_depth=5, random_state=0).fit(Xr, yr)
    background = Xr[:50]
    interventional = TreeExplainer(forest, background, feature_perturbation="interventional")
    single = interventional.explain_local(Xr)
    dist = interventional.explain_local(pd.DataFrame(Xr), backend="dask", client=client, partition_rows=90)
    assert np.array_equal(dist.local_values, single.local_values)


def test_mimic_equals_single_process(client, cancer):
    from pellucid.explainers.mimic import MimicExplainer
    from pellucid.mimic.models import LGBMExplainableModel

    pytest.importorskip("lightgbm")
    X, y = cancer
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        teacher = svm.SVC(gamma=0.05, C=10.0, probability=True, random_state=0).fit(X, y)
    explainer = MimicExplainer(teacher, X, LGBMExplainableModel, augment_data=False)
    single = explainer.explain_local(X)
    dist = explainer.explain_local(dd.from_pandas(pd.DataFrame(X), npartitions=4), backend="dask", client=client)
    assert np.array_equal(dist.local_values, single.local_values)
    assert dist.meta["fidelity"] == single.meta["fidelity"]
    reduced = explainer.explain_global(X, backend="dask", client=client, include_local=False)
    np.testing.assert_allclose(reduced.global_values, single.global_values, rtol=1e-12, atol=0)


def test_deep_equals_single_process(client, cancer):
    torch = pytest.importorskip("torch")
    from pellucid.explainers.deep import DeepExplainer

    torch.set_num_threads(1)
    torch.manual_seed(0)
    X, _ = cancer
    network = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1)).double().eval()
    explainer = DeepExplainer(network, X[:20], model_task="regression")
    single = explainer.explain_local(X[:200])
    dist = explainer.explain_local(X[:200], backend="dask", client=client, partition_rows=64)
    assert np.array_equal(dist.local_values, single.local_values)
    np.testing.assert_allclose(dist.local_values.sum(axis=1) + dist.expected_values_array, dist.model_output, atol=1e-9)
