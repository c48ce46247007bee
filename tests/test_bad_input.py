"""Bad input anywhere (API, saved files, the command line) raises a typed pellucid error saying what was expected
and what was found, before any work; the command line prints it on one line and exits with status 2."""

import json
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge

import pellucid.cli as cli
from pellucid.errors import (
    ArgumentError,
    DataShapeError,
    EmptyDataError,
    ExplanationFormatError,
    MissingFileError,
    PellucidError,
    UnsupportedInputError,
)
from pellucid.explainers.linear import LinearExplainer
from pellucid.explanation import Explanation

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 3))
MODEL = Ridge().fit(X, X @ [1.0, 2.0, 3.0])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Every bad file the cases need, and good ones beside them."""
    lightgbm = pytest.importorskip("lightgbm")
    root = tmp_path_factory.mktemp("bad_input")
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame.to_csv(root / "data.csv", index=False)
    booster = lightgbm.train({"objective": "regression", "verbose": -1, "min_data_in_leaf": 5},
                             lightgbm.Dataset(frame, frame["a"] * 2.0), num_boost_round=3)
    booster.save_model(str(root / "model.txt"))
    (root / "empty.csv").write_text("")
    (root / "header.csv").write_text("a,b,c\n")
    (root / "corrupt.parquet").write_bytes(b"PAR1 this is not a parquet file")
    (root / "garbage.txt").write_text("hello, I am not a model\n")
    (root / "pickled.txt").write_bytes(pickle.dumps({"not": "a model"}))
    good = LinearExplainer(MODEL, X).explain_local(X[:4]).save(root / "good.json")
    document = json.loads(good.read_text())
    for name, change in {
        "npz_int.json": lambda d: d.__setitem__("npz_file", 5),
        "bool_version.json": lambda d: d.__setitem__("format_version", True),
        "null_cells.json": lambda d: d["local_values"].__setitem__("data", [None] * len(d["local_values"]["data"])),
    }.items():
        copy = json.loads(json.dumps(document))
        change(copy)
        (root / name).write_text(json.dumps(copy))
    (root / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    LinearExplainer(MODEL, X).create_scoring_explainer().save(root / "scoring")
    return root


def _explain(root, *extra):
    return ["explain", "--model", str(root / "model.txt"), "--data", str(root / "data.csv"),
            "--out", str(root / "out.json"), *extra]


# (id, call(files) raising, expected error type, words the message must hold: what was expected and found)
API_CASES = [
    ("ragged-rows", lambda r: LinearExplainer(MODEL, X).explain_local([[1.0, 2.0, 3.0], [1.0, 2.0]]),
     DataShapeError, ["equal length", "row 1 holds 2 values"]),
    ("ragged-background", lambda r: LinearExplainer(MODEL, [[1.0, 2.0, 3.0], [1.0], [1.0, 2.0, 3.0]]),
     DataShapeError, ["equal length", "row 1 holds 1 value"]),
    ("scalar-and-row", lambda r: LinearExplainer(MODEL, X).explain_local([1.0, [2.0, 3.0], 4.0]),
     DataShapeError, ["equal length", "a single value"]),
    ("load-folder", lambda r: Explanation.load(r), ArgumentError, ["expected an explanation file", "found a folder"]),
    ("load-missing", lambda r: Explanation.load(r / "missing.json"), MissingFileError,
     ["expected an explanation file", "found nothing"]),
    ("load-not-a-path", lambda r: Explanation.load(12), ArgumentError, ["str or Path", "found int"]),
    ("npz-file-not-string", lambda r: Explanation.load(r / "npz_int.json"), ExplanationFormatError,
     ["npz_file", "found 5"]),
    ("bool-format-version", lambda r: Explanation.load(r / "bool_version.json"), ExplanationFormatError,
     ["integer format_version", "found True"]),
    ("null-cells", lambda r: Explanation.load(r / "null_cells.json"), ExplanationFormatError,
     ["must hold numbers", "found None"]),
    ("deep-json", lambda r: Explanation.load(r / "deep.json"), ExplanationFormatError, ["nested too deeply"]),
    ("deep-json-text", lambda r: Explanation.from_json("[" * 100_000 + "]" * 100_000), ExplanationFormatError,
     ["nested too deeply"]),
]


@pytest.mark.parametrize(("call", "error", "words"), [case[1:] for case in API_CASES],
                         ids=[case[0] for case in API_CASES])
def test_api_raises_a_typed_error(files, call, error, words):
    with pytest.raises(error) as caught:
        call(files)
    for word in words:
        assert word in str(caught.value)


def test_missing_explanation_file_is_still_a_file_not_found_error(files):
    with pytest.raises(FileNotFoundError):
        Explanation.load(files / "missing.json")


# (id, argv(files), expected error type name, words of the message)
CLI_CASES = [
    ("empty-csv", lambda r: _explain(r)[:4] + [str(r / "empty.csv"), "--out", str(r / "o.json")],
     "EmptyDataError", ["expected a CSV file", "empty file"]),
    ("header-only-csv", lambda r: _explain(r)[:4] + [str(r / "header.csv"), "--out", str(r / "o.json")],
     "EmptyDataError", ["at least one row", "shape (0, 3)"]),
    ("corrupt-parquet", lambda r: _explain(r)[:4] + [str(r / "corrupt.parquet"), "--out", str(r / "o.json")],
     "UnsupportedInputError", ["expected a Parquet file", "cannot be read"]),
    ("garbage-model", lambda r: ["explain", "--model", str(r / "garbage.txt"), "--data", str(r / "data.csv"),
                                 "--out", str(r / "o.json")],
     "UnsupportedInputError", ["expected a LightGBM text model", "LightGBMError"]),
    ("pickled-model", lambda r: ["explain", "--model", str(r / "pickled.txt"), "--data", str(r / "data.csv"),
                                 "--out", str(r / "o.json")],
     "UnsupportedInputError", ["expected a LightGBM text model", "found a pickle"]),
    ("out-in-missing-folder", lambda r: _explain(r)[:-1] + [str(r / "no_such_folder" / "x.json")],
     "MissingFileError", ["existing folder", "no_such_folder"]),
    ("out-is-a-folder", lambda r: _explain(r)[:-1] + [str(r)], "ArgumentError", ["must name a file", "a folder"]),
    ("top-k-zero", lambda r: _explain(r, "--top-k", "0"), "ArgumentError", ["--top-k", "found 0"]),
    ("data-missing", lambda r: _explain(r)[:4] + [str(r / "nope.csv")], "MissingFileError", ["found no file"]),
    ("history-download-out-in-missing-folder",
     lambda r: ["history", "download", "--run-id", "0" * 32, "--out", str(r / "no_such_folder" / "x.json")],
     "ArgumentError", ["existing folder", "no_such_folder"]),
    ("dashboard-missing", lambda r: ["dashboard", str(r / "missing.json"), "--output", str(r / "d.html")],
     "MissingFileError", ["expected an explanation file", "found nothing"]),
    ("serve-garbage-model", lambda r: ["serve", "--scoring-explainer", str(r / "scoring"),
                                       "--model", str(r / "garbage.txt")],
     "UnsupportedInputError", ["expected a LightGBM text model", "LightGBMError"]),
]


@pytest.mark.parametrize(("argv", "error", "words"), [case[1:] for case in CLI_CASES],
                         ids=[case[0] for case in CLI_CASES])
def test_cli_prints_one_line_and_exits_2(files, capsys, monkeypatch, argv, error, words):
    explained = []
    real = cli._make_explainer
    monkeypatch.setattr(cli, "_make_explainer", lambda *a: explained.append(a) or real(*a))
    assert cli.main(argv(files)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {error}: "), err
    for word in words:
        assert word in err[0]
    assert explained == []  # refused before any explainer was built


def test_cli_error_types_are_pellucid_errors():
    import pellucid.errors as errors

    for case in CLI_CASES:
        assert issubclass(getattr(errors, case[2]), PellucidError)
    assert issubclass(UnsupportedInputError, TypeError) and issubclass(EmptyDataError, ValueError)
