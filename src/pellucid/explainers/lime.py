"""LIMEExplainer: local surrogate explanations of tabular models (LIME, Ribeiro et al. 2016).

For each explained row, LIME perturbs the data around it, asks the model for its output on every
perturbation, weights the perturbations by their closeness to the row, and fits a weighted ridge regression
on an interpretable representation of them. The ridge weights are the explanation.

The semantics follow the ``lime`` package's ``LimeTabularExplainer`` (defaults included):

* continuous features are cut at the training quartiles; a perturbation draws each feature's bin with its
  training frequency and a value inside the bin from the bin's truncated normal; the interpretable feature is
  1 when the perturbation falls in the row's bin ("same bin as the instance"), else 0;
* categorical features draw a value with its training frequency; the interpretable feature is "same value";
* the kernel weight is ``sqrt(exp(-d^2 / width^2))`` of the Euclidean distance ``d`` between interpretable
  representations, ``width = 0.75 * sqrt(n_features)`` by default;
* the surrogate is a ridge regression (alpha 1) with intercept; ``num_features`` keeps that many features
  per row and output, chosen like lime's ``"auto"`` (forward selection up to 6 features, else the highest
  ``|weight|`` of a first fit).

What differs is the arithmetic, which is batched: the perturbations of many rows go to the model in bounded
calls, and the ridge fits of all rows and outputs are solved together from weighted moments. In the default
discretised mode the perturbation distribution does not depend on the explained row, so by default one
neighbourhood is drawn per call and shared by every row (``shared_samples=True``): each row's estimate has
exactly the distribution of lime's, the model is called on ``num_samples - 1 + n_rows`` rows instead of
``n_rows * num_samples``, and rows are explained with common random numbers (their estimates are
correlated with each other, not with the truth). ``shared_samples=False`` draws
an independent neighbourhood per row.

Values are LIME weights, not additive attributions: they do not add up to the model output. In discretised
mode ``meta["intercepts"] + values.sum(axis=1)`` is the surrogate's prediction at the row
(``meta["local_predictions"]``). ``expected_values`` is the mean model output over the initialization
examples: LIME has no base value, and this is the reference point the explanation is read against.

Examples
--------
>>> from sklearn.datasets import load_iris
>>> from sklearn.linear_model import LogisticRegression
>>> X, y = load_iris(return_X_y=True)
>>> explainer = LIMEExplainer(LogisticRegression(max_iter=500).fit(X, y), X, num_samples=1000)
>>> explainer.explain_local(X[:2]).local_values.shape
(2, 4, 3)
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import numbers
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from threadpoolctl import ThreadpoolController

from pellucid.data import SPARSE, Dataset
from pellucid.errors import ArgumentError
from pellucid.explainers._lime_ridge import RidgeFit, fit_ridge, weighted_moments
from pellucid.explainers._lime_sampling import (
    CATEGORICAL,
    CONTINUOUS,
    DISCRETIZERS,
    NeighbourhoodSampler,
    Perturbations,
    check_categorical,
)
from pellucid.explainers.base import BaseExplainer, LocalResult
from pellucid.model import ModelWrapper, is_callable_model

__all__ = ["LIMEExplainer", "kernel_weights"]

logger = logging.getLogger(__name__)

#: Most feature cells handed to the model in one call, and most design cells held per batch of rows.
CELL_BUDGET = 1_000_000
FEATURE_SELECTIONS = ("auto", "forward_selection", "highest_weights", "none")
#: sparse_neighbourhoods="auto" perturbs only non-zero columns for sparse data wider than this.
SPARSE_AUTO_FEATURES = 1000


class LIMEExplainer(BaseExplainer):
    """Explain single predictions of any tabular model with LIME.

    Parameters
    ----------
    model : object or callable
        Classifier with ``predict_proba`` (explained in probabilities, every class), regressor with
        ``predict`` (raw output), a function or a torch module; models without ``predict_proba`` follow the old
        SDK's rules (:mod:`pellucid.model`).
    initialization_examples : array-like of shape (n_train, n_features)
        Training data (numpy, pandas with numeric and categorical columns, scipy.sparse or DenseData-like):
        its statistics define the perturbations. Row weights of a summarised background weight them.
    features : list of str, optional
        Feature names.
    classes : list, optional
        Class labels, one per model output. Given with a model that returns one value per row, raises
        :class:`~pellucid.errors.ProbabilitiesRequiredError` (a ``ValueError``, as in the old SDK).
    transformations : optional
        Fitted transformations (see :class:`~pellucid.explainers.base.BaseExplainer`).
    num_samples : int, default 5000
        Neighbourhood size per row, the row itself included.
    num_features : int, optional
        Features kept in each row's and output's surrogate; the others get 0. Default: all features.
    kernel_width : float, optional
        Width of the exponential kernel; default ``0.75 * sqrt(n_features)``.
    discretize_continuous : bool, default True
        Bin continuous features at training percentiles (True) or perturb them with normal noise and use
        their standardised values as interpretable features (False).
    discretizer : {"quartile", "decile"}, default "quartile"
        Percentiles cutting the bins.
    categorical_features : list of int or str, optional
        Features to treat as categorical (indices or names). Non-numeric columns always are.
    sample_around_instance : bool, default False
        With ``discretize_continuous=False``: centre the normal noise on the row instead of the mean.
    feature_selection : {"auto", "forward_selection", "highest_weights", "none"}, default "auto"
        How ``num_features`` features are chosen; "auto" is forward selection up to 6 features, else
        highest weights. Used only when ``num_features`` is below the number of features.
    shared_samples : bool, default True
        Draw one neighbourhood per call and share it between rows whenever its distribution does not depend
        on the row (everything but ``sample_around_instance`` with continuous features, and sparse
        neighbourhoods).
    sparse_neighbourhoods : {"auto", True, False}, default "auto"
        Perturb only each row's non-zero columns, as the old SDK's lime backend did for sparse data: the other
        columns stay 0 in every sample and get weight 0, the model gets the samples as CSR matrices, and memory
        grows with a row's non-zero count instead of the number of features. "auto": for scipy.sparse data with
        more than 1,000 features (e.g. hashed text features).
    seed : int, default 0
        Seed of the sampling; the same call gives the same values.
    model_task : {"unknown", "classification", "regression"}
        The model's task; inferred when "unknown".
    explain_subset : list of int, optional
        Keep only these features in the explanations (SDK argument; see :class:`BaseExplainer`).
    is_function : bool, default False
        ``model`` is a prediction function, called as ``model(rows)`` (SDK argument).

    Attributes
    ----------
    sampler_ : NeighbourhoodSampler or None
        The training statistics (bins, frequencies, means); None with sparse neighbourhoods, whose statistics
        are fitted on each row's non-zero columns.
    sparse_ : bool
        Whether sparse neighbourhoods are used.
    """

    # Random draws are made per call: a row's values depend on the rows explained with it.
    _rows_independent = False

    method: ClassVar[str] = "lime"
    name = "lime"
    capabilities = frozenset({"local", "global", "distributed", "model_agnostic"})
    classes_need_probabilities: ClassVar[bool] = True

    def __init__(
        self,
        model: Any,
        initialization_examples: Any,
        features: list[str] | None = None,
        classes: list[Any] | None = None,
        transformations: Any = None,
        *,
        num_samples: int = 5000,
        num_features: int | None = None,
        kernel_width: float | None = None,
        discretize_continuous: bool = True,
        discretizer: str = "quartile",
        categorical_features: list[int] | list[str] | None = None,
        sample_around_instance: bool = False,
        feature_selection: str = "auto",
        shared_samples: bool = True,
        sparse_neighbourhoods: bool | str = "auto",
        seed: int = 0,
        model_task: str = "unknown",
        allow_all_transformations: bool = False,
        explain_subset: list[int] | None = None,
        is_function: bool = False,
    ) -> None:
        if initialization_examples is None:
            raise ArgumentError(
                "LIMEExplainer needs initialization_examples (training data): its statistics define the "
                "perturbations; found None"
            )
        super().__init__(
            model, initialization_examples, features, classes, transformations, model_task=model_task,
            allow_all_transformations=allow_all_transformations, explain_subset=explain_subset,
            is_function=is_function,
        )
        _check_positive_int("num_samples", num_samples)
        if num_features is not None:
            _check_positive_int("num_features", num_features)
        if kernel_width is not None and (
            isinstance(kernel_width, bool) or not isinstance(kernel_width, numbers.Real) or not kernel_width > 0
        ):
            raise ArgumentError(f"kernel_width must be a positive number or None; found {kernel_width!r}")
        if discretizer not in DISCRETIZERS:
            raise ArgumentError(f"discretizer must be one of {tuple(DISCRETIZERS)}; found {discretizer!r}")
        if feature_selection not in FEATURE_SELECTIONS:
            raise ArgumentError(f"feature_selection must be one of {FEATURE_SELECTIONS}; found {feature_selection!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ArgumentError(f"seed must be an integer; found {seed!r}")
        self.num_samples = int(num_samples)
        self.num_features = None if num_features is None else int(num_features)
        self.discretize_continuous = bool(discretize_continuous)
        self.discretizer = discretizer
        self.sample_around_instance = bool(sample_around_instance)
        self.feature_selection = feature_selection
        self.shared_samples = bool(shared_samples)
        self.seed = int(seed)
        n_features = self.background.n_features
        self.kernel_width = float(kernel_width) if kernel_width is not None else 0.75 * float(np.sqrt(n_features))
        categorical = check_categorical(categorical_features, self.features)
        if sparse_neighbourhoods not in ("auto", True, False):
            raise ArgumentError(f"sparse_neighbourhoods must be 'auto', True or False; found {sparse_neighbourhoods!r}")
        if sparse_neighbourhoods == "auto":
            sparse_neighbourhoods = self.background.kind == SPARSE and n_features > SPARSE_AUTO_FEATURES
        self.sparse_ = bool(sparse_neighbourhoods)
        if self.sparse_:
            # Wide sparse data: each row's neighbourhood perturbs only the row's non-zero columns, with
            # statistics fitted on those columns when the row is explained (see _explain_sparse_rows).
            self.sampler_ = None
            self._categorical = categorical
            self.categorical_features = sorted(categorical)
        else:
            self.sampler_ = NeighbourhoodSampler.fit(
                self.background, categorical, discretize=self.discretize_continuous, discretizer=discretizer
            )
            self.categorical_features = sorted(np.flatnonzero(self.sampler_.kinds == CATEGORICAL).tolist())
        if self.sample_around_instance and not self._has_continuous():
            self._notes.append(
                "sample_around_instance has no effect here: no feature is perturbed with normal noise "
                "(binned features are drawn from their training bins; pass discretize_continuous=False)"
            )
        self._model: ModelWrapper = self._wrap_model(self.background)
        self.output_space = self._model.output_space
        self._expected_values: np.ndarray | None = None

    # ------------------------------------------------------------------ BaseExplainer hooks
    @classmethod
    def supports(cls, model: Any) -> bool:
        """LIME is model-agnostic: any model with predict/predict_proba, or a function."""
        return is_callable_model(model)

    def _parameters(self) -> dict[str, Any]:
        return {
            "num_samples": self.num_samples,
            "num_features": self.num_features,
            "kernel_width": self.kernel_width,
            "kernel": "sqrt(exp(-d**2 / kernel_width**2))",
            "discretize_continuous": self.discretize_continuous,
            "discretizer": self.discretizer if self.discretize_continuous else None,
            "categorical_features": [self.features[j] for j in self.categorical_features],
            "sample_around_instance": self.sample_around_instance,
            "feature_selection": self._selection_used(),
            "ridge_alpha": 1.0,
            "shared_samples": self._shares_samples(),
            "sparse_neighbourhoods": self.sparse_,
            "seed": self.seed,
        }

    def _explain_rows(self, rows: Dataset) -> LocalResult:
        rng = np.random.default_rng(self.seed)
        if self.sparse_:
            return self._explain_sparse_rows(rows, rng)
        codes, instance_design = self.sampler_.encode(rows.values, rows.feature_names)
        n_rows, n_features = rows.values.shape
        n_perturbed = self.num_samples - 1
        shared = self._shares_samples()
        notes = []
        if shared:
            neighbourhood = self.sampler_.draw((n_perturbed,), rng)
            perturbed = self.sampler_.model_values(neighbourhood)
            outputs = self._predict(np.concatenate([rows.values, perturbed]) if n_perturbed else rows.values)
            row_outputs, shared_outputs = outputs[:n_rows], outputs[n_rows:]
            note = (f"one neighbourhood of {n_perturbed} perturbations (seed {self.seed}) shared by the "
                    f"{n_rows} explained rows; pass shared_samples=False for one per row")
            notes.append(note)
            logger.info(note)
        else:
            row_outputs = self._predict(rows.values)
        chunk = max(1, CELL_BUDGET // (self.num_samples * n_features))
        fits = []
        for start in range(0, n_rows, chunk):
            part = slice(start, min(start + chunk, n_rows))
            if shared:
                perturbations = neighbourhood
                targets = np.broadcast_to(shared_outputs, (part.stop - start, *shared_outputs.shape))
            else:
                perturbations, targets = self._own_neighbourhoods(instance_design[part], rng)
            # Many small products (n_features x n_samples x n_features): one BLAS thread each is fastest and
            # does not oversubscribe a busy machine.
            with _blas_controller().limit(limits=1, user_api="blas"):
                fits.append(self._fit(perturbations, codes[part], instance_design[part],
                                      np.concatenate([row_outputs[part, None, :], targets], axis=1)))
        coefficients = np.concatenate([f.coefficients for f in fits])
        return LocalResult(
            values=coefficients,
            expected_values=self._expected(),
            model_output=row_outputs,
            meta={
                "values": ("LIME weights: ridge coefficients of the interpretable features (same bin / same "
                           "value as the row; standardised value for undiscretised continuous features); "
                           "not additive"),
                "expected_values": "mean model output over the initialization examples (LIME has no base value)",
                "intercepts": np.concatenate([f.intercepts for f in fits]),
                "local_predictions": np.concatenate([f.local_predictions for f in fits]),
                "scores": np.concatenate([f.scores for f in fits]),
                "bins": {self.features[j]: edges for j, edges in self.sampler_.edges.items()},
                "notes": notes,
            },
        )

    def _explain_sparse_rows(self, rows: Dataset, rng: np.random.Generator) -> LocalResult:
        """LIME on sparse data, as the old SDK's lime backend did it: perturb only each row's non-zero columns.

        The other columns keep the row's value (0) in every sample, so their interpretable features are constant
        and their weights exactly 0; leaving them out of the fit gives the same surrogate. Each row's samples go
        to the model as one CSR matrix holding ``num_samples - 1`` rows of the row's non-zero columns, so memory
        grows with the row's non-zero count, never with the number of features.
        """
        values = rows.values
        n_rows, n_features = values.shape
        row_outputs = self._predict(values)
        n_outputs = row_outputs.shape[1]
        coefficients = np.zeros((n_rows, n_features, n_outputs))
        intercepts, local_predictions, scores = (np.empty((n_rows, n_outputs)) for _ in range(3))
        n_perturbed = self.num_samples - 1
        perturbed_columns = []
        for i in range(n_rows):
            columns = np.flatnonzero(values[i] != 0)
            perturbed_columns.append(int(columns.size))
            if columns.size == 0:  # nothing to perturb: the surrogate is the constant row output
                intercepts[i] = local_predictions[i] = row_outputs[i]
                scores[i] = np.nan
                continue
            sampler = self._column_sampler(columns)
            codes, instance_design = sampler.encode(values[i:i + 1, columns], [rows.feature_names[j] for j in columns])
            perturbations = sampler.draw((1, n_perturbed), rng)
            offset = instance_design[:, None, :] if self._around_instance() else None
            sample_values = sampler.model_values(perturbations, offset)[0]  # (n_perturbed, n_columns)
            outputs = self._predict_sparse(sample_values, columns, n_features)
            targets = np.concatenate([row_outputs[i:i + 1], outputs])[None]
            with _blas_controller().limit(limits=1, user_api="blas"):
                fit = self._fit(perturbations, codes, instance_design, targets, sampler)
            coefficients[i, columns] = fit.coefficients[0]
            intercepts[i], local_predictions[i], scores[i] = fit.intercepts[0], fit.local_predictions[0], fit.scores[0]
        note = (f"sparse data: each row's {n_perturbed} perturbations vary only its non-zero columns "
                f"({min(perturbed_columns)}-{max(perturbed_columns)} of {n_features} per row), the others stay 0 "
                "and get weight 0 (as the old SDK's lime backend did); the model gets the samples as CSR matrices")
        logger.info(note)
        return LocalResult(
            values=coefficients,
            expected_values=self._expected(),
            model_output=row_outputs,
            meta={
                "values": ("LIME weights: ridge coefficients of the interpretable features of each row's non-zero "
                           "columns (0 for the columns the row does not use); not additive"),
                "expected_values": "mean model output over the initialization examples (LIME has no base value)",
                "intercepts": intercepts,
                "local_predictions": local_predictions,
                "scores": scores,
                "bins": {},
                "notes": [note],
            },
        )

    def _column_sampler(self, columns: np.ndarray) -> NeighbourhoodSampler:
        """Training statistics of some columns only (the non-zero columns of a sparse row)."""
        background = dataclasses.replace(
            self.background, values=self.background.values[:, columns],
            feature_names=[self.background.feature_names[j] for j in columns], notes=[],
        )
        position = {int(j): k for k, j in enumerate(columns)}
        categorical = {position[j] for j in self._categorical if j in position}
        return NeighbourhoodSampler.fit(
            background, categorical, discretize=self.discretize_continuous, discretizer=self.discretizer
        )

    def _predict_sparse(self, sample_values: np.ndarray, columns: np.ndarray, n_features: int) -> np.ndarray:
        """Model output for samples given on some columns (the rest 0), as CSR matrices of bounded size."""
        n_samples, n_columns = sample_values.shape
        step = max(1, CELL_BUDGET // max(n_columns, 1))
        parts = []
        for start in range(0, n_samples, step):
            block = sample_values[start:start + step]
            indptr = np.arange(block.shape[0] + 1) * n_columns
            matrix = sp.csr_matrix((block.ravel(), np.tile(columns, block.shape[0]), indptr),
                                   shape=(block.shape[0], n_features))
            matrix.eliminate_zeros()
            parts.append(self._model.predict_output(matrix))
        return np.concatenate(parts)

    # ------------------------------------------------------------------ helpers
    def _has_continuous(self) -> bool:
        if self.sampler_ is None:  # sparse: continuous unless discretised (categorical columns aside)
            return not self.discretize_continuous
        return bool((self.sampler_.kinds == CONTINUOUS).any())

    def _fit(
        self,
        perturbations: Perturbations,
        codes: np.ndarray,
        instance_design: np.ndarray,
        targets: np.ndarray,
        sampler: NeighbourhoodSampler | None = None,
    ) -> RidgeFit:
        """Kernel weights and ridge surrogates of a batch of rows.

        Parameters
        ----------
        perturbations : Perturbations
            Shared (n_samples - 1, n_features) or per-row (n_rows, n_samples - 1, n_features) samples.
        codes, instance_design : ndarray of shape (n_rows, n_features)
            The rows' codes and interpretable representation.
        targets : ndarray of shape (n_rows, n_samples, n_outputs)
            Model outputs, the row's own first.
        """
        sampler = self.sampler_ if sampler is None else sampler
        design = sampler.design(perturbations, codes, instance_design, around_instance=self._around_instance())
        distances_sq = ((design - instance_design[:, None, :]) ** 2).sum(axis=2)
        weights = kernel_weights(distances_sq, self.kernel_width)
        return fit_ridge(weighted_moments(design, weights, targets), instance_design, alpha=1.0,
                         num_features=self.num_features, selection=self._selection_used())

    def _around_instance(self) -> bool:
        return self.sample_around_instance and self._has_continuous()

    def _shares_samples(self) -> bool:
        return self.shared_samples and not self._around_instance() and not self.sparse_

    def _selection_used(self) -> str:
        if self.num_features is None or self.num_features >= len(self.features):
            return "none"
        if self.feature_selection == "auto":
            return "forward_selection" if self.num_features <= 6 else "highest_weights"
        return self.feature_selection

    def _own_neighbourhoods(
        self, instance_design: np.ndarray, rng: np.random.Generator
    ) -> tuple[Perturbations, np.ndarray]:
        """Independent perturbations for each row of a batch and the model's output on them."""
        n_rows, n_features = instance_design.shape
        n_perturbed = self.num_samples - 1
        perturbations = self.sampler_.draw((n_rows, n_perturbed), rng)
        offset = instance_design[:, None, :] if self._around_instance() else None
        values = self.sampler_.model_values(perturbations, offset)
        outputs = self._predict(values.reshape(n_rows * n_perturbed, n_features))
        return perturbations, outputs.reshape(n_rows, n_perturbed, -1)

    def _predict(self, values: np.ndarray) -> np.ndarray:
        """Model output for many rows, in calls of at most CELL_BUDGET cells."""
        step = max(1, CELL_BUDGET // max(values.shape[1], 1))
        if values.shape[0] <= step:
            return self._model.predict_output(values)
        return np.concatenate([self._model.predict_output(values[i:i + step])
                               for i in range(0, values.shape[0], step)])

    def _expected(self) -> np.ndarray:
        if self._expected_values is None:
            outputs = self._predict(self.background.values)
            self._expected_values = self.background.row_weights() @ outputs
        return self._expected_values


@functools.cache
def _blas_controller() -> ThreadpoolController:
    """The process's thread pools, inspected once (inspecting them costs milliseconds)."""
    return ThreadpoolController()


def kernel_weights(distances_sq: np.ndarray, width: float) -> np.ndarray:
    """lime's default kernel ``sqrt(exp(-d^2 / width^2))``, i.e. ``exp(-d^2 / (2 width^2))``.

    Parameters
    ----------
    distances_sq : ndarray
        Squared Euclidean distances between interpretable representations.
    width : float
        Kernel width.

    Returns
    -------
    ndarray of the same shape, in (0, 1].
    """
    return np.exp(-distances_sq / (2.0 * width**2))


def _check_positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ArgumentError(f"{name} must be a positive integer; found {value!r}")

