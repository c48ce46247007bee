import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from pellucid.data import as_dataset, sample_rows, summarize
from pellucid.errors import DataShapeError, EmptyDataError, UnsupportedInputError


class DenseDataLike:
    def __init__(self, data, names):
        self.data = data
        self.group_names = names


def test_numpy_rows_and_one_dimensional_row():
    dataset = as_dataset(np.arange(6).reshape(2, 3))
    assert dataset.values.dtype == np.float64 and dataset.feature_names == [0, 1, 2]
    assert as_dataset(np.arange(3)).values.shape == (1, 3)


def test_pandas_mixed_columns_round_trip_to_the_model_format():
    frame = pd.DataFrame({"age": [30, 40], "city": ["a", "b"], "kind": pd.Categorical(["x", "y"])})
    dataset = as_dataset(frame)
    assert dataset.values.dtype == object and dataset.feature_names == ["age", "city", "kind"]
    rebuilt = dataset.to_model_input()
    assert list(rebuilt.columns) == ["age", "city", "kind"]
    assert isinstance(rebuilt["kind"].dtype, pd.CategoricalDtype)
    assert rebuilt["city"].tolist() == ["a", "b"]


def test_series_is_one_row():
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    dataset = as_dataset(frame.iloc[1])
    assert dataset.values.tolist() == [[2.0, 4.0]] and dataset.feature_names == ["a", "b"]


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_input_goes_back_as_sparse(fmt):
    matrix = sp.random(5, 4, density=0.5, format=fmt, random_state=0)
    dataset = as_dataset(matrix)
    assert np.array_equal(dataset.values, matrix.toarray())
    back = dataset.to_model_input()
    assert sp.issparse(back) and back.format == fmt


def test_dense_data_like_objects():
    dataset = as_dataset(DenseDataLike(np.ones((3, 2)), ["u", "v"]))
    assert dataset.feature_names == ["u", "v"] and dataset.n_rows == 3


def test_bad_inputs_raise_typed_errors():
    with pytest.raises(UnsupportedInputError, match="found dict"):
        as_dataset({"a": 1})
    with pytest.raises(EmptyDataError, match="at least one row"):
        as_dataset(np.empty((0, 3)))
    with pytest.raises(DataShapeError, match="3 dimensions"):
        as_dataset(np.zeros((2, 2, 2)))
    with pytest.raises(DataShapeError, match="features lists 2 names but data has 3 columns"):
        as_dataset(np.zeros((2, 3)), ["a", "b"])


def test_summarize_keeps_observed_values_and_weights():
    rng = np.random.default_rng(0)
    values = np.column_stack([rng.integers(0, 2, 300), rng.normal(size=300)])
    summary = summarize(as_dataset(values), 8)
    assert summary.n_rows <= 8 and np.isclose(summary.weights.sum(), 1.0)
    assert set(np.unique(summary.values[:, 0])) <= {0.0, 1.0}
    assert set(summary.values[:, 1]) <= set(values[:, 1])
    assert "summarised from 300" in summary.notes[0]


def test_summarize_mixed_frame_picks_real_rows():
    frame = pd.DataFrame({"x": np.arange(50.0), "c": ["a", "b"] * 25})
    summary = summarize(as_dataset(frame), 5)
    rows = {tuple(r) for r in as_dataset(frame).values.tolist()}
    assert all(tuple(r) in rows for r in summary.values.tolist())


def test_sample_rows_records_what_it_did():
    sampled, index = sample_rows(as_dataset(np.arange(100.0).reshape(50, 2)), 10, seed=1)
    assert sampled.n_rows == 10 and np.array_equal(sampled.values[:, 0], index * 2.0)
    assert "sampled from 50 to 10" in sampled.notes[0]
