"""Checks shared by the notebook-flow tests: what the SDK's sample notebooks print and rely on."""

from __future__ import annotations

import numpy as np


def assert_sorted_desc(values: list) -> None:
    """Each innermost list of ranked values runs from the highest to the lowest."""
    array = np.asarray(values, dtype=float)
    assert np.all(np.diff(array, axis=-1) <= 1e-12), "ranked values are not sorted from highest to lowest"


def assert_ranking_consistent(names: list, values: list, features: list, local_values: list) -> None:
    """``get_ranked_local_names`` / ``get_ranked_local_values`` re-derived from ``local_importance_values``."""
    local = np.asarray(local_values, dtype=float)
    order = np.argsort(-local, axis=-1, kind="stable")
    np.testing.assert_allclose(np.take_along_axis(local, order, axis=-1), np.asarray(values, dtype=float))
    expected_names = np.asarray(list(features), dtype=object)[order]
    # ties may order differently: compare names through the values they carry
    got = np.asarray(names, dtype=object)
    assert got.shape == expected_names.shape
    index = {name: i for i, name in enumerate(features)}
    got_values = np.take_along_axis(local, np.vectorize(index.__getitem__)(got).astype(int), axis=-1)
    np.testing.assert_allclose(got_values, np.asarray(values, dtype=float))


def assert_global_ranking(explanation, features: list) -> None:
    """The global names/values/rank/dict the notebooks print agree with one another and are sorted."""
    values = explanation.get_ranked_global_values()
    names = explanation.get_ranked_global_names()
    rank = explanation.global_importance_rank
    assert sorted(names) == sorted(list(features))
    assert_sorted_desc(values)
    assert [list(features)[i] for i in rank] == names
    importance = explanation.get_feature_importance_dict()
    assert list(importance.keys()) == names
    np.testing.assert_allclose(list(importance.values()), values)
