"""Read LightGBM, XGBoost and CatBoost models into a :class:`TreeEnsemble`.

Each reader parses the library's own JSON dump (no pickle, no private C structures) and reproduces its split
rule exactly:

* LightGBM (``Booster.dump_model``): ``x <= threshold`` on float64 rows; missing type "None" sends NaN the
  way 0.0 would go, "Zero" sends 0 and NaN the default way, "NaN" sends NaN the default way; categorical
  splits send the listed categories left.
* XGBoost (``Booster.save_raw("json")``): ``x < threshold`` on float32 rows (stored as ``x <=`` the next
  float32 below), missing values the default way; dart trees are scaled by their drop weights.
* CatBoost (``save_model(format="json")``): oblivious trees, ``x > border`` on float32 rows goes right,
  NaN by each feature's ``nan_value_treatment``; leaf values scaled by the model's scale.

The base offset (init score, base margin, bias) is read from one prediction of the model itself.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import numpy as np

from pellucid.errors import ModelInterfaceError, require
from pellucid.explainers._tree_ensemble import (
    CATEGORICAL,
    DEFAULT_LEFT,
    ZERO_MISSING,
    TreeEnsemble,
    concat_trees,
    set_base_from_probe,
)
from pellucid.explainers._tree_models import lightgbm_booster, xgboost_booster, xgboost_iteration_range

__all__ = ["extract_lightgbm", "extract_xgboost", "extract_catboost"]


# ---------------------------------------------------------------------------------------------- LightGBM
def _category_bits(categories: list[int]) -> np.ndarray:
    n_words = max(categories) // 32 + 1 if categories else 1
    bits = np.zeros(n_words, np.uint32)
    for category in categories:
        bits[category // 32] |= np.uint32(1) << np.uint32(category % 32)
    return bits


def _lightgbm_tree(structure: dict, n_outputs: int, output: int) -> dict[str, np.ndarray]:
    nodes: list[dict] = []
    left: list[int] = []
    right: list[int] = []
    cat_words: list[np.ndarray] = []
    cat_start: list[int] = []
    cat_len: list[int] = []
    words = 0
    pending = [(structure, -1, False)]
    while pending:
        node, parent, is_left = pending.pop()
        index = len(nodes)
        nodes.append(node)
        left.append(-1)
        right.append(-1)
        cat_start.append(0)
        cat_len.append(0)
        if parent >= 0:
            (left if is_left else right)[parent] = index
        if "leaf_coeff" in node:
            raise ModelInterfaceError("LightGBM models with linear_tree=True are not supported by TreeSHAP")
        if "split_feature" in node:
            if node["decision_type"] == "==":
                bits = _category_bits([int(c) for c in str(node["threshold"]).split("||")])
                cat_words.append(bits)
                cat_start[index] = words
                cat_len[index] = len(bits)
                words += len(bits)
            pending.append((node["right_child"], index, False))
            pending.append((node["left_child"], index, True))
    n = len(nodes)
    feature = np.full(n, -1, np.int64)
    threshold = np.zeros(n)
    flags = np.zeros(n, np.uint8)
    value = np.zeros((n, n_outputs))
    cover = np.zeros(n)
    for i, node in enumerate(nodes):
        if "split_feature" not in node:
            value[i, output] = node["leaf_value"]
            cover[i] = node.get("leaf_count", 1)
            continue
        feature[i] = node["split_feature"]
        cover[i] = node["internal_count"]
        if node["decision_type"] == "==":
            flags[i] = CATEGORICAL
            continue
        threshold[i] = float(node["threshold"])
        missing = node.get("missing_type", "None")
        if missing == "None":
            default_left = 0.0 <= threshold[i]
        else:
            default_left = bool(node["default_left"])
            if missing == "Zero":
                flags[i] |= ZERO_MISSING
        flags[i] |= DEFAULT_LEFT if default_left else 0
    return {"children_left": np.array(left), "children_right": np.array(right), "feature": feature,
            "threshold": threshold, "flags": flags, "value": value, "cover": cover,
            "cat_start": np.array(cat_start), "cat_len": np.array(cat_len),
            "cat_bits": np.concatenate(cat_words) if cat_words else np.zeros(0, np.uint32)}


def extract_lightgbm(model: Any) -> TreeEnsemble:
    """:class:`TreeEnsemble` of a LightGBM model (up to its best iteration when it has one)."""
    booster = lightgbm_booster(model)
    dump = booster.dump_model(num_iteration=None)
    k = int(dump["num_tree_per_iteration"])
    n_features = int(dump["max_feature_idx"]) + 1
    tree_info = dump["tree_info"]
    trees = [_lightgbm_tree(info["tree_structure"], k, i % k) for i, info in enumerate(tree_info)]
    if dump.get("average_output"):
        n_iterations = max(len(tree_info) // k, 1)
        for tree in trees:
            tree["value"] = tree["value"] / n_iterations
    ensemble = concat_trees(trees, n_features=n_features, n_outputs=k,
                            tree_output=[i % k if k > 1 else -1 for i in range(len(trees))],
                            input_dtype="float64", family="lightgbm")
    probe = np.zeros((1, n_features))
    set_base_from_probe(ensemble, booster.predict(probe, raw_score=True), probe)
    return ensemble


# ---------------------------------------------------------------------------------------------- XGBoost
def _xgboost_tree(tree: dict, n_outputs: int, output: int, weight: float) -> dict[str, np.ndarray]:
    if any(int(t) != 0 for t in tree.get("split_type", [])):
        raise ModelInterfaceError(
            "XGBoost models with categorical splits are explained with the default path-dependent TreeSHAP "
            "(XGBoost's own); pellucid's kernels (interventional, interactions) need numeric splits"
        )
    if int(tree["tree_param"].get("size_leaf_vector", "1")) > 1:
        raise ModelInterfaceError("XGBoost multi-output trees (vector leaves) are not supported")
    left = np.asarray(tree["left_children"], dtype=np.int64)
    right = np.asarray(tree["right_children"], dtype=np.int64)
    condition = np.asarray(tree["split_conditions"], dtype=np.float64).astype(np.float32)
    leaf = left < 0
    # x < c on float32 values is x <= the largest float32 below c
    threshold = np.nextafter(condition, np.float32(-np.inf)).astype(np.float64)
    value = np.zeros((len(left), n_outputs))
    value[:, output] = np.where(leaf, condition.astype(np.float64) * weight, 0.0)
    return {
        "children_left": np.where(leaf, -1, left),
        "children_right": np.where(leaf, -1, right),
        "feature": np.where(leaf, -1, np.asarray(tree["split_indices"], dtype=np.int64)),
        "threshold": np.where(leaf, 0.0, threshold),
        "flags": np.where(np.asarray(tree["default_left"]) != 0, DEFAULT_LEFT, 0).astype(np.uint8),
        "value": value,
        "cover": np.asarray(tree["sum_hessian"], dtype=np.float64),
    }


def _renumber_preorder(tree: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Reorder nodes so that every child comes after its parent (the kernels rely on it)."""
    left, right = tree["children_left"], tree["children_right"]
    order: list[int] = []
    pending = [0]
    while pending:
        node = pending.pop()
        order.append(node)
        if left[node] >= 0:
            pending.append(int(right[node]))
            pending.append(int(left[node]))
    order_array = np.asarray(order)
    position = np.full(len(left), -1, np.int64)
    position[order_array] = np.arange(len(order_array))
    out = {name: np.asarray(array)[order_array] for name, array in tree.items()}
    out["children_left"] = np.where(out["children_left"] >= 0, position[np.maximum(out["children_left"], 0)], -1)
    out["children_right"] = np.where(out["children_right"] >= 0, position[np.maximum(out["children_right"], 0)], -1)
    return out


