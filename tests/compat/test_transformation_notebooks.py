"""The SDK's feature-transformation notebooks, with only the imports changed.

interpret-community ``notebooks/simple-feature-transformations-explain-local`` (IBM attrition data, a
``ColumnTransformer`` of one-to-many encoders, an SVC) and ``advanced-feature-transformations-explain-local``
(titanic data, many-to-one and many-to-many ``FunctionTransformer`` s, ``allow_all_transformations=True``), as in
Azure/MachineLearningNotebooks ``how-to-use-azureml/explain-model/tabular-data/``. The final estimator is explained
with ``transformations=``; the explanations come back in the raw features with no extra argument.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.svm import SVC

# was: from interpret.ext.blackbox import TabularExplainer, MimicExplainer, PFIExplainer
# was: from interpret.ext.glassbox import LGBMExplainableModel
from pellucid import LGBMExplainableModel, MimicExplainer, PFIExplainer, TabularExplainer
from tests.compat._data import attrition_frame, titanic_frame
from tests.compat._helpers import assert_global_ranking, assert_ranking_consistent, assert_sorted_desc


@pytest.fixture(scope="module")
def attrition():
    data = attrition_frame(160)
    data = data.drop(["EmployeeCount", "EmployeeNumber", "Over18", "StandardHours"], axis=1)
    data["Attrition_numerical"] = data["Attrition"].map({"Yes": 1, "No": 0})
    target = data["Attrition_numerical"]
    x_data = data.drop(["Attrition_numerical", "Attrition"], axis=1)
    x_train, x_test, y_train, y_test = train_test_split(x_data, target, test_size=0.2, random_state=0,
                                                        stratify=target)
    categorical = [col for col, value in x_data.items() if value.dtype == "object"]
    numerical = x_data.columns.difference(categorical)
    numeric_transformer = Pipeline(steps=[("imputer", SimpleImputer(strategy="median")),
                                          ("scaler", StandardScaler())])
    categorical_transformer = Pipeline(steps=[("imputer", SimpleImputer(strategy="constant", fill_value="missing")),
                                              ("onehot", OneHotEncoder(handle_unknown="ignore"))])
    transformations = ColumnTransformer(transformers=[("num", numeric_transformer, numerical),
                                                      ("cat", categorical_transformer, categorical)])
    clf = Pipeline(steps=[("preprocessor", transformations), ("classifier", SVC(C=1.0, probability=True,
                                                                                 random_state=0))])
    model = clf.fit(x_train, y_train)
    return x_data, x_train.iloc[:25], x_test.iloc[:3], y_test.iloc[:3], transformations, clf, model


def test_simple_feature_transformations_tabular(attrition):
    x_data, x_train, x_test, _, transformations, clf, model = attrition
    explainer = TabularExplainer(clf.steps[-1][1], initialization_examples=x_train, features=x_data.columns,
                                 classes=["Not leaving", "leaving"], transformations=transformations)
    global_explanation = explainer.explain_global(x_test)
    features = list(x_data.columns)
    assert global_explanation.features == features  # raw features, no raw=True
    assert_global_ranking(global_explanation, features)
    assert len(global_explanation.get_ranked_per_class_names()) == 2
    local = np.asarray(global_explanation.local_importance_values)
    assert local.shape == (2, len(x_test), len(features))
    # one-to-many encodings: raw values are sums of engineered ones, so additivity holds on the pipeline's output
    proba = model.predict_proba(x_test)
    np.testing.assert_allclose(local.sum(axis=2).T + np.asarray(global_explanation.expected_values), proba,
                               atol=1e-6)

    instance_num = 1
    local_explanation = explainer.explain_local(x_test[:instance_num])
    prediction_value = clf.predict(x_test)[instance_num]
    values = local_explanation.get_ranked_local_values()[prediction_value]
    names = local_explanation.get_ranked_local_names()[prediction_value]
    assert np.asarray(names).shape == (1, len(features))  # [row][feature] of the predicted class
    assert_sorted_desc(values)
    row = np.asarray(local_explanation.local_importance_values)
    assert row.shape == (2, 1, len(features))
    assert_ranking_consistent(names, values, features, row[prediction_value])


def test_simple_feature_transformations_mimic_and_pfi(attrition):
    x_data, x_train, x_test, y_test, transformations, clf, _ = attrition
    features = list(x_data.columns)
    mimic = MimicExplainer(clf.steps[-1][1], x_train, LGBMExplainableModel, augment_data=True,
                           max_num_of_augmentations=10, features=x_data.columns,
                           classes=["Not leaving", "leaving"], transformations=transformations)
    explanation = mimic.explain_global(x_test)
    assert explanation.features == features
    assert np.asarray(explanation.local_importance_values).shape == (2, len(x_test), len(features))
    pfi = PFIExplainer(clf.steps[-1][1], features=x_train.columns, transformations=transformations,
                       classes=["Not leaving", "leaving"])
    pfi_explanation = pfi.explain_global(x_test, true_labels=y_test)
    assert_global_ranking(pfi_explanation, features)


@pytest.fixture(scope="module")
def titanic():
    data = titanic_frame(200)
    numeric_features = ["age", "fare"]
    categorical_features = ["embarked", "sex", "pclass"]
    y = data["survived"].values
    X = data[categorical_features + numeric_features]
    x_train, x_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
    many_to_one = FunctionTransformer(lambda x: x.sum(axis=1).reshape(-1, 1), validate=True)
    many_to_many = FunctionTransformer(
        lambda x: np.hstack((np.prod(x, axis=1).reshape(-1, 1), (np.prod(x, axis=1) ** 2).reshape(-1, 1))),
        validate=True,
    )
    transformations = ColumnTransformer([
        ("age_fare_1", Pipeline(steps=[("imputer", SimpleImputer(strategy="median")),
                                       ("scaler", StandardScaler())]), ["age", "fare"]),
        ("age_fare_2", many_to_one, ["age", "fare"]),
        ("age_fare_3", many_to_many, ["age", "fare"]),
        ("embarked", Pipeline(steps=[("imputer", SimpleImputer(strategy="constant", fill_value="missing")),
                                     ("encoder", OneHotEncoder(sparse_output=False))]), ["embarked"]),
        ("sex_pclass", OneHotEncoder(sparse_output=False), ["sex", "pclass"]),
    ])
    clf = Pipeline(steps=[("preprocessor", transformations),
                          ("classifier", LogisticRegression(solver="lbfgs", max_iter=2000))])
    model = clf.fit(x_train, y_train)
    return x_train, x_test, y_test, transformations, clf, model


def test_advanced_feature_transformations_tabular(titanic):
    x_train, x_test, _, transformations, clf, model = titanic
    explainer = TabularExplainer(clf.steps[-1][1], initialization_examples=x_train, features=x_train.columns,
                                 transformations=transformations, allow_all_transformations=True)
    global_explanation = explainer.explain_global(x_test)
    features = list(x_train.columns)
    assert global_explanation.features == features
    assert_global_ranking(global_explanation, features)
    local = np.asarray(global_explanation.local_importance_values)
    assert local.shape == (2, len(x_test), len(features))
    # many-to-many importances are split among their raw columns, so raw values still add up to the model output
    # the explainer explains (LogisticRegression: log-odds per class)
    margin = clf.steps[-1][1].decision_function(transformations.transform(x_test))
    total = local.sum(axis=2).T + np.asarray(global_explanation.expected_values)
    np.testing.assert_allclose(total[:, 1], margin, atol=1e-6)

    instance_num = 1
    local_explanation = explainer.explain_local(x_test[:instance_num])
    prediction_value = clf.predict(x_test)[instance_num]
    names = local_explanation.get_ranked_local_names()[prediction_value]
    values = local_explanation.get_ranked_local_values()[prediction_value]
    assert np.asarray(names).shape == (1, len(features))
    assert_ranking_consistent(names, values, features,
                              np.asarray(local_explanation.local_importance_values)[prediction_value])


def test_advanced_feature_transformations_mimic_and_pfi(titanic):
    x_train, x_test, y_test, transformations, clf, _ = titanic
    features = list(x_train.columns)
    mimic = MimicExplainer(clf.steps[-1][1], x_train, LGBMExplainableModel, augment_data=True,
                           max_num_of_augmentations=10, features=x_train.columns,
                           transformations=transformations, allow_all_transformations=True)
    explanation = mimic.explain_global(x_test)
    assert explanation.features == features
    assert np.asarray(explanation.local_importance_values).shape == (2, len(x_test), len(features))
    # the notebook's commented PFI line omits allow_all_transformations; the SDK's DataMapper refused many-to-many
    # maps without it (its own PFI tests pass the flag), and so does pellucid
    pfi = PFIExplainer(clf.steps[-1][1], features=x_train.columns, transformations=transformations,
                       allow_all_transformations=True)
    assert_global_ranking(pfi.explain_global(x_test, true_labels=y_test), features)
