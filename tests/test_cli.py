import json

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from pellucid.cli import main
from pellucid.explanation import Explanation


@pytest.fixture()
def iris_csv(tmp_path):
    data = load_iris(as_frame=True)
    frame = data.frame.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    path = tmp_path / "iris.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_explain_a_lightgbm_text_model(tmp_path, iris_csv, capsys):
    lightgbm = pytest.importorskip("lightgbm")
    path, frame = iris_csv
    X, y = frame.drop(columns="target"), frame["target"]
    booster = lightgbm.LGBMRegressor(n_estimators=20, verbose=-1).fit(X, y).booster_
    model_file = tmp_path / "model.txt"
    booster.save_model(str(model_file))
    out = tmp_path / "explanation.json"
    assert main(["explain", "--model", str(model_file), "--data", str(path), "--target", "target",
                 "--out", str(out), "--top-k", "3"]) == 0
    printed = capsys.readouterr().out
    explanation = Explanation.load(out)
    assert explanation.meta["explainer"] == "TreeExplainer" and explanation.n_rows == len(frame)
    assert explanation.get_ranked_global_names()[0] in printed
    total = explanation.local_values.sum(axis=1)[:, 0] + explanation.expected_values_array[0]
    assert np.allclose(total, booster.predict(X), atol=1e-6)


def test_pickle_needs_allow_pickle_and_skops_does_not(tmp_path, iris_csv, capsys):
    skops_io = pytest.importorskip("skops.io")
    path, frame = iris_csv
    model = LogisticRegression(max_iter=1000).fit(frame.drop(columns="target"), frame["target"])
    pickled = tmp_path / "model.joblib"
    joblib.dump(model, pickled)
    out = tmp_path / "e.json"
    assert main(["explain", "--model", str(pickled), "--data", str(path), "--target", "target", "--out", str(out)]) == 2
    assert "UnsafeArtifactError" in capsys.readouterr().err and not out.exists()
    assert main(["explain", "--model", str(pickled), "--allow-pickle", "--data", str(path), "--target", "target",
                 "--out", str(out)]) == 0
    safe = tmp_path / "model.skops"
    skops_io.dump(model, safe)
    assert main(["explain", "--model", str(safe), "--data", str(path), "--target", "target", "--out", str(out),
                 "--force"]) == 0
    assert Explanation.load(out).meta["explainer"] == "LinearExplainer"


def test_methods_and_bad_arguments(tmp_path, iris_csv, capsys):
    skops_io = pytest.importorskip("skops.io")
    path, frame = iris_csv
    model = LogisticRegression(max_iter=1000).fit(frame.drop(columns="target"), frame["target"])
    safe = tmp_path / "model.skops"
    skops_io.dump(model, safe)
    out = tmp_path / "pfi.json"
    assert main(["explain", "--model", str(safe), "--data", str(path), "--target", "target", "--method", "pfi",
                 "--out", str(out)]) == 0
    assert Explanation.load(out).method == "permutation_importance"
    assert main(["explain", "--model", str(safe), "--data", str(path), "--method", "pfi", "--out", str(out),
                 "--force"]) == 2
    assert "--target" in capsys.readouterr().err
    assert main(["explain", "--model", str(safe), "--data", str(tmp_path / "missing.csv"), "--out", str(out),
                 "--force"]) == 2
    assert "no file" in capsys.readouterr().err
    assert main(["explain", "--model", str(tmp_path / "model.bin"), "--data", str(path), "--out", str(out)]) == 2


def test_subcommands_are_registered():
    from pellucid.cli import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices
    assert {"explain", "demo", "dashboard", "history", "serve"} <= set(commands)
    assert json.loads(json.dumps(sorted(commands)))  # names are plain strings


