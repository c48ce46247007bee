"""TabularExplainer: the meta explainer that picks a direct explainer for a tabular model.

It walks an ordered registry — tree, then deep, then linear, then kernel — and uses the first explainer whose
``supports(model)`` says yes, recording its choice in every explanation's meta. For Kernel SHAP it summarises a
large background with weighted k-means; for global explanations it can sample the evaluation data
(``SamplingPolicy``) and explains in bounded batches.

Examples
--------
>>> from sklearn.datasets import load_breast_cancer
>>> from sklearn.linear_model import LogisticRegression
>>> X, y = load_breast_cancer(return_X_y=True)
>>> explainer = TabularExplainer(LogisticRegression(max_iter=5000).fit(X, y), X)
>>> explainer.explainer_name
'LinearExplainer'
"""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from pellucid._progress import explain_in_blocks
from pellucid.common.constants import ShapValuesOutput
from pellucid.data import as_dataset, sample_rows
from pellucid.errors import ArgumentError, ModelInterfaceError, TransformationError
from pellucid.explainers._probability_output import read_shap_values_output
from pellucid.explainers.base import BaseExplainer, backend_module
from pellucid.explainers.registry import AUTO_ORDER
from pellucid.explanation import Explanation

__all__ = ["TabularExplainer", "SamplingPolicy", "EXPLAINER_ORDER"]

logger = logging.getLogger(__name__)

#: The direct explainers in the order TabularExplainer tries them (declared in pellucid.explainers.registry).
EXPLAINER_ORDER: tuple[type[BaseExplainer], ...] = AUTO_ORDER


@dataclass
class SamplingPolicy:
    """How TabularExplainer may sample evaluation data for a global explanation.

    Parameters
    ----------
    allow_eval_sampling : bool, default False
        Sample the evaluation rows when there are more than ``max_rows``.
    max_rows : int, default 1000
        Rows kept when sampling.
    seed : int, default 0
        Random seed of the sample.
    """

    allow_eval_sampling: bool = False
    max_rows: int = 1000
    seed: int = 0


def _registry() -> list[type[BaseExplainer]]:
    return list(EXPLAINER_ORDER)


