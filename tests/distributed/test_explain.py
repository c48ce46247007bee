"""explain_local / explain_global on Dask against the same explainer in one process.

The oracle is the single-process explanation of the same explainer on the same rows: row-by-row explainers
must give exactly the same local values (bit for bit) however the rows are partitioned; global values reduced
on the cluster equal the in-memory mean of |local values| up to the rounding of a sum taken in another order.
Linear SHAP values are also checked against their closed form, coef * (x - background mean).
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pellucid.distributed import explain_global, explain_local
from pellucid.errors import ArgumentError, DataShapeError, ModelInterfaceError
from pellucid.explainers.lime import LIMEExplainer
from pellucid.explainers.linear import LinearExplainer
from pellucid.explainers.pfi import PFIExplainer
from pellucid.explainers.tabular import TabularExplainer

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")


@pytest.fixture(scope="module")
def cancer():
    data = load_breast_cancer()
    # Standardised columns: the logistic regression converges in a few iterations.
    values = (data.data - data.data.mean(axis=0)) / data.data.std(axis=0)
    frame = pd.DataFrame(values, columns=data.feature_names)
    model = LogisticRegression(max_iter=1000).fit(values, data.target)
    return frame, data.target, model


@pytest.fixture(scope="module")
def linear(cancer):
    frame, _, model = cancer
    explainer = LinearExplainer(model, frame.to_numpy())
    return explainer, explainer.explain_local(frame.to_numpy())


def test_linear_equals_single_process_and_closed_form(client, cancer, linear):
    frame, _, model = cancer
    explainer, single = linear
    dist = explainer.explain_local(frame.to_numpy(), backend="dask", client=client, partition_rows=50)
    assert np.array_equal(dist.local_values, single.local_values)
    assert np.array_equal(dist.expected_values_array, single.expected_values_array)
    # model_output is a BLAS matrix product whose rounding depends on the batch's row count (in one process
    # too): equal to the last few bits only.
    np.testing.assert_allclose(dist.model_output, single.model_output, rtol=1e-13, atol=1e-13)
    assert np.array_equal(dist.eval_data, frame.to_numpy())
    closed_form = model.coef_[0] * (frame.to_numpy() - frame.to_numpy().mean(axis=0))
    np.testing.assert_allclose(dist.local_values[:, :, 1], closed_form, rtol=1e-12, atol=1e-12)
    facts = dist.meta["distributed"]
    assert facts["partitions"] == 12 and facts["partition_rows"] == [50] * 11 + [19] and facts["rows"] == 569
    assert any("12 partitions on Dask" in note for note in dist.meta["notes"])
    assert dist.meta["method"] == single.meta["method"] and dist.meta["output_space"] == "log_odds"


@pytest.mark.parametrize("form", ["pandas", "sparse", "list"])
def test_in_memory_forms(client, cancer, linear, form):
    frame, _, _ = cancer
    explainer, single = linear
    rows = {"pandas": frame, "sparse": sp.csr_matrix(frame.to_numpy()), "list": frame.to_numpy().tolist()}[form]
    dist = explainer.explain_local(rows, backend="dask", client=client)
    assert np.array_equal(dist.local_values, single.local_values)


def test_dask_array_input(client, cancer, linear):
    frame, _, _ = cancer
    explainer, single = linear
    # Uneven row chunks and split columns: columns are joined on the workers, rows stay where they are.
    array = da.from_array(frame.to_numpy(), chunks=((100, 250, 19, 200), (10, 20)))
    dist = explainer.explain_local(array, backend="dask", client=client)
    assert np.array_equal(dist.local_values, single.local_values)
    assert dist.meta["distributed"]["source"] == "dask.array"
    assert dist.meta["distributed"]["partition_rows"] == [100, 250, 19, 200]


def test_dask_dataframe_input(client, cancer, linear):
    frame, _, _ = cancer
    explainer, single = linear
    distributed_frame = dd.from_pandas(frame, npartitions=5)
    dist = explainer.explain_local(distributed_frame, backend="dask", client=client)
    assert np.array_equal(dist.local_values, single.local_values)
    assert dist.meta["distributed"]["source"] == "dask.dataframe"
    assert dist.meta["distributed"]["partitions"] == 5 and dist.meta["distributed"]["rows"] == 569
    # Moving the boundaries re-blocks the partitions on the workers; same values.
    reblocked = explainer.explain_local(distributed_frame, backend="dask", client=client, partition_rows=64)
    assert np.array_equal(reblocked.local_values, single.local_values)
    assert reblocked.meta["distributed"]["partition_rows"] == [64] * 8 + [57]


def test_lime_equals_single_process_with_per_row_meta(client, cancer):
    frame, _, model = cancer
    X = frame.to_numpy()
    explainer = LIMEExplainer(model, X, num_samples=300, seed=3)
    single = explainer.explain_local(X[:40])
    dist = explainer.explain_local(X[:40], backend="dask", client=client, partition_rows=9)
    assert np.array_equal(dist.local_values, single.local_values)
    for key in ("intercepts", "local_predictions", "scores"):  # one entry per row: joined in row order
        assert dist.meta[key] == single.meta[key]
    assert dist.meta["bins"] == single.meta["bins"]


def test_tabular_explainer_forwards(client, cancer):
    frame, _, model = cancer
    tabular = TabularExplainer(model, frame)
    single = tabular.explain_local(frame.iloc[:100])
    dist = tabular.explain_local(frame.iloc[:100], backend="dask", client=client)
    assert np.array_equal(dist.local_values, single.local_values)
    assert dist.meta["explainer"] == "LinearExplainer" and dist.features == list(frame.columns)
    through_module = explain_local(tabular, frame.iloc[:100], client=client)
    assert np.array_equal(through_module.local_values, single.local_values)
    assert through_module.meta["explainer"] == "LinearExplainer"
    reduced = explain_global(tabular, frame.iloc[:100], client=client, include_local=False)
    np.testing.assert_allclose(reduced.global_values, single.global_values, rtol=1e-12, atol=0)
    assert reduced.meta["explainer"] == "LinearExplainer" and reduced.local_values is None


def test_regression_global_reduced_on_cluster(client):
    X, y = load_diabetes(return_X_y=True)
    model = make_pipeline(StandardScaler(), LinearRegression()).fit(X, y)
    explainer = LIMEExplainer(model, X, num_samples=200)
    single = explainer.explain_global(X)
    reduced = explainer.explain_global(X, backend="dask", client=client, include_local=False, partition_rows=60)
    assert reduced.local_values is None and reduced.n_outputs == 1
    np.testing.assert_allclose(reduced.global_values, single.global_values, rtol=1e-12, atol=0)
    assert reduced.get_ranked_global_names() == single.get_ranked_global_names()
    assert np.array_equal(reduced.expected_values_array, single.expected_values_array)
    assert "intercepts" not in reduced.meta  # per-row meta stays with the (never gathered) local values


def test_output_writes_partition_files(client, cancer, linear, tmp_path):
    frame, _, _ = cancer
    explainer, single = linear
    out = tmp_path / "values"
    result = explainer.explain_global(frame, backend="dask", client=client, output=out, partition_rows=100)
    files = result.meta["output_files"]
    assert len(files) == 6 and result.meta["output_rows"] == [100] * 5 + [69]
    assert sorted(p.name for p in out.iterdir()) == [f"part-{i:05d}.npz" for i in range(6)]
    local = []
    for index, path in enumerate(files):
        with np.load(path, allow_pickle=False) as archive:
            assert int(archive["partition"]) == index
            local.append(archive["local_values"])
            assert np.array_equal(archive["expected_values"], single.expected_values_array)
    assert np.array_equal(np.concatenate(local), single.local_values)
    np.testing.assert_allclose(result.global_values, single.global_values, rtol=1e-12, atol=0)
    assert result.local_values is None
    with pytest.raises(ArgumentError, match="partition files"):
        explainer.explain_global(frame, backend="dask", client=client, output=out)
    with pytest.raises(ArgumentError, match="include_local=False"):
        explainer.explain_global(frame, backend="dask", client=client, output=tmp_path / "other", include_local=True)


def test_global_defaults_to_background(client, cancer, linear):
    explainer, _ = linear
    single = explainer.explain_global()
    dist = explainer.explain_global(backend="dask", client=client)
    assert np.array_equal(dist.local_values, single.local_values)


class _Locked(LogisticRegression):
    """A model holding a lock: it cannot be serialised to go to the workers."""

    def fit(self, X, y):
        self.lock_ = threading.Lock()
        return super().fit(X, y)


class _FailsOnWorkers(LogisticRegression):
    """Predicts in the client process, raises in any other (a worker)."""

    def fit(self, X, y):
        import os

        self.client_pid_ = os.getpid()
        return super().fit(X, y)

    def predict_proba(self, X):
        import os

        if os.getpid() != self.client_pid_:
            raise RuntimeError("broken on the worker")
        return super().predict_proba(X)


def test_bad_input_and_options(client, cancer, linear):
    frame, y, model = cancer
    explainer, _ = linear
    with pytest.raises(DataShapeError, match="30 features"):
        explainer.explain_local(frame.iloc[:, :5], backend="dask", client=client)
    with pytest.raises(DataShapeError, match="30 features"):
        explainer.explain_local(dd.from_pandas(frame.iloc[:, :5], npartitions=2), backend="dask", client=client)
    with pytest.raises(ArgumentError, match="backend must be"):
        explainer.explain_local(frame, backend="spark")
    with pytest.raises(ArgumentError, match="backend='dask'"):
        explainer.explain_local(frame, partition_rows=10)
    with pytest.raises(ArgumentError, match="partition_rows must be a positive integer"):
        explainer.explain_local(frame, backend="dask", client=client, partition_rows=0)
    with pytest.raises(ArgumentError, match="retries"):
        explainer.explain_local(frame, backend="dask", client=client, retries=-1)
    with pytest.raises(ArgumentError, match="client must be"):
        explainer.explain_local(frame, backend="dask", client=42)
    pfi = PFIExplainer(model, frame.to_numpy())
    with pytest.raises(ArgumentError, match="does not explain rows independently"):
        explain_local(pfi, frame, client=client)


def test_unserialisable_model_and_worker_errors_are_typed(client, cancer):
    frame, y, _ = cancer
    X = frame.to_numpy()[:, :4]
    locked = LIMEExplainer(_Locked(max_iter=1000).fit(X, y), X, num_samples=50)
    with pytest.raises(ModelInterfaceError, match="serialisable"):
        locked.explain_local(X[:10], backend="dask", client=client)
    failing = LIMEExplainer(_FailsOnWorkers(max_iter=1000).fit(X, y), X, num_samples=50)
    with pytest.raises(ModelInterfaceError, match="broken on the worker"):
        failing.explain_local(X[:10], backend="dask", client=client, retries=0)


def test_progress_bar(client, cancer, linear, capsys):
    frame, _, _ = cancer
    explainer, _ = linear
    explainer.explain_local(frame, backend="dask", client=client, progress=True)
    assert "explaining partitions" in capsys.readouterr().err
    explainer.explain_local(frame, backend="dask", client=client, progress=False)
    assert "explaining partitions" not in capsys.readouterr().err


@pytest.fixture(scope="module")
def mixed():
    """Raw rows with a string column, a ColumnTransformer and a logistic regression on its output."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(4)
    raw = pd.DataFrame({
        "a": rng.normal(size=300), "b": rng.normal(size=300), "c": rng.choice(["x", "y", "z"], size=300),
    })
    target = (raw["a"] + (raw["c"] == "y") > 0.5).astype(int).to_numpy()
    transform = ColumnTransformer([("num", StandardScaler(), ["a", "b"]),
                                   ("cat", OneHotEncoder(sparse_output=False), ["c"])]).fit(raw)
    model = LogisticRegression().fit(transform.transform(raw), target)
    return raw, transform, model


def test_transformations_and_raw_features(client, mixed):
    raw, transform, model = mixed
    explainer = LinearExplainer(model, raw.iloc[:100], transformations=transform)
    single = explainer.explain_local(raw, raw=True)
    dist = explainer.explain_local(dd.from_pandas(raw, npartitions=4), backend="dask", client=client)  # raw: the default
    assert dist.is_raw and dist.features == ["a", "b", "c"]
    assert np.array_equal(dist.local_values, single.local_values)
    engineered = explainer.explain_global(raw, backend="dask", client=client, include_local=False, raw=False)
    assert engineered.features == list(transform.get_feature_names_out())
    np.testing.assert_allclose(engineered.global_values, explainer.explain_global(raw, raw=False).global_values, rtol=1e-12)
    pipeline = make_pipeline(transform, model)
    tabular = TabularExplainer(pipeline, raw.iloc[:100])
    through_tabular = tabular.explain_local(raw, backend="dask", client=client)  # its default: raw features
    assert through_tabular.is_raw and np.array_equal(through_tabular.local_values, tabular.explain_local(raw).local_values)
