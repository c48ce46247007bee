"""PyTorch backend of DeepExplainer: forward passes, input gradients and DeepLIFT contributions.

Everything here takes and returns numpy arrays (float64) so the explainer's arithmetic is framework-free.
DeepLIFT's rescale rule is applied with forward hooks on the elementwise activation modules (the secant slope
replaces each activation's derivative for the pair), so one forward pass over [rows; references] and one
backward pass per output give every multiplier; gradients are plain autograd. captum is not needed.
"""

from __future__ import annotations

import logging
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
        The model; one left in training mode is run in evaluation mode for each call (and noted). It takes a float tensor of shape (n_rows, n_features) and returns
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
            self.notes.append(
                f"the model was in training mode ({len(training)} module(s), first {training[0]!r}): it is explained "
                "in evaluation mode (dropout off, batch normalisation on its running statistics), switched for "
                "each forward pass and restored afterwards, so the model stays in training mode"
            )
            logger.info(self.notes[-1])
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
        self._network = _build_network(torch, model)

    def split_final_activation(self, n_net: int) -> str | None:
        """Split a final Softmax/LogSoftmax/Sigmoid off an nn.Sequential, so the network returns logits.

        DeepLIFT then runs on the logits and the activation is carried through exactly afterwards (the softmax
        couples its outputs, so the elementwise rescale rule does not apply to it). A softmax over one output is
        left alone.

        Returns
        -------
        str or None
            The activation split off, or None.
        """
        network, activation = _split_final_activation(self.model)
        if activation is None or (activation != "sigmoid" and n_net < 2):
            return None
        self.final_activation = activation
        self._network = _build_network(self._torch, network)
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
        """The network's output on ``tensor``, computed in evaluation mode (the model's modes restored after)."""
        training = [module for module in self.model.modules() if module.training]
        for module in training:
            module.training = False
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
        finally:
            for module in training:
                module.training = True
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
        # Outputs weighted 1, 2, 3 ...: the plain sum of a softmax's outputs is 1 whatever the input, so its
        # gradient is zero (or rounding noise) for any differentiable network ending in a softmax.
        weights = self._torch.arange(1, output.shape[-1] + 1, dtype=output.dtype, device=output.device) \
            if output.ndim > 1 else self._torch.ones((), dtype=output.dtype, device=output.device)
        (gradient,) = self._torch.autograd.grad((output * weights).sum(), inputs, allow_unused=True)
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

        Rows and references go through the network in one batch. Every elementwise activation module
        (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.GELU ...; see ``_ELEMENTWISE``) is hooked so that, on the row half,
        its derivative is replaced by the secant slope to its reference twin; the input gradient of each output
        is then DeepLIFT's multiplier, and multiplier times ``row - reference`` sums exactly to
        ``f(row) - f(reference)``. Non-linearities outside modules (``torch.relu`` in forward) keep their
        gradient, which breaks that identity; the explainer reports the residual.

        Parameters
        ----------
        rows, references : ndarray of shape (n_pairs, n_features)
            Row ``p`` is explained against reference ``p``.
        n_net : int
            Number of network outputs.

        Returns
        -------
        ndarray of shape (n_pairs, n_features, n_net)
        """
        torch = self._torch
        inputs = self._tensor(rows, requires_grad=True)
        baselines = self._tensor(references)
        rescale = _RescaleRule(torch, self._network)
        try:
            with torch.enable_grad():
                output = self._call(torch.cat([inputs, baselines]))[: inputs.shape[0]]
                columns = []
                for j in range(n_net):
                    (gradient,) = torch.autograd.grad(
                        output[:, j].sum(), inputs, retain_graph=j < n_net - 1, allow_unused=True
                    )
                    columns.append(torch.zeros_like(inputs) if gradient is None else gradient)
        finally:
            rescale.remove()
        multipliers = torch.stack(columns, dim=2).detach().cpu().double().numpy()  # (P, m, n_net)
        return multipliers * (rows - references)[:, :, None]

    def describe_device(self) -> str:
        """``"cpu"`` or ``"cuda:0"``..."""
        return str(self.device)


# Elementwise activations: DeepLIFT's rescale rule (secant slope) applies to each unit on its own.
_ELEMENTWISE = (
    "ReLU", "ReLU6", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Sigmoid",
    "Tanh", "Softplus", "Softsign", "Hardtanh", "Hardsigmoid", "Hardswish", "LogSigmoid", "Tanhshrink",
    "Threshold", "Softshrink", "Hardshrink",
)


class _RescaleRule:
    """Hooks that make the input gradient of a [rows; references] batch equal DeepLIFT's multipliers.

    A forward pre-hook keeps each activation's input (and hands the module a copy, so in-place activations
    leave it intact); the forward hook returns, for the row half, ``y`` with the secant slope
    ``(y - y_ref) / (u - u_ref)`` as its derivative (the derivative itself where ``u`` and ``u_ref`` nearly
    coincide), and the reference half without gradient. Modules used several times per pass are handled call
    by call.
    """

    def __init__(self, torch: Any, network: Any) -> None:
        self._torch = torch
        self._inputs: dict[int, list] = {}
        self._bypass = False
        self._handles = []
        classes = tuple(getattr(torch.nn, name) for name in _ELEMENTWISE if hasattr(torch.nn, name))
        for module in network.modules():
            if type(module) in classes:
                self._handles.append(module.register_forward_pre_hook(self._keep_input))
                self._handles.append(module.register_forward_hook(self._rescale))

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()

    def _keep_input(self, module: Any, args: tuple) -> Any:
        if self._bypass:
            return None
        self._inputs.setdefault(id(module), []).append(args[0])
        return (args[0].clone(), *args[1:])

    def _rescale(self, module: Any, args: tuple, output: Any) -> Any:
        if self._bypass:
            return None
        torch = self._torch
        pre = self._inputs[id(module)].pop()
        half = pre.shape[0] // 2
        pre_row, pre_ref = pre[:half], pre[half:]
        post_row, post_ref = output[:half], output[half:]
        gap = (pre_row - pre_ref).detach()
        small = gap.abs() < 10 * torch.finfo(gap.dtype).eps * (1.0 + pre_row.detach().abs())
        slope = (post_row - post_ref).detach() / torch.where(small, torch.ones_like(gap), gap)
        if bool(small.any()):
            slope = torch.where(small, self._derivative(module, pre_row), slope)
        row = (post_row - slope * pre_row).detach() + slope * pre_row
        return torch.cat([row, post_ref.detach()])

    def _derivative(self, module: Any, pre: Any) -> Any:
        torch = self._torch
        leaf = pre.detach().requires_grad_(True)
        self._bypass = True
        try:
            with torch.enable_grad():
                (derivative,) = torch.autograd.grad(module(leaf * 1.0).sum(), leaf)
        finally:
            self._bypass = False
        return derivative


def _build_network(torch: Any, network: Any) -> Any:
    """``network`` wrapped to return 2-D outputs, leaving the training mode of its modules as it was."""
    training = [module for module in network.modules() if module.training]
    wrapper = _TwoDimensional.build(torch, network)
    for module in training:
        module.training = True
    return wrapper


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