class TabularExplainer:
    """Explain a tabular model with the best direct explainer for it.

    Parameters
    ----------
    model : object or callable
        A model with ``predict``/``predict_proba``, a Pipeline, a tree ensemble, a torch module or a function.
    initialization_examples : array-like of shape (n_rows, n_features)
        Background data (numpy, pandas, scipy.sparse or DenseData-like).
    explain_subset : list of int, optional
        Feature indices to keep in the explanations (all features are still used to compute them).
    features : list of str, optional
        Feature names.
    classes : list, optional
        Class labels, one per model output.
    transformations : optional
        Feature transformations (raw -> engineered), passed to the chosen explainer.
    allow_all_transformations : bool, default False
        Allow many-to-one transformations (importance shared equally), passed on when given.
    model_task : {"unknown", "classification", "regression"}
        The model's task.
    use_gpu : bool, default False
        Use a GPU where the chosen explainer can (the deep explainer); other explainers note it has no effect.
    shap_values_output : ShapValuesOutput or str, default ShapValuesOutput.DEFAULT
        The SDK's option, passed to an explainer that takes it (TreeExplainer). ``PROBABILITY`` is also accepted
        when the chosen explainer already explains probabilities (or a regressor); otherwise it raises
        ArgumentError rather than return values in another space than asked.
    **kwargs
        Options of the chosen explainer (e.g. ``nclusters``, ``nsamples`` for Kernel SHAP). An option the chosen
        explainer does not take raises ArgumentError.

    Attributes
    ----------
    explainer : BaseExplainer
        The direct explainer in use.
    explainer_name : str
        Its class name.
    """

    def __init__(
        self,
        model: Any,
        initialization_examples: Any,
        explain_subset: list[int] | None = None,
        features: list[str] | None = None,
        classes: list[Any] | None = None,
        transformations: Any = None,
        allow_all_transformations: bool = False,
        model_task: str = "unknown",
        use_gpu: bool = False,
        shap_values_output: ShapValuesOutput | str = ShapValuesOutput.DEFAULT,
        **kwargs: Any,
    ) -> None:
        self.shap_values_output = read_shap_values_output(
            shap_values_output, (ShapValuesOutput.DEFAULT, ShapValuesOutput.PROBABILITY)
        )
        self.model = model
        self.explain_subset = None if explain_subset is None else [int(i) for i in explain_subset]
        self.use_gpu = use_gpu
        self._notes: list[str] = []
        common = {"features": features, "classes": classes, "model_task": model_task}
        if transformations is not None:
            common["transformations"] = transformations
        if allow_all_transformations:
            common["allow_all_transformations"] = True
        registry = _registry()
        chosen = None
        if transformations is None and _is_pipeline(model):
            chosen = self._pipeline_path(model, initialization_examples, registry, common, kwargs)
        tried = []
        if chosen is None:
            for explainer_class in registry:
                if not explainer_class.supports(model):
                    tried.append(explainer_class.__name__)
                    continue
                chosen = self._construct(
                    explainer_class, model, initialization_examples, common, self._options(explainer_class, kwargs)
                )
                break
            else:
                raise ModelInterfaceError(
                    f"no explainer supports {type(model).__name__}; tried {', '.join(tried)}. The model needs "
                    "predict or predict_proba, or must be a callable function"
                )
        self.explainer = chosen
        self.explainer_name = type(self.explainer).__name__
        self._check_shap_values_output()
        self._notes.append(
            f"TabularExplainer chose {self.explainer_name}"
            + (f" (not supported by {', '.join(tried)})" if tried else "")
        )
        logger.info(self._notes[-1])
        self.features = self.explainer.features
        if self.explain_subset is not None and self.features is not None:
            bad = [i for i in self.explain_subset if not 0 <= i < len(self.features)]
            if bad:
                raise ArgumentError(
                    f"explain_subset must hold feature indices in [0, {len(self.features)}); found {bad}"
                )

    def _options(self, explainer_class: type, kwargs: dict) -> dict:
        options = dict(kwargs)
        if "shap_values_output" in inspect.signature(explainer_class.__init__).parameters:
            options["shap_values_output"] = self.shap_values_output
        if "gpu" in explainer_class.capabilities:
            options["use_gpu"] = self.use_gpu
        elif self.use_gpu:
            self._notes.append(f"use_gpu=True has no effect on {explainer_class.__name__} (CPU only)")
        return options

    def _pipeline_path(
        self, model: Any, background: Any, registry: list[type[BaseExplainer]], common: dict, kwargs: dict
    ) -> BaseExplainer | None:
        """Explain a Pipeline's final estimator in engineered space with a fast explainer, reported in raw features.

        Returns None (explain the whole pipeline as a black box) when the pipeline cannot be split or only the
        model-agnostic kernel explainer supports its final estimator.
        """
        from pellucid.transformations import split_pipeline

        try:
            preprocessing, final = split_pipeline(model)
        except TransformationError as exc:
            self._notes.append(f"pipeline explained as a whole: its steps could not be split ({exc})")
            return None
        for explainer_class in registry:
            if "model_agnostic" in explainer_class.capabilities or not explainer_class.supports(final):
                continue
            explainer = self._construct(
                explainer_class, final, background, {**common, "transformations": preprocessing},
                self._options(explainer_class, kwargs),
            )
            self._notes.append(
                f"pipeline split: its final {type(final).__name__} explained by {explainer_class.__name__} in "
                "engineered features and reported in raw features (pass raw=False for engineered ones)"
            )
            return explainer
        return None

    def _check_shap_values_output(self) -> None:
        """PROBABILITY asked of an explainer that does not take it: fine only where it explains probabilities."""
        if self.shap_values_output is ShapValuesOutput.DEFAULT or hasattr(self.explainer, "shap_values_output"):
            return
        if self.explainer.output_space not in ("probability", "raw"):
            raise ArgumentError(
                f"shap_values_output=probability: the chosen {self.explainer_name} explains "
                f"{self.explainer.output_space!r} values and cannot rescale them to probabilities; use "
                "KernelExplainer (probabilities natively) or MimicExplainer(..., shap_values_output=...)"
            )
        self._notes.append(f"shap_values_output=probability: {self.explainer_name} explains "
                           f"{self.explainer.output_space!r} values already")

    @staticmethod
    def _construct(explainer_class: type, model: Any, background: Any, common: dict, options: dict) -> BaseExplainer:
        try:
            return explainer_class(model, background, **common, **options)
        except TypeError as exc:
            if "unexpected keyword argument" in str(exc):
                raise ArgumentError(
                    f"{explainer_class.__name__} (chosen for {type(model).__name__}) does not take the option "
                    f"given: {exc}"
                ) from exc
            raise

    @property
    def classes(self) -> list | None:
        """Class labels of the explained model (None for a regressor)."""
        return self.explainer.classes

    # ------------------------------------------------------------------ explanations
    def explain_local(self, evaluation_examples: Any, **kwargs: Any) -> Explanation:
        """Explain each row with the chosen explainer.

        Parameters
        ----------
        evaluation_examples : array-like of shape (n_rows, n_features) or (n_features,)
            Rows to explain; a 1-D array is one row.
        **kwargs
            Options of the chosen explainer's ``explain_local``, e.g. ``raw``: with transformations (or a split
            Pipeline) the explanation is in raw features by default, as in the SDK; ``raw=False`` gives the
            engineered features.

        Returns
        -------
        Explanation
        """
        return self.finish_explanation(self.explainer.explain_local(evaluation_examples, **kwargs))

    def explain_global(
        self,
        evaluation_examples: Any = None,
        sampling_policy: SamplingPolicy | None = None,
        include_local: bool = True,
        batch_size: int = 100,
        progress: bool | None = None,
        **kwargs: Any,
    ) -> Explanation:
        """Explain the model overall, from the local explanations of ``evaluation_examples``.

        Parameters
        ----------
        evaluation_examples : array-like of shape (n_rows, n_features), optional
            Rows to explain; default the background data.
        sampling_policy : SamplingPolicy, optional
            Allows sampling the rows first (recorded in meta).
        include_local : bool, default True
            Keep the local values in the returned explanation.
        batch_size : int, default 100
            Rows explained per batch (bounds memory; a progress bar shows on long runs).
        **kwargs
            ``raw`` (raw features by default with transformations, as in the SDK; ``raw=False`` for engineered
            ones), ``backend`` and the backend's options.
        progress : bool, optional
            A progress bar over the batches: True always, False never; by default when the call is expected to
            take more than about 2 s and stderr is a terminal or the code runs in a notebook.

        Returns
        -------
        Explanation
        """
        if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size < 1:
            raise ArgumentError(f"batch_size must be a positive integer; found {batch_size!r}")
        backend = kwargs.pop("backend", "local")
        if backend != "local":  # a distributed backend explains partitions on its workers instead of batches here
            distributed = backend_module(backend, kwargs)
            if evaluation_examples is not None and sampling_policy is not None and sampling_policy.allow_eval_sampling:
                evaluation_examples, _ = distributed.sample_rows(
                    evaluation_examples, sampling_policy.max_rows, seed=sampling_policy.seed, client=kwargs.get("client")
                )
            keep_local = None if kwargs.get("output") is not None else include_local
            if progress is not None:
                kwargs["progress"] = progress
            return distributed.explain_global(self, evaluation_examples, include_local=keep_local, **kwargs)
        if evaluation_examples is None:
            return self.finish_explanation(
                self.explainer.explain_global(None, include_local=include_local, progress=progress, **kwargs)
            )
        rows = as_dataset(evaluation_examples, None, name="evaluation_examples")
        notes = []
        if sampling_policy is not None and sampling_policy.allow_eval_sampling:
            rows, _ = sample_rows(rows, sampling_policy.max_rows, seed=sampling_policy.seed)
            notes.extend(rows.notes)

        def explain(start: int, stop: int) -> Explanation:
            batch = rows.with_values(rows.values[start:stop])
            batch.notes = []
            return self.explainer.explain_local(batch, progress=False, **kwargs)

        parts = explain_in_blocks(rows.n_rows, explain, progress=progress, block_rows=int(batch_size),
                                  desc=f"explaining ({self.explainer_name})")
        explanation = Explanation.concatenate(parts) if len(parts) > 1 else parts[0]
        explanation.meta["notes"] = list(explanation.meta.get("notes", [])) + notes
        explanation.meta["scope"] = "global"
        explanation = self.finish_explanation(explanation)
        if include_local:
            return explanation
        return explanation.global_only()

    def finish_explanation(self, explanation: Explanation) -> Explanation:
        """What TabularExplainer adds to its direct explainer's explanation: its choice and notes in the meta, and
        ``explain_subset`` applied. The Dask backend calls it on the explanation it gathers.

        Parameters
        ----------
        explanation : Explanation
            An explanation made by :attr:`explainer`.

        Returns
        -------
        Explanation
        """
        explanation.meta["explainer"] = self.explainer_name
        explanation.meta["notes"] = self._notes + [
            n for n in explanation.meta.get("notes", []) if n not in self._notes
        ]
        if self.explain_subset is not None and explanation.local_values is not None:
            keep = self.explain_subset
            if explanation.is_raw:
                raise ArgumentError(
                    "explain_subset holds indices of the engineered features the model takes, and this explanation "
                    "is in raw features (the default with transformations); pass raw=False to keep the subset"
                )
            explanation.meta["notes"].append(
                f"explain_subset: kept {len(keep)} of {explanation.n_features} features; values of the others were "
                "computed and dropped, so the kept values do not sum to the model output"
            )
            explanation = explanation.replace(
                features=[explanation.features[i] for i in keep],
                local_values=explanation.local_values[:, keep, :],
                eval_data=None if explanation.eval_data is None else explanation.eval_data[:, keep],
                standard_errors=None if explanation.standard_errors is None else explanation.standard_errors[:, keep, :],
                meta=explanation.meta,
            )
        return explanation

    def __getattr__(self, name: str) -> Any:
        # Methods of the chosen explainer (e.g. create_scoring_explainer) are reachable from the meta explainer.
        if name == "explainer":
            raise AttributeError(name)
        try:
            return getattr(self.explainer, name)
        except AttributeError:
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}") from None


def _is_pipeline(model: Any) -> bool:
    return type(model).__name__ == "Pipeline" and hasattr(model, "steps")
