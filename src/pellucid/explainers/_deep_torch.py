"""PyTorch backend of DeepExplainer: forward passes, input gradients and DeepLIFT contributions.

Everything here takes and returns numpy arrays (float64) so the explainer's arithmetic is framework-free.
DeepLIFT's rescale rule comes from captum (``captum.attr.DeepLift``); the gradients are plain autograd.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np

from pellucid.errors import DataShapeError, ModelInterfaceError, PellucidError, require

__all__ = ["TorchNetwork", "is_torch_module"]

logger = logging.getLogger(__name__)

_ACTIVATION_NAMES = {"Softmax": "softmax", "LogSoftmax": "log_softmax", "Sigmoid": "sigmoid"}


def is_torch_module(model: Any) -> bool:
    """True for a ``torch.nn.Module``; never imports torch (a module object means torch is imported)."""
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


def _split_final_activation(model: Any) -> tuple[Any, str | None]:
    """``(network, activation)``: an nn.Sequential ending in Softmax/LogSoftmax/Sigmoid less that layer."""
    torch = require("torch", "torch")
    if not isinstance(model, torch.nn.Sequential) or len(model) < 2:
        return model, None
    last = model[-1]
    if isinstance(last, torch.nn.Sequential):
        inner, activation = _split_final_activation(last)
        if activation is None:
            return model, None
        return torch.nn.Sequential(*list(model)[:-1], inner), activation
    name = _ACTIVATION_NAMES.get(type(last).__name__)
    if name is None or type(last).__module__.split(".")[0] != "torch":
        return model, None
    if name != "sigmoid" and getattr(last, "dim", None) not in (None, 1, -1):
        return model, None
    return torch.nn.Sequential(*list(model)[:-1]), name


def _first_linear_width(model: Any) -> int | None:
    torch = require("torch", "torch")
    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            return int(module.in_features)
    return None


class TorchNetwork:
    """A PyTorch model seen as a function from float64 rows to float64 outputs.

    Parameters
    ----------
    model : torch.nn.Module
        The model, in evaluation mode. It takes a float tensor of shape (n_rows, n_features) and returns
        (n_rows, n_outputs) or (n_rows,).
    n_features : int
        Number of input features.
    use_gpu : bool
        Run on CUDA when available.

    Attributes
    ----------
    final_activation : str or None
        The activation split off (``"softmax"``, ``"log_softmax"``, ``"sigmoid"``), or None.
    device : str
    notes : list of str
    """

    framework = "torch"

    def __init__(self, model: Any, n_features: int, *, use_gpu: bool) -> None:
        torch = require("torch", "torch")
        self._torch = torch
        self.notes: list[str] = []
        training = [name or type(model).__name__ for name, module in model.named_modules() if module.training]
        if training:
            raise ModelInterfaceError(
                "DeepExplainer needs the model in evaluation mode, where dropout and batch normalisation are "
                f"deterministic; found {len(training)} module(s) in training mode (first: {training[0]!r}). "
                "Call model.eval() before explaining it"
            )
        self.n_features = n_features
        parameter = next(iter(model.parameters()), None)
        self.dtype = parameter.dtype if parameter is not None and parameter.is_floating_point() else torch.float32
        model_device = parameter.device if parameter is not None else torch.device("cpu")
        if use_gpu and model_device.type == "cpu":
            if torch.cuda.is_available():
                import copy

                model = copy.deepcopy(model).to("cuda")
                model_device = torch.device("cuda")
                self.notes.append("use_gpu=True: a copy of the model was moved to the GPU (cuda)")
            else:
                self.notes.append("use_gpu=True but torch finds no CUDA device: ran on the CPU")
                logger.warning(self.notes[-1])
        self.device = model_device
        self.final_activation: str | None = None
        self.model = model
        self._network = _TwoDimensional.build(torch, model)

    def split_final_activation(self, n_net: int) -> str | None:
        """Split a final Softmax/LogSoftmax/Sigmoid off an nn.Sequential, so the network returns logits.

        DeepLIFT then runs on the logits and the activation is applied exactly afterwards (captum's rule for
        softmax is not additive). A softmax over one output is left alone.

        Returns
        -------
        str or None
            The activation split off, or None.
        """
        network, activation = _split_final_activation(self.model)
        if activation is None or (activation != "sigmoid" and n_net < 2):
            return None
        self.final_activation = activation
        self._network = _TwoDimensional.build(self._torch, network)
        return activation

    # ------------------------------------------------------------------ forward
    def _tensor(self, values: np.ndarray, requires_grad: bool = False) -> Any:
        tensor = self._torch.tensor(np.ascontiguousarray(values), dtype=self.dtype, device=self.device)
        return tensor.requires_grad_(requires_grad)

    def forward(self, values: np.ndarray) -> np.ndarray:
        """Network outputs, ndarray of shape (n_rows, n_net), float64."""
        with self._torch.no_grad():
            output = self._call(self._tensor(values))
        return output.detach().cpu().double().numpy()

    def _call(self, tensor: Any) -> Any:
        try:
            output = self._network(tensor)
        except PellucidError:
            raise
        except (RuntimeError, TypeError, ValueError, IndexError) as exc:
            expected = _first_linear_width(self.model)
            if expected is not None and expected != tensor.shape[1]:
                raise DataShapeError(
                    f"the model's first Linear layer takes {expected} features; the data has "
                    f"{tensor.shape[1]} columns"
                ) from exc
            raise ModelInterfaceError(
                f"calling the model on a float tensor of shape {tuple(tensor.shape)} failed with "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if not self._torch.is_tensor(output):
            raise ModelInterfaceError(
                f"the model must return a tensor; found {type(output).__name__} (wrap it to return one tensor)"
            )
        return output

    # ------------------------------------------------------------------ checks
    def check_differentiable(self, probe: np.ndarray) -> None:
        """Raise ModelInterfaceError when the outputs do not depend differentiably on the inputs.

        Parameters
        ----------
        probe : ndarray of shape (n_rows, n_features)
            A few rows (the background's first ones).
        """
        inputs = self._tensor(probe, requires_grad=True)
        output = self._call(inputs)
        if not output.is_floating_point() or not output.requires_grad:
            raise ModelInterfaceError(
                "the model's output carries no gradient with respect to its input "
                f"(output dtype {output.dtype}, requires_grad={output.requires_grad}): its forward cuts the "
                "graph (torch.no_grad, .detach(), .numpy(), argmax). DeepExplainer needs a differentiable "
                "model; explain hard decisions with KernelExplainer instead"
            )
        (gradient,) = self._torch.autograd.grad(output.sum(), inputs, allow_unused=True)
        varies = bool((output.max(dim=0).values - output.min(dim=0).values).abs().max() > 0)
        if gradient is None or (varies and not bool(gradient.abs().max() > 0)):
            raise ModelInterfaceError(
                "the model's output varies across rows but its gradient with respect to the input is zero "
                "everywhere: its forward uses a step function (round, floor, sign, comparisons, argmax). "
                "Gradient and DeepLIFT attributions of such a model are meaningless; explain it with "
                "KernelExplainer instead"
            )

    # ------------------------------------------------------------------ attributions
    def gradients(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Network outputs and their input gradients at ``points``.

        Parameters
        ----------
        points : ndarray of shape (n_points, n_features)

        Returns
        -------
        (ndarray of shape (n_points, n_net), ndarray of shape (n_points, n_net, n_features))
        """
        torch = self._torch
        inputs = self._tensor(points, requires_grad=True)
        with torch.enable_grad():
            output = self._call(inputs)
            n_net = output.shape[1]
            columns = []
            for j in range(n_net):
                (gradient,) = torch.autograd.grad(
                    output[:, j].sum(), inputs, retain_graph=j < n_net - 1, allow_unused=True
                )
                columns.append(torch.zeros_like(inputs) if gradient is None else gradient)
        jacobian = torch.stack(columns, dim=1)
        return output.detach().cpu().double().numpy(), jacobian.detach().cpu().double().numpy()

    def deeplift(self, rows: np.ndarray, references: np.ndarray, n_net: int) -> np.ndarray:
        """DeepLIFT (rescale rule) contributions of each feature to each network output, pair by pair.

        Parameters
        ----------
        rows, references : ndarray of shape (n_pairs, n_features)
            Row ``p`` is explained against reference ``p``.
        n_net : int
            Number of network outputs.

        Returns
        -------
        ndarray of shape (n_pairs, n_features, n_net)
            Contributions; per pair and output they sum to ``f(row) - f(reference)`` when every non-linearity
            is a module DeepLIFT knows (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.ELU, nn.LeakyReLU, nn.Softplus ...).
        """
        captum_attr = require("captum.attr", "torch")
        method = captum_attr.DeepLift(self._network, multiply_by_inputs=True)
        inputs = self._tensor(rows)
        baselines = self._tensor(references)
        contributions = []
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module=r"captum\..*")
            warnings.filterwarnings("ignore", message=r".*hooks.*", category=UserWarning)
            for j in range(n_net):
                try:
                    attribution = method.attribute(inputs, baselines=baselines, target=j)
                except RuntimeError as exc:
                    if "more than once" in str(exc):
                        raise ModelInterfaceError(
                            "DeepLIFT needs each non-linear module used once per forward pass; the model calls "
                            f"one activation module more than once ({exc}). Give each layer its own nn.ReLU "
                            "(or use method='gradient_shap')"
                        ) from exc
                    raise
                contributions.append(attribution.detach().cpu().double().numpy())
        return np.stack(contributions, axis=2)

    def describe_device(self) -> str:
        """``"cpu"`` or ``"cuda:0"``..."""
        return str(self.device)


class _TwoDimensional:
    """Wraps a network so it always returns (n_rows, n_outputs)."""

    @staticmethod
    def build(torch: Any, network: Any) -> Any:
        class TwoDimensional(torch.nn.Module):
            def __init__(self, inner: Any) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, inputs: Any) -> Any:
                output = self.inner(inputs)
                if torch.is_tensor(output) and output.dim() == 1:
                    return output.reshape(-1, 1)
                if torch.is_tensor(output) and output.dim() != 2:
                    raise ModelInterfaceError(
                        "the model must return one value or one vector of outputs per row (1-D or 2-D); "
                        f"found an output of shape {tuple(output.shape)}"
                    )
                return output

        wrapper = TwoDimensional(network)
        wrapper.eval()
        return wrapper
