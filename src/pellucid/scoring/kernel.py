"""KernelScoringExplainer: Kernel SHAP at inference time from the model, a small weighted background and options.

The saved state is the model (scikit-learn through skops, LightGBM text, XGBoost JSON, or a pickle the user
allows), the summarised background with its weights (``.npz``), the input format the model expects (array,
DataFrame columns and dtypes, sparse), and the Kernel SHAP options (``nsamples``, ``seed``, ``tolerance``,
``max_batch_rows``). At score time a :class:`~pellucid.explainers.kernel.KernelExplainer` is rebuilt from them
once and explains each batch in one call: every row of a batch shares the same coalitions.

Classifiers are explained in probability space, regressors in their raw output, as KernelExplainer does.
With the default ``nsamples="auto"`` and few features (``2**M - 2`` coalitions within the budget) the values
are exact; otherwise they are sampled with the saved seed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pellucid.data import NUMPY, PANDAS, SPARSE, Dataset, summarize
from pellucid.errors import ArgumentError, ModelInterfaceError
from pellucid.explanation import CLASSIFICATION
from pellucid.scoring.base import ScoringExplainer

__all__ = ["KernelScoringExplainer"]

_OPTIONS = ("nsamples", "seed", "max_batch_rows", "tolerance")
_DEFAULT_CLUSTERS = 10


class KernelScoringExplainer(ScoringExplainer):
    """Scoring explainer for a fitted :class:`~pellucid.explainers.kernel.KernelExplainer`.

    Parameters
    ----------
    explainer : KernelExplainer
        The fitted explainer (or a TabularExplainer that chose one).
    initialization_examples : array-like of shape (n_rows, n_features), optional
        A background to use instead of the explainer's; summarised with weighted k-means to the explainer's
        ``nclusters`` (10 when it kept its background whole) when it has more than ``10 x nclusters`` rows, as
        the explainer does (the old SDK's rule); used as given otherwise.
    """

    kind = "kernel"
    _required_arrays = ("background", "background_weights")

    def __init__(self, explainer: Any, initialization_examples: Any = None) -> None:
        explainer = getattr(explainer, "explainer", explainer)  # TabularExplainer -> its direct explainer
        if getattr(explainer, "scoring_kind", None) != "kernel" or getattr(explainer, "background", None) is None:
            raise ModelInterfaceError(
                f"KernelScoringExplainer needs a fitted KernelExplainer; found {type(explainer).__name__}"
            )
        self.notes = []
        background = explainer.background
        self.features = list(explainer.features)
        self.task, self.classes = explainer.task_and_classes()
        self._adopt_transformations(explainer)
        if initialization_examples is not None:
            rows = _like(background, self.prepare(initialization_examples).values)  # raw rows are transformed
            clusters = int(explainer.nclusters or _DEFAULT_CLUSTERS)
            background = summarize(rows, clusters, seed=explainer.seed) if rows.n_rows > 10 * clusters else rows
            self.notes.append(f"background taken from the {rows.n_rows} rows given to the scoring explainer")
            self.notes.extend(background.notes)
        if not background.is_numeric:
            raise ArgumentError(
                "KernelScoringExplainer stores a numeric background; this explainer's background has non-numeric "
                "columns. Encode them in a pipeline step the model applies, or explain the encoded features"
            )
        self.model = explainer.model
        self.background = background.with_values(background.values, weights=background.row_weights())
        self.options = {name: getattr(explainer, name) for name in _OPTIONS}
        self.classes = None if self.classes is None else list(self.classes)
        self.output_space = explainer.output_space
        self.method = explainer.method
        self._kernel: Any = None

    # ------------------------------------------------------------------ the explainer behind it
    @property
    def kernel_explainer(self) -> Any:
        """The KernelExplainer rebuilt from the stored state (built once, on first use)."""
        if self._kernel is None:
            from pellucid.explainers.kernel import KernelExplainer

            self._kernel = KernelExplainer(
                self.model, self.background, features=self.features, classes=self.classes,
                nclusters=None, model_task=self.task, **self.options,
            )
        return self._kernel

    @property
    def expected_values(self) -> np.ndarray:
        """Weighted mean model output over the background, shape (n_outputs,)."""
        return np.asarray(self.kernel_explainer.expected_values, dtype=np.float64)

    def _probe_row(self) -> np.ndarray:
        return self.background.values[:1]

    def _local(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rows = self.background.with_values(values)
        rows.notes = []
        explanation = self.kernel_explainer.explain_local(rows)
        return explanation.local_values, explanation.expected_values_array, explanation.model_output

    def _predict(self, values: np.ndarray) -> np.ndarray:
        if callable(getattr(self.model, "predict", None)):
            predicted = np.asarray(self.model.predict(self.background.to_model_input(values))).reshape(len(values))
            return self.as_explained_labels(predicted, getattr(self.model, "classes_", None))
        output = self.kernel_explainer._model.predict_output(values)  # a plain function: its own output
        return self._labels(output) if self.task == CLASSIFICATION else output[:, 0]

    # ------------------------------------------------------------------ saving
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        background = self.background
        template: dict[str, Any] = {"kind": background.kind, "sparse_format": background.sparse_format}
        if background.kind == PANDAS:
            columns = [_plain(c) for c in background.columns]
            if not all(isinstance(c, (str, int)) for c in columns):
                raise ArgumentError(f"DataFrame column labels must be str or int to be saved; found {columns!r}")
            template["columns"] = columns
            template["dtypes"] = [str(background.dtypes[c]) for c in background.columns]
        options = {k: (v if not isinstance(v, np.generic) else v.item()) for k, v in self.options.items()}
        state = {"options": options, "template": template, "background_feature_names": background.feature_names}
        return state, {"background": background.values, "background_weights": background.row_weights()}

    @classmethod
    def _restore(cls, header: dict[str, Any], state: dict[str, Any], arrays: dict[str, np.ndarray], model: Any):
        if model is None:
            raise ValueError("a kernel scoring explainer needs its stored model; the artifact has none")
        values = np.asarray(arrays["background"], dtype=np.float64)
        weights = np.asarray(arrays["background_weights"], dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != len(header["features"]) or weights.shape != (values.shape[0],):
            raise ValueError(f"background {values.shape} and weights {weights.shape} do not fit the features")
        template = state["template"]
        kind = template.get("kind", NUMPY)
        if kind not in (NUMPY, PANDAS, SPARSE, "dense_data"):
            raise ValueError(f"unknown input format {kind!r}")
        dtypes = None
        if kind == PANDAS:
            dtypes = {c: pd.api.types.pandas_dtype(d) for c, d in zip(template["columns"], template["dtypes"])}
            if not all(pd.api.types.is_numeric_dtype(d) for d in dtypes.values()):
                raise ValueError("the stored background dtypes must be numeric")
        explainer = cls.__new__(cls)
        explainer.background = Dataset(
            values=values, feature_names=list(state.get("background_feature_names") or header["features"]), kind=kind,
            columns=template.get("columns"), dtypes=dtypes, sparse_format=template.get("sparse_format"), weights=weights,
        )
        options = state.get("options", {})
        unknown = set(options) - set(_OPTIONS)
        if unknown:
            raise ValueError(f"unknown Kernel SHAP options {sorted(unknown)}")
        explainer.options = {name: options.get(name) for name in _OPTIONS}
        if explainer.options["nsamples"] is None:
            explainer.options["nsamples"] = "auto"
        if explainer.options["seed"] is None:
            explainer.options["seed"] = 0
        explainer.model = model
        explainer.task, explainer.classes = header["task"], header["classes"]
        explainer.features, explainer.output_space = header["features"], header["output_space"]
        explainer.method, explainer.notes = header["method"], list(header["notes"])
        explainer._kernel = None
        return explainer


def _like(template: Dataset, values: np.ndarray) -> Dataset:
    """Rows in the same input format as ``template`` (columns, dtypes), without its weights or notes."""
    rows = template.with_values(np.asarray(values), weights=None)
    rows.notes = []
    return rows


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
