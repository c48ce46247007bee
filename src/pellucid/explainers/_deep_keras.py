"""Keras (TensorFlow) backend of DeepExplainer: forward passes, input gradients and DeepLIFT contributions.

Gradients come from ``tf.GradientTape.batch_jacobian``. DeepLIFT's rescale rule is computed for Sequential
models by replacing, per (row, reference) pair, the derivative of every elementwise activation with its secant
slope ``(f(u) - f(u_ref)) / (u - u_ref)`` (a stop-gradient construction); the input gradient of that network is
then DeepLIFT's multiplier, and multipliers times ``x - reference`` sum exactly to ``f(x) - f(reference)``.
Same interface as :class:`pellucid.explainers._deep_torch.TorchNetwork`; numpy float64 in and out.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from pellucid.errors import ArgumentError, DataShapeError, ModelInterfaceError, PellucidError, require

__all__ = ["KerasNetwork", "is_keras_model"]

_EPS = 1e-7
_FINAL_ACTIVATIONS = {"softmax": "softmax", "sigmoid": "sigmoid", "log_softmax": "log_softmax"}


def is_keras_model(model: Any) -> bool:
    """True for a Keras model (keras 3 or tf.keras); imports nothing new."""
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(model, keras.Model)


def _activation_name(function: Any) -> str | None:
    name = getattr(function, "__name__", None)
    return None if name is None else str(name)


class KerasNetwork:
    """A Keras model seen as a function from float64 rows to float64 outputs.

    Parameters
    ----------
    model : keras.Model
        Called with ``training=False``; takes (n_rows, n_features), returns (n_rows, n_outputs) or (n_rows,).
    n_features : int
    use_gpu : bool
        TensorFlow places work on a visible GPU by itself; without one a note says it ran on the CPU.
    method : str
        The explainer's method; ``"deeplift_shap"`` needs a Sequential model.
    """

    framework = "keras"

    def __init__(self, model: Any, n_features: int, *, use_gpu: bool, method: str) -> None:
        self._tf = require("tensorflow", "tensorflow")
        self._keras = require("keras", "tensorflow")
        self.notes: list[str] = []
        self.model = model
        self.n_features = n_features
        self.final_activation: str | None = None
        self._dtype = self._tf.as_dtype(getattr(model, "compute_dtype", None) or "float32")
        self._layers: list | None = list(model.layers) if isinstance(model, self._keras.Sequential) else None
        self._split_last = False
        if method == "deeplift_shap" and self._layers is None:
            raise ArgumentError(
                "deeplift_shap for Keras needs a keras.Sequential model (DeepLIFT's rescale rule is applied layer "
                f"by layer); found {type(model).__name__}. Use method='gradient_shap' or 'integrated_gradients'"
            )
        gpus = self._tf.config.list_logical_devices("GPU")
        self._device = "GPU:0" if use_gpu and gpus else "CPU:0"
        if use_gpu and not gpus:
            self.notes.append("use_gpu=True but TensorFlow finds no GPU: ran on the CPU")

    # ------------------------------------------------------------------ forward
    def _call(self, inputs: Any, *, secant_reference: Any = None) -> Any:
        tf = self._tf
        try:
            with tf.device(self._device):
                if self._layers is None:
                    output = self.model(inputs, training=False)
                else:
                    output = self._sequential(inputs, secant_reference)
        except PellucidError:
            raise
        except Exception as exc:  # Keras raises many types for a wrong input width
            expected = self._input_width()
            if expected is not None and expected != inputs.shape[1]:
                raise DataShapeError(
                    f"the model takes {expected} features; the data has {inputs.shape[1]} columns"
                ) from exc
            raise ModelInterfaceError(
                f"calling the model on a float tensor of shape {tuple(inputs.shape)} failed with "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if len(output.shape) == 1:
            output = tf.reshape(output, (-1, 1))
        if len(output.shape) != 2:
            raise ModelInterfaceError(
                "the model must return one value or one vector of outputs per row (1-D or 2-D); "
                f"found an output of shape {tuple(output.shape)}"
            )
        return output

    def _input_width(self) -> int | None:
        try:
            shape = self.model.inputs[0].shape
            return int(shape[-1]) if shape[-1] is not None else None
        except (AttributeError, IndexError, TypeError, ValueError):
            return None

    def _sequential(self, inputs: Any, reference: Any) -> Any:
        """Run the layers; with ``reference``, activations get their secant slope as derivative (DeepLIFT)."""
        tf = self._tf
        keras = self._keras
        hidden, hidden_ref = inputs, reference
        for position, layer in enumerate(self._layers):
            last = position == len(self._layers) - 1
            if isinstance(layer, keras.layers.Dense):
                pre = tf.matmul(hidden, layer.kernel) + (layer.bias if layer.use_bias else 0.0)
                pre_ref = None if reference is None else tf.matmul(hidden_ref, layer.kernel) + (
                    layer.bias if layer.use_bias else 0.0)
                activation = None if last and self._split_last else layer.activation
            elif isinstance(layer, keras.layers.Activation):
                if last and self._split_last:
                    break
                pre, pre_ref, activation = hidden, hidden_ref, layer.activation
            elif isinstance(layer, keras.layers.Softmax) and last and self._split_last:
                break
            else:
                hidden = layer(hidden, training=False)
                hidden_ref = None if reference is None else layer(hidden_ref, training=False)
                continue
            if activation is None or _activation_name(activation) == "linear":
                hidden, hidden_ref = pre, pre_ref
            elif reference is None:
                hidden = activation(pre)
            else:
                hidden, hidden_ref = self._secant(activation, pre, pre_ref)
        return hidden

    def _secant(self, activation: Any, pre: Any, pre_ref: Any) -> tuple[Any, Any]:
        tf = self._tf
        post, post_ref = activation(pre), activation(pre_ref)
        gap = tf.stop_gradient(pre - pre_ref)
        frozen = tf.stop_gradient(pre)
        with tf.GradientTape() as tape:
            tape.watch(frozen)
            value = activation(frozen)
        derivative = tape.gradient(value, frozen)
        small = tf.abs(gap) < _EPS
        slope = tf.stop_gradient(tf.where(small, derivative, (post - post_ref) / tf.where(small, 1.0, gap)))
        return tf.stop_gradient(post - slope * pre) + slope * pre, tf.stop_gradient(post_ref)

    def _tensor(self, values: np.ndarray) -> Any:
        return self._tf.constant(np.ascontiguousarray(values), dtype=self._dtype)

    def forward(self, values: np.ndarray) -> np.ndarray:
        """Network outputs, ndarray of shape (n_rows, n_net), float64."""
        return np.asarray(self._call(self._tensor(values)), dtype=np.float64)

    def split_final_activation(self, n_net: int) -> str | None:
        """Split a final softmax/sigmoid off a Sequential model (Dense activation or Activation/Softmax layer)."""
        if not self._layers:
            return None
        last = self._layers[-1]
        keras = self._keras
        if isinstance(last, keras.layers.Softmax):
            name = "softmax"
        elif isinstance(last, (keras.layers.Dense, keras.layers.Activation)):
            name = _FINAL_ACTIVATIONS.get(_activation_name(last.activation) or "")
        else:
            name = None
        if name is None or (name != "sigmoid" and n_net < 2):
            return None
        self._split_last = True
        self.final_activation = name
        return name

    # ------------------------------------------------------------------ checks and attributions
    def check_differentiable(self, probe: np.ndarray) -> None:
        """Raise ModelInterfaceError when the outputs do not depend differentiably on the inputs."""
        tf = self._tf
        inputs = self._tensor(probe)
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            output = self._call(inputs)
            total = tf.reduce_sum(tf.cast(output, self._dtype)) if output.dtype.is_floating else None
        gradient = None if total is None else tape.gradient(total, inputs)
        varies = bool(np.ptp(np.asarray(output, dtype=np.float64), axis=0).max() > 0)
        if gradient is None or (varies and not bool(np.abs(np.asarray(gradient)).max() > 0)):
            raise ModelInterfaceError(
                "the model's output has no usable gradient with respect to its input (the graph is cut, or a step "
                "function such as round or argmax is used); DeepExplainer needs a differentiable model; explain "
                "hard decisions with KernelExplainer instead"
            )

    def gradients(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Network outputs (n_points, n_net) and their input gradients (n_points, n_net, n_features)."""
        tf = self._tf
        inputs = self._tensor(points)
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            output = self._call(inputs)
        jacobian = tape.batch_jacobian(output, inputs)
        return np.asarray(output, dtype=np.float64), np.asarray(jacobian, dtype=np.float64)

    def deeplift(self, rows: np.ndarray, references: np.ndarray, n_net: int) -> np.ndarray:
        """DeepLIFT (rescale rule) contributions, ndarray of shape (n_pairs, n_features, n_net)."""
        tf = self._tf
        inputs, baselines = self._tensor(rows), self._tensor(references)
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            output = self._call(inputs, secant_reference=baselines)
        multipliers = np.asarray(tape.batch_jacobian(output, inputs), dtype=np.float64)  # (P, n_net, m)
        return np.swapaxes(multipliers, 1, 2) * (rows - references)[:, :, None]

    def describe_device(self) -> str:
        """``"CPU:0"`` or ``"GPU:0"``."""
        return self._device
