"""Split a fitted sklearn Pipeline into its preprocessing and its final estimator.

TabularExplainer uses :func:`split_pipeline` when the model is a Pipeline such as
``Pipeline([("prep", ColumnTransformer(...)), ("gbm", GradientBoostingClassifier())])``: it explains the final
estimator in engineered space with a fast method (TreeSHAP on the GBM, exact linear SHAP on a linear model)
and reports raw features through the preprocessing, without the user passing ``transformations``::

    try:
        transformations, estimator = split_pipeline(model)
        explainer = DirectExplainer(estimator, initialization_examples, features, classes,
                                    transformations=transformations)   # may raise TransformationError
    except TransformationError:
        explainer = ...  # explain the whole pipeline as a black box on raw rows

``explainer.explain_global(x)`` then returns raw-feature importances (the default with transformations). Building the explainer raises
TransformationError when the preprocessing mixes raw columns (e.g. a PCA over several columns).
"""

from __future__ import annotations

from typing import Any

from sklearn.pipeline import Pipeline

from pellucid.errors import ArgumentError, TransformationError, describe
from pellucid.transformations.dataframe_mapper import is_fitted

__all__ = ["split_pipeline", "pipeline_contains"]


def split_pipeline(pipeline: Any) -> tuple[Any, Any]:
    """The preprocessing and the final estimator of a fitted sklearn Pipeline.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        Fitted; its last step is the model (``predict`` / ``predict_proba``), the steps before it are
        transformers (a ColumnTransformer, a DataFrameMapper, scalers ...).

    Returns
    -------
    (transformations, final_estimator)
        ``transformations`` is the single preprocessing step, or ``pipeline[:-1]`` (a Pipeline sharing the
        fitted steps) when there are several. Both are the fitted objects, not copies.

    Raises
    ------
    ArgumentError
        When ``pipeline`` is not an sklearn Pipeline.
    TransformationError
        When it has no preprocessing step, a step before the last is not a transformer, the last step is not
        an estimator with predict/predict_proba, or it is not fitted.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> model = make_pipeline(StandardScaler(), LinearRegression()).fit(np.eye(3), [1.0, 2.0, 3.0])
    >>> prep, estimator = split_pipeline(model)
    >>> type(prep).__name__, type(estimator).__name__
    ('StandardScaler', 'LinearRegression')
    """
    if not isinstance(pipeline, Pipeline):
        raise ArgumentError(f"split_pipeline takes an sklearn Pipeline; found {describe(pipeline)}")
    steps = [(name, step) for name, step in pipeline.steps if step is not None and not _is_passthrough(step)]
    if len(steps) < 2:
        raise TransformationError(
            f"the Pipeline has {len(steps)} active step(s); splitting needs preprocessing steps followed by the model"
        )
    final_name, final = steps[-1]
    if not (hasattr(final, "predict") or hasattr(final, "predict_proba")):
        raise TransformationError(
            f"the Pipeline's last step {final_name!r} ({type(final).__name__}) is not a model with predict or "
            "predict_proba"
        )
    for name, step in steps[:-1]:
        if not hasattr(step, "transform"):
            raise TransformationError(
                f"the Pipeline's step {name!r} ({type(step).__name__}) comes before the model but has no transform()"
            )
    if not is_fitted(final) or not all(is_fitted(step) for _, step in steps[:-1]):
        raise TransformationError("the Pipeline is not fitted; fit it before explaining it")
    transformations = steps[0][1] if len(steps) == 2 else pipeline[:-1]
    return transformations, final


def _is_passthrough(step: Any) -> bool:
    return isinstance(step, str) and step == "passthrough"


def pipeline_contains(model: Any, transformations: Any) -> bool:
    """True when ``model`` is a Pipeline that already applies ``transformations`` (the user passed the whole
    pipeline as the model, where the final estimator is expected)."""
    if not isinstance(model, Pipeline) or transformations is None:
        return False
    for _, step in model.steps[:-1]:
        if step is transformations or getattr(step, "features", None) is transformations:
            return True
    return False
