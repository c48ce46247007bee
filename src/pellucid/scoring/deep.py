"""DeepScoringExplainer: DeepLIFT SHAP / GradientShap / Integrated Gradients of a PyTorch network at inference.

The state is the network, the (weighted) background and the DeepExplainer's configuration
(:meth:`~pellucid.explainers.deep.DeepExplainer.to_state`). The network is saved without pickle:

* its weights (``state_dict``) as plain arrays in the ``.npz``;
* its architecture, for an ``nn.Sequential`` of standard ``torch.nn`` layers (Linear, activations, Dropout,
  BatchNorm1d, LayerNorm, Flatten, nested Sequential ...), as a JSON layer list rebuilt at load time.

Any other architecture is the user's own code: the artifact then records its class name, and loading needs an
instance of it (``ScoringExplainer.load(path, model=MyNet())``) into which the weights are loaded strictly; or,
with ``allow_pickle=True`` on both sides, the module is pickled.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from pellucid.data import as_dataset
from pellucid.errors import ArgumentError, ModelInterfaceError, UnsafeArtifactError, require
from pellucid.explanation import CLASSIFICATION
from pellucid.scoring.base import ScoringExplainer

__all__ = ["DeepScoringExplainer", "sequential_spec", "build_sequential"]

_WEIGHT_PREFIX = "torch_state/"
# DeepLIFT attaches hooks to the network's modules while it runs: one explanation at a time per process, so
# concurrent requests of a service never see each other's hooks (torch parallelises each pass itself).
_NETWORK_LOCK = threading.RLock()
# torch.nn layers a JSON architecture may name, with the attributes that are their constructor arguments.
_LAYERS: dict[str, tuple[str, ...]] = {
    "Linear": ("in_features", "out_features", "bias"),
    "ReLU": ("inplace",),
    "ReLU6": ("inplace",),
    "LeakyReLU": ("negative_slope", "inplace"),
    "ELU": ("alpha", "inplace"),
    "SELU": ("inplace",),
    "GELU": ("approximate",),
    "SiLU": ("inplace",),
    "Tanh": (),
    "Sigmoid": (),
    "Softplus": ("beta", "threshold"),
    "Identity": (),
    "Softmax": ("dim",),
    "LogSoftmax": ("dim",),
    "Dropout": ("p", "inplace"),
    "Flatten": ("start_dim", "end_dim"),
    "BatchNorm1d": ("num_features", "eps", "momentum", "affine", "track_running_stats"),
    "LayerNorm": ("normalized_shape", "eps", "elementwise_affine", "bias"),
}


def sequential_spec(model: Any) -> list[dict[str, Any]] | None:
    """A JSON layer list of an ``nn.Sequential`` of standard layers, or None when it has other parts."""
    torch = require("torch", "torch")
    if type(model) is not torch.nn.Sequential:
        return None
    layers = []
    for layer in model:
        name = type(layer).__name__
        if type(layer) is torch.nn.Sequential:
            inner = sequential_spec(layer)
            if inner is None:
                return None
            layers.append({"type": "Sequential", "layers": inner})
            continue
        if name not in _LAYERS or type(layer) is not getattr(torch.nn, name, None):
            return None
        arguments = {}
        for attribute in _LAYERS[name]:
            value = getattr(layer, attribute, None)
            if attribute == "bias" and name in ("Linear", "LayerNorm"):
                value = value is not None
            elif isinstance(value, tuple):
                value = list(value)
            if value is not None:
                arguments[attribute] = value
        layers.append({"type": name, "args": arguments})
    return layers


def build_sequential(spec: Any) -> Any:
    """The ``nn.Sequential`` a :func:`sequential_spec` describes (only the allowed torch.nn layers)."""
    torch = require("torch", "torch")
    if not isinstance(spec, list):
        raise UnsafeArtifactError(f"a network architecture must be a list of layers; found {type(spec).__name__}")
    layers = []
    for entry in spec:
        kind = entry.get("type") if isinstance(entry, dict) else None
        if kind == "Sequential":
            layers.append(build_sequential(entry.get("layers")))
            continue
        if kind not in _LAYERS:
            raise UnsafeArtifactError(f"the network architecture names a layer pellucid does not build: {kind!r}")
        arguments = entry.get("args") or {}
        if not isinstance(arguments, dict) or set(arguments) - set(_LAYERS[kind]):
            raise UnsafeArtifactError(f"the {kind} layer has unexpected arguments {arguments!r}")
        if not all(isinstance(v, (int, float, bool, str, list)) for v in arguments.values()):
            raise UnsafeArtifactError(f"the {kind} layer's arguments must be plain values; found {arguments!r}")
        layers.append(getattr(torch.nn, kind)(**arguments))
    return torch.nn.Sequential(*layers)


class DeepScoringExplainer(ScoringExplainer):
    """Scoring explainer for a fitted :class:`~pellucid.explainers.deep.DeepExplainer` of a PyTorch network.

    Parameters
    ----------
    explainer : DeepExplainer
        The fitted explainer (or a TabularExplainer that chose one).
    initialization_examples : array-like of shape (n_rows, n_features), optional
        Background rows to use instead of the explainer's (each costs one pass per explained row for DeepLIFT).
    """

    kind = "deep"
    _required_arrays = ("background", "background_weights")

    def __init__(self, explainer: Any, initialization_examples: Any = None) -> None:
        explainer = getattr(explainer, "explainer", explainer)  # TabularExplainer -> its direct explainer
        if getattr(explainer, "scoring_kind", None) != "deep" or not hasattr(explainer, "to_state"):
            raise ModelInterfaceError(
                f"DeepScoringExplainer needs a fitted DeepExplainer; found {type(explainer).__name__}"
            )
        if getattr(getattr(explainer, "_network", None), "framework", "torch") != "torch":
            raise ModelInterfaceError("DeepScoringExplainer stores PyTorch networks; this explainer holds a Keras model")
        state = explainer.to_state()
        self.config = dict(state["config"])
        self.background = np.asarray(state["background"], dtype=np.float64)
        self.background_weights = np.asarray(state["background_weights"], dtype=np.float64)
        self.model = explainer.model
        self.features = list(explainer.features)
        self.task, self.classes = explainer.task_and_classes()
        self.classes = None if self.classes is None else list(self.classes)
        self.output_space = explainer.output_space
        self.method = explainer.method
        self.notes = []
        self._adopt_transformations(explainer)
        self._deep: Any = explainer
        if initialization_examples is not None:
            given = as_dataset(initialization_examples, None, name="initialization_examples")
            self.background = self.prepare(initialization_examples).values
            self.background_weights = given.row_weights()
            self.notes.append(f"background taken from the {len(self.background)} rows given to the scoring explainer")
            self._deep = None

    # ------------------------------------------------------------------ the explainer behind it
    @property
    def deep_explainer(self) -> Any:
        """The DeepExplainer rebuilt from the stored state (built once, on first use)."""
        if self._deep is None:
            from pellucid.explainers.deep import DeepExplainer

            config = {**self.config, "features": list(self.features)}
            self._deep = DeepExplainer.from_state(
                self.model,
                {"config": config, "background": self.background, "background_weights": self.background_weights},
            )
        return self._deep

    @property
    def expected_values(self) -> np.ndarray:
        """Weighted mean explained output over the background, shape (n_outputs,)."""
        return np.asarray(self.deep_explainer.expected_values_, dtype=np.float64)

    def _probe_row(self) -> np.ndarray:
        return self.background[:1]

    def _local(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with _NETWORK_LOCK:
            explanation = self.deep_explainer.explain_local(values)
        return explanation.local_values, explanation.expected_values_array, explanation.model_output

    def _predict(self, values: np.ndarray) -> np.ndarray:
        deep = self.deep_explainer
        # one forward pass through the network and the explainer's output head: the explained outputs
        with _NETWORK_LOCK:
            outputs = deep._head.apply(deep._network.forward(values))
        return self._labels(outputs) if self.task == CLASSIFICATION else outputs[:, 0]

    # ------------------------------------------------------------------ saving
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        config = {k: v for k, v in self.config.items() if k not in ("features", "classes")}
        return {"config": config}, {"background": self.background, "background_weights": self.background_weights}

    def _model_parts(self, allow_pickle: bool) -> tuple[dict[str, Any], dict[str, np.ndarray], dict]:
        torch = require("torch", "torch")
        spec = sequential_spec(self.model)
        info: dict[str, Any] = {
            "library": "torch",
            "type": f"{type(self.model).__module__}.{type(self.model).__qualname__}",
            "torch_version": torch.__version__,
        }
        if spec is None and allow_pickle:
            return super()._model_parts(allow_pickle)
        arrays, dtypes = {}, {}
        for name, tensor in self.model.state_dict().items():
            tensor = tensor.detach().cpu()
            dtypes[name] = str(tensor.dtype).replace("torch.", "")
            if tensor.dtype == torch.bfloat16:  # numpy has no bfloat16: stored as float32, cast back on load
                tensor = tensor.float()
            arrays[_WEIGHT_PREFIX + name] = tensor.numpy()
        info.update({"format": "state_dict_arrays", "dtypes": dtypes, "architecture": spec})
        return {"model": info}, arrays, {}

    @classmethod
    def _check_restore(cls, state: dict[str, Any], model: Any) -> None:
        info = state.get("model") or {}
        if info.get("format") == "state_dict_arrays" and info.get("architecture") is None and model is None:
            name = str(info.get("type", "MyNet")).rsplit(".", 1)[-1]
            raise ArgumentError(
                f"this deep scoring explainer stores the weights of a {info.get('type')} network, whose architecture "
                f"is your own code: pass an instance of it to load, e.g. ScoringExplainer.load(path, model={name}())"
            )

    @classmethod
    def _restore(cls, header: dict[str, Any], state: dict[str, Any], arrays: dict[str, np.ndarray], model: Any):
        explainer = cls.__new__(cls)
        explainer.config = dict(state["config"])
        explainer.background = np.asarray(arrays["background"], dtype=np.float64)
        explainer.background_weights = np.asarray(arrays["background_weights"], dtype=np.float64)
        explainer.task, explainer.classes = header["task"], header["classes"]
        explainer.features, explainer.output_space = header["features"], header["output_space"]
        explainer.method, explainer.notes = header["method"], list(header["notes"])
        explainer.config["classes"] = explainer.classes
        info = state.get("model") or {}
        if info.get("format") == "state_dict_arrays":
            model = _network_from_arrays(info, arrays, model)
        elif model is None:
            raise ValueError("a deep scoring explainer needs its network; the artifact has none")
        explainer.model = model.eval()
        explainer._deep = None
        return explainer


def _network_from_arrays(info: dict[str, Any], arrays: dict[str, np.ndarray], given: Any) -> Any:
    torch = require("torch", "torch")
    spec = info.get("architecture")
    if spec is not None:
        network = build_sequential(spec)
    elif given is not None:
        network = given
    else:
        raise ValueError("the artifact has neither a network architecture nor weights for a given network")
    dtypes = info.get("dtypes") or {}
    state_dict = {}
    for name, dtype_name in dtypes.items():
        key = _WEIGHT_PREFIX + name
        if key not in arrays:
            raise ValueError(f"the weight {name!r} is missing from the arrays")
        dtype = getattr(torch, str(dtype_name), None)
        if not isinstance(dtype, torch.dtype):
            raise ValueError(f"unknown tensor dtype {dtype_name!r}")
        state_dict[name] = torch.from_numpy(np.array(arrays[key])).to(dtype)
    try:
        network.load_state_dict(state_dict, strict=True, assign=True)  # keeps the stored dtypes exactly
    except RuntimeError as exc:
        raise ValueError(f"the stored weights do not fit the network architecture: {exc}") from exc
    return network