def test_explain_with_method_mimic(tmp_path, iris_csv, capsys):
    # the CLI builds a MimicExplainer with a LightGBM surrogate (it once looked the surrogate up on a module
    # that does not define it)
    skops_io = pytest.importorskip("skops.io")
    path, frame = iris_csv
    X = frame.drop(columns="target")
    model = LogisticRegression(max_iter=1000).fit(X, frame["target"])
    safe = tmp_path / "model.skops"
    skops_io.dump(model, safe)
    out = tmp_path / "mimic.json"
    assert main(["explain", "--model", str(safe), "--data", str(path), "--target", "target", "--method", "mimic",
                 "--out", str(out)]) == 0, capsys.readouterr().err
    explanation = Explanation.load(out)
    assert explanation.method == "mimic.lightgbm" and explanation.local_values.shape == (len(frame), 4, 3)
    assert explanation.features == list(X.columns)


def test_python_dash_m_pellucid_runs_the_cli(tmp_path, iris_csv):
    import os
    import subprocess
    import sys
    from pathlib import Path

    skops_io = pytest.importorskip("skops.io")
    path, frame = iris_csv
    model = LogisticRegression(max_iter=1000).fit(frame.drop(columns="target"), frame["target"])
    safe = tmp_path / "model.skops"
    skops_io.dump(model, safe)
    out = tmp_path / "e.json"
    src = str(Path(__import__("pellucid").__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    version = subprocess.run([sys.executable, "-m", "pellucid", "--version"], capture_output=True, text=True,
                             env=env, timeout=120)
    assert version.returncode == 0 and version.stdout.startswith("pellucid ")
    done = subprocess.run([sys.executable, "-m", "pellucid", "explain", "--model", str(safe), "--data", str(path),
                           "--target", "target", "--out", str(out), "--top-k", "2"],
                          capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert Explanation.load(out).meta["explainer"] == "LinearExplainer" and "saved" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "pellucid", "explain", "--model", str(safe), "--data",
                          str(tmp_path / "missing.csv")], capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2 and "no file" in bad.stderr
def _breast_cancer(tmp_path, *, named: bool):
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    frame = data.frame
    X = frame.drop(columns="target")
    model = LogisticRegression(max_iter=5000).fit(X if named else X.to_numpy(), frame["target"])
    model_file = tmp_path / ("named.joblib" if named else "plain.joblib")
    joblib.dump(model, model_file)
    path = tmp_path / "cancer.csv"
    frame.to_csv(path, index=False)
    return path, model_file


@pytest.mark.parametrize("named", [True, False])
def test_a_missing_target_names_the_flag(tmp_path, capsys, named):
    path, model_file = _breast_cancer(tmp_path, named=named)
    out = tmp_path / "e.json"
    assert main(["explain", "--model", str(model_file), "--allow-pickle", "--data", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--target" in err and "initialization_examples" not in err and not out.exists()
    assert ("['target']" in err) if named else ("31 columns" in err and "30 features" in err)


def test_python_argument_names_become_flags(tmp_path, iris_csv, capsys):
    from pellucid.cli import _in_cli_words, build_parser
    from pellucid.errors import DataShapeError

    args = build_parser().parse_args(["explain", "--model", "m", "--data", "d.csv"])
    error = _in_cli_words(DataShapeError("initialization_examples must have 4 features; evaluation_examples has 5"), args)
    assert isinstance(error, DataShapeError)
    assert str(error) == ("--data (the background, as no --background was given) must have 4 features; "
                          "--data has 5")


def test_out_is_never_overwritten_silently_and_the_summary_names_the_output_space(tmp_path, iris_csv, capsys):
    path, frame = iris_csv
    model = LogisticRegression(max_iter=1000).fit(frame.drop(columns="target"), frame["target"])
    model_file = tmp_path / "model.joblib"
    joblib.dump(model, model_file)
    out = tmp_path / "e.json"
    out.write_text("precious", encoding="utf-8")
    command = ["explain", "--model", str(model_file), "--allow-pickle", "--data", str(path), "--target", "target",
               "--out", str(out)]
    assert main(command) == 2
    assert "--force" in capsys.readouterr().err and out.read_text(encoding="utf-8") == "precious"
    assert main([*command, "--force"]) == 0
    printed = capsys.readouterr().out
    explanation = Explanation.load(out)
    assert f"values in the {explanation.meta['output_space']} space" in printed
    assert explanation.meta["output_space"] in ("logit", "log_odds", "probability")
