import json

import numpy as np
import pytest

from pellucid.errors import ArgumentError, DataShapeError, ExplanationFormatError, ExplanationVersionError
from pellucid.explanation import FORMAT_VERSION, Explanation


def make(n=4, m=3, k=2, seed=0, **extra):
    rng = np.random.default_rng(seed)
    classes = [f"c{i}" for i in range(k)] if k > 1 else None
    return Explanation(
        method="test",
        task="classification" if k > 1 else "regression",
        features=["a", "b", "c"][:m],
        classes=classes,
        local_values=rng.normal(size=(n, m, k)),
        expected_values=rng.normal(size=k),
        eval_data=extra.pop("eval_data", rng.normal(size=(n, m))),
        model_output=rng.normal(size=(n, k)),
        meta={"output_space": "probability", "parameters": {"x": (1, 2)}},
        **extra,
    )


def test_sdk_views_follow_the_arrays():
    e = make()
    local = e.local_values
    # SDK layout: [classes][rows][features]
    assert np.array_equal(np.array(e.local_importance_values), np.moveaxis(local, 2, 0))
    per_class = np.abs(local).mean(axis=0).T
    assert np.allclose(e.per_class_values, per_class)
    overall = per_class.mean(axis=0)
    assert np.allclose(e.global_importance_values, overall)
    order = np.argsort(-overall)
    assert e.get_ranked_global_names() == [e.features[i] for i in order]
    assert np.allclose(e.get_ranked_global_values(2), overall[order][:2])
    assert list(e.get_feature_importance_dict(top_k=2)) == [e.features[i] for i in order[:2]]
    # local ranking: highest signed value first, per class and row
    names = e.get_ranked_local_names(top_k=2)
    values = e.get_ranked_local_values()
    for c in range(2):
        for r in range(4):
            row = local[r, :, c]
            ranked = np.argsort(-row, kind="stable")
            assert names[c][r] == [e.features[i] for i in ranked[:2]]
            assert np.allclose(values[c][r], row[ranked])
    assert e.get_ranked_per_class_names(1) == [[e.features[int(np.argmax(per_class[c]))]] for c in range(2)]


def test_regression_layout_is_rows_by_features():
    e = make(k=1)
    assert np.array(e.local_importance_values).shape == (4, 3)
    assert np.array(e.get_ranked_local_names()).shape == (4, 3)
    assert e.expected_value == e.expected_values_array.tolist() == e.expected_values
    with pytest.raises(AttributeError, match="classifiers only"):
        _ = e.per_class_values


def test_json_round_trip_is_exact(tmp_path):
    cells = np.array([[1.5, "x", None], [np.nan, "y", 3], [2.0, "z", 1], [0.1, "w", 2]], dtype=object)
    e = make(eval_data=cells)
    back = Explanation.from_json(e.to_json())
    assert back.equals(e) and back.id == e.id and back == e
    assert np.array_equal(back.local_values, e.local_values)  # bit-exact
    path = e.save(tmp_path / "e.json")
    assert Explanation.load(path).equals(e)


def test_large_arrays_go_to_npz_with_checksum(tmp_path, monkeypatch):
    import pellucid.explanation as module

    monkeypatch.setattr(module, "NPZ_THRESHOLD", 5)
    e = make()
    path = e.save(tmp_path / "big.json")
    document = json.loads(path.read_text())
    assert document["local_values"]["npz"] == "local_values"
    assert Explanation.load(path).equals(e)
    # tamper with the array file: the checksum refuses it
    npz = tmp_path / "big.json.npz"
    arrays = dict(np.load(npz))
    arrays["local_values"] = arrays["local_values"] + 1
    np.savez(npz, **arrays)
    with pytest.raises(ExplanationFormatError, match="SHA-256"):
        Explanation.load(path)


def test_non_finite_values_survive_json():
    e = make()
    e.local_values[0, 0, 0] = np.nan
    e.local_values[0, 1, 0] = np.inf
    text = e.to_json()
    assert "NaN" in text and json.loads(text)  # strict JSON: NaN stored as a string
    assert Explanation.from_json(text).equals(e)


@pytest.mark.parametrize(
    "text, error, message",
    [
        ("{not json", ExplanationFormatError, "does not parse"),
        ('{"format": "other"}', ExplanationFormatError, "expected a 'pellucid.explanation'"),
        ('[1, 2]', ExplanationFormatError, "found list"),
    ],
)
def test_corrupt_documents_raise_format_errors(text, error, message):
    with pytest.raises(error, match=message):
        Explanation.from_json(text)


def test_newer_version_and_truncated_documents():
    document = make().to_dict()
    document["format_version"] = FORMAT_VERSION + 1
    with pytest.raises(ExplanationVersionError, match="newer"):
        Explanation.from_dict(document)
    document = make().to_dict()
    document["local_values"]["data"] = document["local_values"]["data"][:-3]
    with pytest.raises(ExplanationFormatError, match="must hold 24 values"):
        Explanation.from_dict(document)
    text = make().to_json()
    with pytest.raises(ExplanationFormatError):
        Explanation.from_json(text[: len(text) // 2])


def test_shapes_are_checked_against_task():
    with pytest.raises(DataShapeError, match=r"\(2,\)"):
        Explanation(method="m", task="classification", features=["a"], classes=[0, 1],
                    local_values=np.zeros((1, 1, 2)), expected_values=np.zeros(3))
    with pytest.raises(ArgumentError, match="needs its classes"):
        Explanation(method="m", task="classification", features=["a"], local_values=np.zeros((1, 1, 1)))
    with pytest.raises(ArgumentError, match="task must be"):
        Explanation(method="m", task="ranking", features=["a"], local_values=np.zeros((1, 1, 1)))
    with pytest.raises(ArgumentError, match="top_k"):
        make().get_ranked_global_names(top_k=0)


def test_select_and_concatenate_rows():
    e = make(n=6)
    parts = [e.select_rows(slice(0, 2)), e.select_rows(slice(2, 6))]
    joined = Explanation.concatenate(parts)
    assert np.array_equal(joined.local_values, e.local_values)
    assert np.array_equal(joined.model_output, e.model_output)


def test_global_only_explanation():
    e = Explanation(method="pfi", task="regression", features=["a", "b"], global_values=[[0.1], [0.5]])
    assert e.get_ranked_global_names() == ["b", "a"]
    assert Explanation.from_json(e.to_json()).equals(e)
    with pytest.raises(AttributeError, match="global-only"):
        _ = e.local_importance_values


def test_replace_changes_only_what_is_given():
    e = make()
    trimmed = e.replace(local_values=e.local_values * 0, meta={"output_space": "raw"})
    assert np.array_equal(trimmed.local_values, np.zeros_like(e.local_values))
    assert np.array_equal(trimmed.model_output, e.model_output) and trimmed.features == e.features
    assert trimmed.id != e.id and trimmed.meta["output_space"] == "raw" and e.meta["output_space"] == "probability"
    assert e.replace(explanation_id=e.id).equals(e) and e.replace(explanation_id=e.id) == e
    with pytest.raises(DataShapeError):
        e.replace(expected_values=np.zeros(5))