def extract_xgboost(model: Any) -> TreeEnsemble:
    """:class:`TreeEnsemble` of an XGBoost tree model (gbtree or dart), up to the iterations it predicts with."""
    booster = xgboost_booster(model)
    learner = json.loads(booster.save_raw(raw_format="json"))["learner"]
    gradient_booster = learner["gradient_booster"]
    name = gradient_booster["name"]
    if name == "gblinear":
        raise ModelInterfaceError("XGBoost models with booster='gblinear' have no trees; use LinearExplainer")
    model_json = gradient_booster["gbtree"]["model"] if name == "dart" else gradient_booster["model"]
    weights = gradient_booster.get("weight_drop") if name == "dart" else None
    trees_json = model_json["trees"]
    tree_info = [int(group) for group in model_json["tree_info"]]
    begin, end = xgboost_iteration_range(model)
    if end > 0:
        indptr = model_json.get("iteration_indptr")
        if indptr is None:
            per_iteration = int(model_json["gbtree_model_param"]["num_parallel_tree"]) * (max(tree_info) + 1)
            indptr = [i * per_iteration for i in range(len(trees_json) // per_iteration + 1)]
        trees_json = trees_json[indptr[begin]:indptr[end]]
        tree_info = tree_info[indptr[begin]:indptr[end]]
        weights = weights[indptr[begin]:indptr[end]] if weights is not None else None
    k = max(tree_info) + 1 if tree_info else 1
    trees = [
        _renumber_preorder(_xgboost_tree(tree, k, group, 1.0 if weights is None else float(weights[i])))
        for i, (tree, group) in enumerate(zip(trees_json, tree_info))
    ]
    n_features = int(learner["learner_model_param"]["num_feature"])
    ensemble = concat_trees(trees, n_features=n_features, n_outputs=k,
                            tree_output=[g if k > 1 else -1 for g in tree_info], input_dtype="float32",
                            family="xgboost")
    xgboost = require("xgboost", "xgboost")
    probe = np.zeros((1, n_features))
    margin = booster.predict(xgboost.DMatrix(probe), output_margin=True, iteration_range=(begin, end),
                             validate_features=False)
    set_base_from_probe(ensemble, margin, probe)
    return ensemble


# ---------------------------------------------------------------------------------------------- CatBoost
def extract_catboost(model: Any) -> TreeEnsemble:
    """:class:`TreeEnsemble` of a CatBoost model with numeric features only (oblivious trees)."""
    if model.get_cat_feature_indices():
        raise ModelInterfaceError(
            "CatBoost models with categorical features are explained with the default path-dependent TreeSHAP "
            "(CatBoost's own); pellucid's kernels (interventional) need numeric features"
        )
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model.json")
        model.save_model(path, format="json")
        with open(path, encoding="utf-8") as handle:
            dump = json.load(handle)
    float_features = dump["features_info"].get("float_features", [])
    flat_index = {f["feature_index"]: f.get("flat_feature_index", f["feature_index"]) for f in float_features}
    nan_right = {f["feature_index"]: f.get("nan_value_treatment") in ("AsTrue", "Max") for f in float_features}
    scale = float(dump.get("scale_and_bias", [1.0, [0.0]])[0])
    n_features = len(model.feature_names_)
    trees = []
    for tree in dump["oblivious_trees"]:
        splits = tree.get("splits", [])
        for split in splits:
            if split.get("split_type") != "FloatFeature":
                raise ModelInterfaceError(f"CatBoost split type {split.get('split_type')!r} is not supported")
        depth = len(splits)
        n_leaves = 1 << depth
        leaf_values = np.asarray(tree["leaf_values"], dtype=np.float64).reshape(n_leaves, -1) * scale
        k = leaf_values.shape[1]
        n_internal = n_leaves - 1
        n = n_internal + n_leaves
        # breadth-first full tree: level l splits on splits[depth-1-l]; leaf p holds leaf_values[p]
        node = np.arange(n_internal)
        level = np.floor(np.log2(node + 1)).astype(np.int64) if n_internal else np.zeros(0, np.int64)
        split_of_level = [splits[depth - 1 - lev] for lev in range(depth)]
        feature = np.full(n, -1, np.int64)
        threshold = np.zeros(n)
        flags = np.zeros(n, np.uint8)
        for i, lev in zip(node, level):
            split = split_of_level[lev]
            feature[i] = flat_index[split["float_feature_index"]]
            threshold[i] = np.float32(split["border"])
            flags[i] = 0 if nan_right[split["float_feature_index"]] else DEFAULT_LEFT
        cover = np.zeros(n)
        cover[n_internal:] = np.asarray(tree.get("leaf_weights", np.ones(n_leaves)), dtype=np.float64)
        for i in range(n_internal - 1, -1, -1):
            cover[i] = cover[2 * i + 1] + cover[2 * i + 2]
        value = np.zeros((n, k))
        value[n_internal:] = leaf_values
        children = np.where(np.arange(n) < n_internal, 2 * np.arange(n) + 1, -1)
        trees.append({"children_left": children, "children_right": np.where(children >= 0, children + 1, -1),
                      "feature": feature, "threshold": threshold, "flags": flags, "value": value, "cover": cover})
    k = trees[0]["value"].shape[1] if trees else 1
    ensemble = concat_trees(trees, n_features=n_features, n_outputs=k, input_dtype="float32", family="catboost")
    probe = np.zeros((1, n_features))
    set_base_from_probe(ensemble, model.predict(probe, prediction_type="RawFormulaVal"), probe)
    return ensemble
