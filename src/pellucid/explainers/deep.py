"""DeepExplainer: SHAP values of neural networks from DeepLIFT or from input gradients.

Three methods, one design: each explained row ``x`` is paired with reference points drawn from the background
``R`` (weights ``w``), and per pair the features get contributions that are averaged with the pair weights.

* ``"deeplift_shap"`` (default): DeepLIFT's rescale rule between ``x`` and every background row, averaged with
  the background weights (the SHAP approximation of DeepLIFT). Per pair the contributions sum exactly to
  ``f(x) - f(r)`` (summation-to-delta), so the values sum exactly to ``f(x) - E_w[f(R)]``.
* ``"gradient_shap"``: expected gradients, ``E[(x - r) * grad f(r + a (x - r))]`` over background rows ``r``
  (drawn by weight) and ``a ~ U(0, 1)``; ``n_samples`` (default 200) pairs per row, the same stratified draw
  for every row (results do not depend on batching). Additive in expectation; standard errors are reported.
* ``"integrated_gradients"``: Integrated Gradients from every background row (weighted average), with
  ``n_samples`` (default 32) Gauss-Legendre nodes along each path. Additive up to the quadrature error.

For classifiers the explained output space is stated in ``meta["output_space"]``: ``"logit"``,
``"probability"`` (or ``"log_probability"`` for a model ending in LogSoftmax). An ``nn.Sequential`` ending in
``nn.Softmax``/``nn.LogSoftmax``/``nn.Sigmoid`` is split: DeepLIFT runs on its logits and the activation is carried
through exactly (secant rule for sigmoid, path-integrated Jacobian for softmax), so probabilities stay additive.
``meta["link"]`` names the map from explained values to the model's probabilities.

Reconstruction (for a ScoringExplainer): an explainer is fully determined by the model (the user's architecture
object with its ``state_dict`` loaded), the background and :meth:`DeepExplainer.to_state`'s JSON config;
:meth:`DeepExplainer.from_state` rebuilds it, and the rebuilt explainer returns identical values.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np

from pellucid.data import Dataset
from pellucid.errors import (
    ArgumentError,
    DataValueError,
    ModelInterfaceError,
    UnsupportedInputError,
    describe,
)
from pellucid.explainers._deep_heads import resolve_output
from pellucid.explainers.base import BaseExplainer, LocalResult
from pellucid.explanation import CLASSIFICATION, REGRESSION
from pellucid.model import TASKS

__all__ = ["DeepExplainer"]

logger = logging.getLogger(__name__)

METHODS = ("deeplift_shap", "gradient_shap", "integrated_gradients")
OUTPUTS = ("auto", "logit", "probability", "raw")
_DEFAULT_SAMPLES = {"gradient_shap": 200, "integrated_gradients": 32}
# One pass holds at most this many attribution values (pairs x features x outputs), bounding memory.
_PASS_ELEMENTS = 1 << 22
_PROBE_ROWS = 64
STATE_VERSION = 1


def _is_keras_model(model: Any) -> bool:
    from pellucid.explainers._deep_keras import is_keras_model

    return is_keras_model(model)


class DeepExplainer(BaseExplainer):
    """Explain a PyTorch (or Keras) neural network with DeepLiftShap, GradientShap or Integrated Gradients.

    Parameters
    ----------
    model : torch.nn.Module or keras.Model
        The network; one left in training mode is explained in evaluation mode, switched for each forward pass
        and restored afterwards (noted in meta). It takes a float tensor of shape
        (n_rows, n_features) and returns (n_rows, n_outputs) or (n_rows,): logits or probabilities of a
        classifier, or a regressor's prediction.
    initialization_examples : array-like of shape (n_background, n_features)
        Background rows (numeric numpy or pandas, optionally weighted, e.g. from :func:`pellucid.data.summarize`).
        The expected values are the mean explained output over them. Cost grows with their number
        (DeepLiftShap makes one pass per background row per explained row).
    features : list of str, optional
        Feature names.
    classes : list, optional
        Class labels, one per explained output (two for a binary classifier with one output).
    transformations : None
        Not supported by this explainer.
    method : {"deeplift_shap", "gradient_shap", "integrated_gradients"}, default "deeplift_shap"
    model_task : {"unknown", "classification", "regression"}, default "unknown"
        The task. With "unknown" it is inferred from the output width: 1 is regression, more is classification
        (recorded in the notes). A binary classifier with one output (logit or sigmoid) needs
        ``model_task="classification"``; it is explained as two outputs, class 0 getting the negated values.
    explain_subset : list of int, optional
        Keep only these features in the explanations (SDK argument; see :class:`BaseExplainer`).
    output : {"auto", "logit", "probability", "raw"}, default "auto"
        The output space to explain. "auto" explains what the model returns (logits, probabilities,
        log-probabilities for an nn.Sequential ending in LogSoftmax; "raw" for a regressor). "probability" on a model returning logits applies a softmax (sigmoid for one output).
        "logit" on an nn.Sequential ending in Softmax/Sigmoid explains the logits before it.
    n_samples : int, optional
        gradient_shap: (reference, position) samples per row, default 200. integrated_gradients: quadrature
        nodes per path, default 32. Not used by deeplift_shap (passing it raises ArgumentError).
    use_gpu : bool, default False
        Run on CUDA when torch finds a device (a copy of the model is moved there); otherwise a note says it
        ran on the CPU.
    batch_size : int, default 4096
        Most (row, reference) pairs per forward pass; lowered so one pass holds at most ~4M attribution values.
    seed : int, optional
        Seed of gradient_shap's draw (default 0). Not used by the other methods.

    Attributes
    ----------
    expected_values_ : ndarray of shape (n_outputs,)
        Weighted mean explained output over the background.
    output_space : str
        ``"logit"``, ``"probability"``, ``"log_probability"`` or ``"raw"``.
    link_ : str
        Map from explained values to the model's probabilities: "identity", "softmax", "sigmoid" or "exp".
    task_ : str
    classes_ : list or None

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)).eval()
    >>> explainer = DeepExplainer(net, np.random.default_rng(0).normal(size=(50, 3)))  # doctest: +SKIP
    >>> explainer.explain_local(np.ones((4, 3))).local_values.shape  # doctest: +SKIP
    (4, 3, 2)
    """

    # Random draws are made per call: a row's values depend on the rows explained with it.
    _rows_independent = False

    method: ClassVar[str] = "deeplift_shap"
    name = "deep"
    capabilities = frozenset({"local", "global", "distributed", "standard_errors", "gpu"})
    scoring_kind = "deep"

    def __init__(
        self,
        model: Any,
        initialization_examples: Any,
        features: list[str] | None = None,
        classes: list[Any] | None = None,
        transformations: Any = None,
        *,
        method: str = "deeplift_shap",
        model_task: str = "unknown",
        allow_all_transformations: bool = False,
        explain_subset: list[int] | None = None,
        output: str = "auto",
        n_samples: int | None = None,
        use_gpu: bool = False,
        batch_size: int = 4096,
        seed: int | None = None,
    ) -> None:
        _check_options(method, model_task, output, n_samples, batch_size, seed)
        if initialization_examples is None:
            raise ArgumentError(
                "DeepExplainer needs initialization_examples (background rows): the explained values are "
                "relative to the mean output over them; found None"
            )
        super().__init__(
            model, initialization_examples, features, classes, transformations, model_task=model_task,
            allow_all_transformations=allow_all_transformations, explain_subset=explain_subset,
        )
        self.method = method
        self.output = output
        self.n_samples = _DEFAULT_SAMPLES.get(method) if n_samples is None else int(n_samples)
        self.use_gpu = bool(use_gpu)
        self.batch_size = int(batch_size)
        self.seed = (0 if seed is None else int(seed)) if method == "gradient_shap" else None
        inherited_notes = len(self._notes)
        background = _numeric_values(self.background, "initialization_examples")
        self._weights = self.background.row_weights().astype(np.float64)
        self._network = self._make_network(model, background.shape[1])
        self._notes.extend(self._network.notes)
        self._network.check_differentiable(background[:_PROBE_ROWS])
        net_background = self._network.forward(background)
        n_net = net_background.shape[1]
        self.task_ = self._resolve_task(n_net)
        net_background = self._resolve_output(background, net_background)
        self._n_net = n_net
        self._background_values = background
        self._net_background = net_background
        self._background_outputs = self._head.apply(net_background)
        self.expected_values_ = self._weights @ self._background_outputs
        self.classes_ = self._resolve_classes(self._head.n_outputs(n_net))
        self.classes = self.classes_
        self._design = self._reference_design()
        for note in self._notes[inherited_notes:]:
            logger.info("DeepExplainer: %s", note)
        if self.background.n_rows > 1000 and method != "gradient_shap":
            logger.warning(
                "DeepExplainer: %d background rows make %s cost %d passes per explained row; summarise them "
                "(pellucid.data.summarize) to speed it up", self.background.n_rows, method, len(self._design[0])
            )

    # ------------------------------------------------------------------ setup helpers
    def _resolve_output(self, background: np.ndarray, net_background: np.ndarray) -> np.ndarray:
        """Set the head, the explained space and the link; returns the network's background outputs."""
        n_net, output = net_background.shape[1], self.output
        activation = None
        if self.task_ == CLASSIFICATION:
            activation = self._network.split_final_activation(n_net)
            if activation is not None:
                self._notes.append(
                    f"the model ends in {activation}: it was split off, the network's logits are attributed "
                    f"and the {activation} is carried through exactly"
                )
                net_background = self._network.forward(background)
        model_space = _detect_space(self.task_, net_background) if activation is None else "logit"
        if activation is None and n_net == 1 and output == "logit":
            model_space = "logit"  # one output in [0, 1] may be a logit: the user's word decides
        if activation is None and self.task_ == CLASSIFICATION and output == "auto":
            looks = "probabilities" if model_space == "probability" else "logits"
            self._notes.append(f"the model's outputs over the background look like {looks}: explained as such "
                               "(pass output= to state it)")
        try:
            self._head, self.output_space, self.link_ = resolve_output(
                self.task_, n_net, activation, model_space, output
            )
        except ValueError as exc:
            raise ArgumentError(str(exc)) from exc
        if self._head.name in ("softmax", "binary_sigmoid") and activation is None:
            self._notes.append(f"probabilities computed from the model's logits with a {self._head.name} head")
        return net_background

    @classmethod
    def supports(cls, model: Any) -> bool:
        """True for a ``torch.nn.Module`` and, when tensorflow is installed, a Keras model."""
        from pellucid.explainers._deep_torch import is_torch_module

        return is_torch_module(model) or _is_keras_model(model)

    def _make_network(self, model: Any, n_features: int) -> Any:
        from pellucid.explainers._deep_torch import TorchNetwork, is_torch_module

        if is_torch_module(model):
            return TorchNetwork(model, n_features, use_gpu=self.use_gpu)
        if _is_keras_model(model):
            from pellucid.explainers._deep_keras import KerasNetwork

            return KerasNetwork(model, n_features, use_gpu=self.use_gpu, method=self.method)
        raise ModelInterfaceError(
            "DeepExplainer explains a torch.nn.Module (or a Keras model with tensorflow installed); found "
            f"{describe(model)}. Use TabularExplainer or KernelExplainer for other models"
        )

    def _resolve_task(self, n_net: int) -> str:
        if self.model_task != "unknown":
            if self.model_task == REGRESSION and n_net != 1:
                raise ModelInterfaceError(
                    f"a regressor must return one output per row; the model returns {n_net} "
                    "(multi-output regression is not supported: explain one output at a time)"
                )
            return self.model_task
        if n_net == 1 and self.classes is not None:
            raise ArgumentError(
                f"classes {self.classes!r} were given but the model returns one output per row and "
                "model_task='unknown' reads that as regression; pass model_task='classification' for a binary "
                "classifier with one output (logit or sigmoid)"
            )
        task = REGRESSION if n_net == 1 else CLASSIFICATION
        self._notes.append(
            f"model_task inferred as {task!r} from the model's output width {n_net}; pass model_task to state it"
        )
        return task

    def _resolve_classes(self, n_outputs: int) -> list | None:
        if self.task_ == REGRESSION:
            if self.classes is not None:
                raise ArgumentError(f"a regressor has no classes; found classes={self.classes!r}")
            return None
        if self.classes is None:
            return list(range(n_outputs))
        if len(self.classes) != n_outputs:
            raise ArgumentError(
                f"classes lists {len(self.classes)} labels but the explained model has {n_outputs} class outputs; "
                "pass one label per class"
            )
        return list(self.classes)

    def _reference_design(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per explained row: background index, path position and weight of each (row, reference) pair."""
        n_background = self._background_values.shape[0]
        if self.method == "deeplift_shap":
            return np.arange(n_background), np.ones(n_background), self._weights
        if self.method == "integrated_gradients":
            nodes, node_weights = np.polynomial.legendre.leggauss(self.n_samples)
            index = np.repeat(np.arange(n_background), self.n_samples)
            positions = np.tile((nodes + 1.0) / 2.0, n_background)
            return index, positions, np.repeat(self._weights, self.n_samples) * np.tile(node_weights / 2.0, n_background)
        # gradient_shap: systematic draw of references by weight, stratified positions, paired at random
        rng = np.random.default_rng(self.seed)
        count = self.n_samples
        cumulative = np.cumsum(self._weights)
        cumulative[-1] = 1.0
        index = np.searchsorted(cumulative, (np.arange(count) + rng.uniform()) / count, side="right")
        positions = (rng.permutation(count) + rng.uniform(size=count)) / count
        return np.minimum(index, n_background - 1), positions, np.full(count, 1.0 / count)

    # ------------------------------------------------------------------ explaining
    def _task_and_classes(self) -> tuple[str, list | None]:
        return self.task_, self.classes_

    def _parameters(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "output": self.output,
            "n_samples": self.n_samples,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "use_gpu": self.use_gpu,
            "background_rows": int(self._background_values.shape[0]),
        }

    def _explain_rows(self, rows: Dataset) -> LocalResult:
        values = _numeric_values(rows, "evaluation_examples")
        net_rows = self._network.forward(values)
        outputs = self._head.apply(net_rows)
        local, squares = self._attribute(values, net_rows)
        standard_errors = None
        if self.method == "gradient_shap":
            count = self.n_samples
            variance = np.maximum(squares - local**2, 0.0) * count / max(count - 1, 1)
            standard_errors = np.sqrt(variance / count)
        residual = local.sum(axis=1) - (outputs - self.expected_values_)
        delta = float(np.abs(residual).max()) if residual.size else 0.0
        scale = float(np.abs(outputs - self.expected_values_).max()) if residual.size else 0.0
        return LocalResult(
            values=local,
            expected_values=self.expected_values_,
            model_output=outputs,
            standard_errors=standard_errors,
            meta={
                "link": self.link_,
                "framework": self._network.framework,
                "device": self._network.describe_device(),
                "convergence_delta": delta,
                "notes": [self._exactness_note(delta, scale)],
            },
        )

    def _exactness_note(self, delta: float, scale: float) -> str:
        measured = f"largest |sum of values + expected value - output| over the rows: {delta:.3g} " \
                   f"(largest |output - expected value|: {scale:.3g})"
        if self.method == "deeplift_shap":
            if delta <= 1e-3 * max(scale, 1.0):
                return ("deeplift_shap is additive by construction (DeepLIFT summation-to-delta per background row, "
                        f"averaged with the background weights); {measured}, i.e. floating-point rounding")
            note = (f"deeplift_shap should be additive by construction but is not here: {measured}. The network "
                    "applies non-linearities DeepLIFT does not see (functional calls such as torch.relu or "
                    "F.softmax inside forward, or unsupported modules), which get gradient x input instead; "
                    "define them as nn.Module layers (nn.ReLU, nn.Sigmoid ...) for exact values")
            logger.warning(note)
            return note
        if self.method == "gradient_shap":
            return (f"gradient_shap (expected gradients) is additive only in expectation over its {self.n_samples} "
                    f"samples per row; {measured} (the convergence delta). Raise n_samples to shrink it; "
                    "standard_errors hold each value's (conservative) Monte Carlo standard error")
        return (f"integrated_gradients is additive up to the error of its {self.n_samples}-node quadrature of each "
                f"path; {measured} (the convergence delta). Raise n_samples to shrink it")

    def _attribute(self, values: np.ndarray, net_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weighted mean (and mean square) over each row's pairs of the per-pair contributions."""
        n_rows, n_features = values.shape
        index, positions, weights = self._design
        per_row = index.shape[0]
        n_outputs = self._head.n_outputs(self._n_net)
        pass_pairs = max(1, min(self.batch_size, _PASS_ELEMENTS // (n_features * max(self._n_net, n_outputs))))
        rows_per_chunk = max(1, pass_pairs // per_row)
        local = np.zeros((n_rows, n_features, n_outputs))
        squares = np.zeros_like(local) if self.method == "gradient_shap" else local
        references = self._background_values[index]
        for start in range(0, n_rows, rows_per_chunk):
            chunk = values[start : start + rows_per_chunk]
            n_chunk = chunk.shape[0]
            pair_rows = np.repeat(np.arange(n_chunk), per_row)
            for first in range(0, n_chunk * per_row, pass_pairs):
                pairs = slice(first, min(first + pass_pairs, n_chunk * per_row))
                owner = pair_rows[pairs]
                design = np.arange(pairs.start, pairs.stop) % per_row
                rows_here = chunk[owner]
                refs_here = references[design]
                if self.method == "deeplift_shap":
                    contributions = self._deeplift_pairs(rows_here, refs_here, net_rows[start + owner], index[design])
                else:
                    contributions = self._gradient_pairs(rows_here, refs_here, positions[design])
                weighted = contributions * weights[design][:, None, None]
                bounds = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
                targets = start + owner[bounds]
                local[targets] += np.add.reduceat(weighted, bounds, axis=0)
                if self.method == "gradient_shap":
                    squares[targets] += np.add.reduceat(weighted * contributions, bounds, axis=0)
        return local, squares

    def _deeplift_pairs(
        self, rows: np.ndarray, references: np.ndarray, net_rows: np.ndarray, background_index: np.ndarray
    ) -> np.ndarray:
        contributions = self._network.deeplift(rows, references, self._n_net)
        if self._head.name == "identity":
            return contributions
        multipliers = self._head.multipliers(net_rows, self._net_background[background_index])
        return np.einsum("pik,pjk->pij", contributions, multipliers)

    def _gradient_pairs(self, rows: np.ndarray, references: np.ndarray, positions: np.ndarray) -> np.ndarray:
        differences = rows - references
        net_points, jacobian = self._network.gradients(references + positions[:, None] * differences)
        if self._head.name != "identity":
            jacobian = np.einsum("pjl,pli->pji", self._head.jacobian(net_points), jacobian)
        return np.swapaxes(jacobian, 1, 2) * differences[:, :, None]

    # ------------------------------------------------------------------ reconstruction
    def to_state(self) -> dict[str, Any]:
        """What rebuilds this explainer besides the model: a JSON config and the background arrays.

        Returns
        -------
        dict
            ``{"config": dict (JSON-serialisable), "background": ndarray of shape (n_background, n_features),
            "background_weights": ndarray of shape (n_background,)}``. Save the model's ``state_dict`` (e.g. with
            ``torch.save(model.state_dict(), path)`` and load it with ``torch.load(path, weights_only=True)``)
            beside them; :meth:`from_state` rebuilds an identical explainer from the three.
        """
        config = {
            "state_version": STATE_VERSION,
            "method": self.method,
            "model_task": self.task_,
            "output": self.output_space,
            "n_samples": self.n_samples if self.method != "deeplift_shap" else None,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "use_gpu": self.use_gpu,
            "features": list(self.features),
            "classes": None if self.classes_ is None else list(self.classes_),
        }
        return {
            "config": config,
            "background": self._background_values.copy(),
            "background_weights": self._weights.copy(),
        }

    @classmethod
    def from_state(cls, model: Any, state: dict[str, Any], *, state_dict: Any = None) -> DeepExplainer:
        """Rebuild an explainer from :meth:`to_state`'s output and the model.

        Parameters
        ----------
        model : torch.nn.Module or keras.Model
            The architecture object. With ``state_dict`` given, it is loaded into ``model`` (strictly) and the
            model is put in evaluation mode.
        state : dict
            :meth:`to_state`'s output (the config may have gone through JSON).
        state_dict : mapping, optional
            Weights for a PyTorch ``model``.

        Returns
        -------
        DeepExplainer
        """
        if not isinstance(state, dict) or "config" not in state or "background" not in state:
            raise ArgumentError(
                "state must be DeepExplainer.to_state()'s dict with 'config' and 'background'; found "
                + describe(state)
            )
        config = dict(state["config"])
        version = config.pop("state_version", None)
        if version != STATE_VERSION:
            raise ArgumentError(f"state_version {version!r} is not {STATE_VERSION}, the version this pellucid reads")
        if state_dict is not None:
            model.load_state_dict(state_dict, strict=True)
            model.eval()
        weights = state.get("background_weights")
        background = Dataset(
            values=np.asarray(state["background"], dtype=np.float64),
            feature_names=list(config.pop("features")),
            weights=None if weights is None else np.asarray(weights, dtype=np.float64),
        )
        return cls(model, background, classes=config.pop("classes"), **config)


# ---------------------------------------------------------------------- module helpers
def _check_options(
    method: str, model_task: str, output: str, n_samples: int | None, batch_size: int, seed: int | None
) -> None:
    if method not in METHODS:
        raise ArgumentError(f"method must be one of {METHODS}; found {method!r}")
    if model_task not in TASKS:
        raise ArgumentError(f"model_task must be one of {TASKS}; found {model_task!r}")
    if output not in OUTPUTS and output != "log_probability":
        raise ArgumentError(f"output must be one of {OUTPUTS}; found {output!r}")
    if n_samples is not None:
        if method == "deeplift_shap":
            raise ArgumentError(
                "n_samples sets gradient_shap's samples or integrated_gradients' quadrature nodes; deeplift_shap "
                f"uses every background row and takes none; found n_samples={n_samples!r}"
            )
        if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 2:
            raise ArgumentError(f"n_samples must be an integer >= 2; found {n_samples!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ArgumentError(f"batch_size must be a positive integer; found {batch_size!r}")
    if seed is not None:
        if method != "gradient_shap":
            raise ArgumentError(f"seed sets gradient_shap's draw; {method} is deterministic; found seed={seed!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ArgumentError(f"seed must be an integer; found {seed!r}")


def _numeric_values(dataset: Dataset, name: str) -> np.ndarray:
    if not dataset.is_numeric:
        raise UnsupportedInputError(
            f"DeepExplainer needs numeric {name}: a network takes a float tensor; found non-numeric columns "
            "(encode categorical features first, e.g. with sklearn.preprocessing.OneHotEncoder)"
        )
    bad = ~np.isfinite(dataset.values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataValueError(
            f"{name} must be finite for a network; found {int(bad.sum())} NaN/inf cells (first at row {row}, "
            f"feature {dataset.feature_names[col]!r}); impute them first (e.g. sklearn.impute.SimpleImputer)"
        )
    return dataset.values


def _detect_space(task: str, outputs: np.ndarray) -> str:
    """``"probability"`` when a classifier's outputs over the background look like probabilities, else ``"logit"``."""
    if task == REGRESSION:
        return "raw"
    inside = bool(((outputs >= -1e-6) & (outputs <= 1 + 1e-6)).all())
    if outputs.shape[1] == 1:
        return "probability" if inside else "logit"
    return "probability" if inside and bool(np.allclose(outputs.sum(axis=1), 1.0, atol=1e-4)) else "logit"
