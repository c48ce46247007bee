"""Explanation.to_frame: every value lands on the line naming its row, feature and output."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pellucid.explanation import Explanation


def _classifier() -> Explanation:
    rng = np.random.default_rng(0)
    data = np.empty((4, 3), dtype=object)
    data[:, 0] = [1.5, 2.5, 3.5, 4.5]
    data[:, 1] = ["a", "b", "a", "c"]
    data[:, 2] = [10, 20, 30, 40]
    return Explanation(method="m", task="classification", features=["x", "cat", "n"], classes=["no", "yes", "maybe"],
                       local_values=rng.normal(size=(4, 3, 3)), expected_values=np.array([0.1, 0.2, 0.7]),
                       eval_data=data)


def test_long_frame_holds_each_value_with_its_row_feature_output_and_feature_value():
    e = _classifier()
    frame = e.to_frame()
    assert list(frame.columns) == ["row", "feature", "output", "value", "feature_value"]
    assert len(frame) == 4 * 3 * 3
    for line in frame.itertuples(index=False):
        j = e.features.index(line.feature)
        k = e.classes.index(line.output)
        assert line.value == e.local_values[line.row, j, k]
        assert line.feature_value == e.eval_data[line.row, j]
    # each (row, feature, output) exactly once
    assert not frame.duplicated(["row", "feature", "output"]).any()
    # a pivot of the tidy frame gives the wide frame back
    pivot = frame.pivot_table(index="row", columns=["output", "feature"], values="value")
    wide = e.to_frame(wide=True)
    pd.testing.assert_frame_equal(pivot.reindex(columns=wide.columns), wide, check_names=False)


def test_wide_frame_layouts():
    e = _classifier()
    wide = e.to_frame(wide=True)
    assert wide.shape == (4, 9)
    for k, label in enumerate(e.classes):
        np.testing.assert_array_equal(wide[label].to_numpy(), e.local_values[:, :, k])
        assert list(wide[label].columns) == e.features
    regression = Explanation(method="m", task="regression", features=["a", "b"],
                             local_values=np.arange(6.0).reshape(3, 2, 1), expected_values=np.array([1.0]))
    wide = regression.to_frame(wide=True)
    np.testing.assert_array_equal(wide.to_numpy(), regression.local_values[:, :, 0])
    assert list(wide.columns) == ["a", "b"]
    long = regression.to_frame()
    assert set(long["output"]) == {"prediction"}
    assert long["feature_value"].isna().all()  # no eval_data
    np.testing.assert_array_equal(long["value"].to_numpy(), np.arange(6.0))


def test_global_only_frames():
    values = np.array([[0.3, 0.1], [0.2, 0.4]])
    e = Explanation(method="pfi", task="classification", features=["a", "b"], classes=[0, 1], global_values=values)
    long = e.to_frame()
    assert list(long.columns) == ["feature", "output", "value"]
    for line in long.itertuples(index=False):
        assert line.value == values[e.features.index(line.feature), e.classes.index(line.output)]
    np.testing.assert_array_equal(e.to_frame(wide=True).to_numpy(), values)
