"""Output heads of DeepExplainer: maps from a network's outputs to the explained outputs.

A network returns ``z`` (n_rows, n_net); DeepExplainer explains ``y = head(z)`` (n_rows, n_outputs). The head
turns logits into probabilities, splits a binary model's one output into two class outputs, or does nothing.
Heads are plain numpy, so every backend (PyTorch, Keras) shares them:

* :meth:`Head.apply` computes ``y`` from ``z``;
* :meth:`Head.jacobian` gives ``dy/dz`` (chain rule for the gradient methods);
* :meth:`Head.multipliers` gives, per (row, reference) pair, a matrix ``M`` with ``M @ (z - z_ref) = y - y_ref``
  exactly (DeepLIFT's summation-to-delta carried through the head).
"""

from __future__ import annotations

import numpy as np

__all__ = ["Head", "IDENTITY", "resolve_output"]

# Gauss-Legendre nodes on [0, 1] for the path-integrated multipliers of the softmax heads.
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(32)
_NODES = (_NODES + 1.0) / 2.0
_WEIGHTS = _WEIGHTS / 2.0
# Below this gap between row and reference the secant is replaced by the derivative.
_EPS = 1e-7


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _softmax(z: np.ndarray) -> np.ndarray:
    shifted = np.exp(z - z.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


class Head:
    """A map from network outputs ``z`` (n_net) to explained outputs ``y`` (n_outputs).

    Parameters
    ----------
    name : str
        ``"identity"``, ``"binary"`` (z -> [-z, z]), ``"binary_probability"`` (p -> [1 - p, p]),
        ``"binary_sigmoid"`` (z -> [1 - s(z), s(z)]), ``"sigmoid"`` (elementwise), ``"softmax"`` or
        ``"log_softmax"``.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def n_outputs(self, n_net: int) -> int:
        """Number of explained outputs for ``n_net`` network outputs."""
        return 2 if self.name.startswith("binary") else n_net

    # ------------------------------------------------------------------ values
    def apply(self, z: np.ndarray) -> np.ndarray:
        """Explained outputs, ndarray of shape (n_rows, n_outputs), from ``z`` of shape (n_rows, n_net)."""
        z = np.asarray(z, dtype=np.float64)
        if self.name == "identity":
            return z
        if self.name == "binary":
            return np.concatenate([-z, z], axis=1)
        if self.name == "binary_probability":
            return np.concatenate([1.0 - z, z], axis=1)
        if self.name == "binary_sigmoid":
            p = _sigmoid(z)
            return np.concatenate([1.0 - p, p], axis=1)
        if self.name == "sigmoid":
            return _sigmoid(z)
        if self.name == "softmax":
            return _softmax(z)
        if self.name == "log_softmax":
            top = z.max(axis=1, keepdims=True)
            return z - top - np.log(np.exp(z - top).sum(axis=1, keepdims=True))
        raise ValueError(f"unknown head {self.name!r}")

    def jacobian(self, z: np.ndarray) -> np.ndarray:
        """``dy/dz``, ndarray of shape (n_rows, n_outputs, n_net)."""
        z = np.asarray(z, dtype=np.float64)
        n, k = z.shape
        if self.name == "identity":
            return np.broadcast_to(np.eye(k), (n, k, k))
        if self.name == "binary":
            return np.broadcast_to(np.array([[-1.0], [1.0]]), (n, 2, 1))
        if self.name == "binary_probability":
            return np.broadcast_to(np.array([[-1.0], [1.0]]), (n, 2, 1))
        if self.name == "binary_sigmoid":
            p = _sigmoid(z)
            slope = (p * (1.0 - p))[:, :, None]
            return np.concatenate([-slope, slope], axis=1)
        if self.name == "sigmoid":
            p = _sigmoid(z)
            return p[:, :, None] * (1.0 - p)[:, :, None] * np.eye(k)
        if self.name == "softmax":
            p = _softmax(z)
            return p[:, :, None] * np.eye(k) - p[:, :, None] * p[:, None, :]
        if self.name == "log_softmax":
            p = _softmax(z)
            return np.eye(k) - p[:, None, :]
        raise ValueError(f"unknown head {self.name!r}")

    # ------------------------------------------------------------------ DeepLIFT multipliers
    def multipliers(self, z: np.ndarray, z_ref: np.ndarray) -> np.ndarray:
        """Per-pair multipliers ``M`` of shape (n_pairs, n_outputs, n_net) with ``M @ (z - z_ref) = y - y_ref``.

        Elementwise heads use the secant (DeepLIFT's rescale rule). Softmax heads couple the outputs; they use
        the Jacobian integrated along the straight path from ``z_ref`` to ``z`` (Gauss-Legendre, 32 nodes), then
        close the remaining quadrature residual along ``z - z_ref`` so the identity holds to rounding.
        """
        z = np.asarray(z, dtype=np.float64)
        z_ref = np.asarray(z_ref, dtype=np.float64)
        if self.name in ("identity", "binary", "binary_probability"):
            return self.jacobian(z)
        gap = z - z_ref
        if self.name in ("binary_sigmoid", "sigmoid"):
            small = np.abs(gap) < _EPS
            secant = (_sigmoid(z) - _sigmoid(z_ref)) / np.where(small, 1.0, gap)
            p = _sigmoid(z)
            slope = np.where(small, p * (1.0 - p), secant)
            if self.name == "binary_sigmoid":
                return np.concatenate([-slope[:, :, None], slope[:, :, None]], axis=1)
            return slope[:, :, None] * np.eye(z.shape[1])
        multipliers = np.zeros((z.shape[0], z.shape[1], z.shape[1]))
        for node, weight in zip(_NODES, _WEIGHTS):
            multipliers += weight * self.jacobian(z_ref + node * gap)
        residual = (self.apply(z) - self.apply(z_ref)) - np.einsum("pjl,pl->pj", multipliers, gap)
        norm = (gap**2).sum(axis=1)
        safe = np.where(norm > _EPS**2, norm, 1.0)
        correction = residual[:, :, None] * gap[:, None, :] / safe[:, None, None]
        return multipliers + np.where((norm > _EPS**2)[:, None, None], correction, 0.0)


IDENTITY = Head("identity")

_ACTIVATION_SPACE = {"softmax": "probability", "sigmoid": "probability", "log_softmax": "log_probability"}


def resolve_output(
    task: str, n_net: int, final_activation: str | None, model_space: str, wanted: str
) -> tuple[Head, str, str]:
    """Pick the head that turns the network's outputs into the explained ones.

    Parameters
    ----------
    task : {"classification", "regression"}
    n_net : int
        Number of network outputs (1 for a binary classifier with one output).
    final_activation : {"softmax", "log_softmax", "sigmoid"} or None
        The model's final activation when pellucid split it off (the network then returns logits).
    model_space : {"logit", "probability", "raw"}
        What the network returns when nothing was split off (detected from its outputs).
    wanted : {"auto", "logit", "probability", "raw"}
        The ``output`` argument.

    Returns
    -------
    (Head, str, str)
        The head, the explained output space and the link (the map from explained values to the model's
        probabilities: "identity", "softmax", "sigmoid" or "exp").

    Raises
    ------
    ValueError
        When the wanted space cannot be reached from what the network returns (message for the user).
    """
    if task == "regression":
        if wanted not in ("auto", "raw"):
            raise ValueError(f"a regressor's output is explained as it is (output='raw' or 'auto'); found {wanted!r}")
        return IDENTITY, "raw", "identity"
    binary = n_net == 1
    own_space = _ACTIVATION_SPACE[final_activation] if final_activation else model_space
    space = own_space if wanted == "auto" else wanted
    if space == "raw":
        raise ValueError("a classifier is explained as output='logit' or 'probability'; found 'raw'")
    if final_activation is None and space != model_space:
        if model_space == "probability":
            raise ValueError(
                "the model returns probabilities computed inside its forward, so its logits cannot be reached; "
                "pass the network without its final softmax/sigmoid (or an nn.Sequential ending in nn.Softmax, "
                "which pellucid splits) to explain logits"
            )
        # the network returns logits and probabilities are wanted
        return (Head("binary_sigmoid"), space, "identity") if binary else (Head("softmax"), space, "identity")
    if final_activation is None or space == "logit":
        if space == "probability":
            return (Head("binary_probability") if binary else IDENTITY), space, "identity"
        link = "sigmoid" if binary or final_activation == "sigmoid" else "softmax"
        return (Head("binary") if binary else IDENTITY), "logit", link
    # the network returns logits from which pellucid split the final activation
    if space == "log_probability":
        return Head("log_softmax"), space, "exp"
    if final_activation == "sigmoid":
        return (Head("binary_sigmoid") if binary else Head("sigmoid")), space, "identity"
    return Head("softmax"), space, "identity"
