"""Batched weighted ridge regressions for LIME: every row and every output solved together.

LIME fits, for each explained row and each output, a ridge regression with an intercept
``min_b,c  sum_s w_s (y_s - x_s . b - c)^2 + alpha * |b|^2`` on the row's neighbourhood. Centring by the
weighted means removes the intercept, leaving the normal equations ``(Xc' W Xc + alpha I) b = Xc' W yc``.
Here the weighted moments of a batch of rows are computed with one batched matrix product and every system
is solved with one batched ``numpy.linalg.solve``; feature selection (forward selection, highest weights)
works on the same moments, so no regression is ever refitted on the samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["WeightedMoments", "weighted_moments", "ridge_solve", "select_features", "RidgeFit", "fit_ridge"]

# Relative ridge added to the unpenalised (alpha=0) systems of forward selection, so constant or duplicated
# interpretable features (a feature whose every sample falls in the instance's bin) stay solvable.
_SINGULAR_GUARD = 1e-10


@dataclass
class WeightedMoments:
    """Weighted centred moments of a batch of neighbourhoods.

    Attributes
    ----------
    gram : ndarray of shape (n_rows, n_features, n_features)
        ``Xc' W Xc``.
    cross : ndarray of shape (n_rows, n_features, n_outputs)
        ``Xc' W yc``.
    target_ss : ndarray of shape (n_rows, n_outputs)
        ``yc' W yc``, the weighted total sum of squares.
    x_mean : ndarray of shape (n_rows, n_features)
        Weighted mean of the interpretable features.
    y_mean : ndarray of shape (n_rows, n_outputs)
        Weighted mean of the outputs.
    """

    gram: np.ndarray
    cross: np.ndarray
    target_ss: np.ndarray
    x_mean: np.ndarray
    y_mean: np.ndarray


def weighted_moments(design: np.ndarray, weights: np.ndarray, targets: np.ndarray) -> WeightedMoments:
    """Weighted centred moments of each row's neighbourhood.

    Parameters
    ----------
    design : ndarray of shape (n_rows, n_samples, n_features)
        Interpretable representation of each row's samples.
    weights : ndarray of shape (n_rows, n_samples)
        Kernel weight of each sample.
    targets : ndarray of shape (n_rows, n_samples, n_outputs)
        Model output for each sample.

    Returns
    -------
    WeightedMoments
    """
    total = weights.sum(axis=1)  # (n,)
    weighted_design = design * weights[:, :, None]
    x_mean = weighted_design.sum(axis=1) / total[:, None]
    y_mean = np.einsum("ns,nsk->nk", weights, targets) / total[:, None]
    # Raw moments by batched BLAS products, then centred: X'WX - s * xbar xbar'.
    gram = np.matmul(weighted_design.transpose(0, 2, 1), design)
    gram -= total[:, None, None] * x_mean[:, :, None] * x_mean[:, None, :]
    cross = np.matmul(weighted_design.transpose(0, 2, 1), targets)
    cross -= total[:, None, None] * x_mean[:, :, None] * y_mean[:, None, :]
    target_ss = np.einsum("ns,nsk->nk", weights, targets * targets) - total[:, None] * y_mean**2
    return WeightedMoments(gram=gram, cross=cross, target_ss=np.maximum(target_ss, 0.0), x_mean=x_mean, y_mean=y_mean)


def ridge_solve(gram: np.ndarray, cross: np.ndarray, alpha: float) -> np.ndarray:
    """Solve ``(gram + alpha I) b = cross`` for a stack of systems.

    Parameters
    ----------
    gram : ndarray of shape (..., p, p)
    cross : ndarray of shape (..., p)
    alpha : float
        Ridge penalty; 0 solves the least-squares system with a tiny relative guard against singularity.

    Returns
    -------
    ndarray of shape (..., p)
    """
    p = gram.shape[-1]
    if p == 0:
        return np.zeros(cross.shape)
    diagonal = np.trace(gram, axis1=-2, axis2=-1) / p
    penalty = alpha + _SINGULAR_GUARD * (diagonal + 1.0)
    system = gram + penalty[..., None, None] * np.eye(p)
    return np.linalg.solve(system, cross[..., None])[..., 0]


def select_features(
    moments: WeightedMoments, instance_design: np.ndarray, num_features: int, method: str
) -> np.ndarray:
    """Pick ``num_features`` interpretable features per row and output, as lime's selection methods do.

    Parameters
    ----------
    moments : WeightedMoments
        Moments of n_rows neighbourhoods with n_features features and n_outputs outputs.
    instance_design : ndarray of shape (n_rows, n_features)
        Interpretable representation of each explained row (its neighbourhood's first sample).
    num_features : int
        How many features to keep, 1 <= num_features < n_features.
    method : {"forward_selection", "highest_weights"}
        ``forward_selection`` adds, one at a time, the feature that most raises the weighted R^2 of an
        unpenalised fit; ``highest_weights`` keeps the features with the largest ``|coefficient * instance|``
        of a ridge fit (alpha 0.01) on all features.

    Returns
    -------
    ndarray of int of shape (n_rows, n_outputs, num_features)
        Selected feature indices, in selection order.
    """
    gram = moments.gram[:, None]  # (n, 1, m, m) broadcast over outputs
    cross = np.moveaxis(moments.cross, 2, 1)  # (n, k, m)
    if method == "highest_weights":
        coefficients = ridge_solve(gram, cross, 0.01)  # (n, k, m)
        strength = np.abs(coefficients * instance_design[:, None, :])
        return np.argsort(-strength, axis=-1, kind="stable")[..., :num_features]
    return _forward_selection(moments.gram, cross, num_features)


def _forward_selection(gram: np.ndarray, cross: np.ndarray, num_features: int) -> np.ndarray:
    n_rows, n_outputs, n_features = cross.shape
    chosen = np.zeros((n_rows, n_outputs, 0), dtype=np.intp)
    candidates = np.arange(n_features)
    row_index = np.arange(n_rows)[:, None, None, None, None]
    for _ in range(num_features):
        # Every candidate set "chosen + j": (n, k, m, t+1) indices, their Gram blocks (n, k, m, t+1, t+1).
        sets = np.concatenate(
            [np.broadcast_to(chosen[:, :, None, :], (n_rows, n_outputs, n_features, chosen.shape[2])),
             np.broadcast_to(candidates[None, None, :, None], (n_rows, n_outputs, n_features, 1))],
            axis=3,
        )
        blocks = gram[row_index, sets[..., :, None], sets[..., None, :]]
        rhs = np.take_along_axis(cross[:, :, None, :], sets, axis=3)
        coefficients = ridge_solve(blocks, rhs, 0.0)
        # For a least-squares fit the explained sum of squares is b'c: maximising it maximises R^2.
        explained = np.einsum("nkjt,nkjt->nkj", coefficients, rhs)
        already = (chosen[:, :, :, None] == candidates[None, None, None, :]).any(axis=2)
        explained[already] = -np.inf
        best = np.argmax(explained, axis=2)
        chosen = np.concatenate([chosen, best[:, :, None]], axis=2)
    return chosen


@dataclass
class RidgeFit:
    """Result of the batched LIME ridge fits.

    Attributes
    ----------
    coefficients : ndarray of shape (n_rows, n_features, n_outputs)
        Ridge weights; zero for features not selected.
    intercepts : ndarray of shape (n_rows, n_outputs)
    scores : ndarray of shape (n_rows, n_outputs)
        Weighted R^2 of each fit on its neighbourhood.
    local_predictions : ndarray of shape (n_rows, n_outputs)
        The surrogate's prediction at the explained row.
    """

    coefficients: np.ndarray
    intercepts: np.ndarray
    scores: np.ndarray
    local_predictions: np.ndarray


def fit_ridge(
    moments: WeightedMoments,
    instance_design: np.ndarray,
    *,
    alpha: float = 1.0,
    num_features: int | None = None,
    selection: str = "none",
) -> RidgeFit:
    """Fit the ridge surrogate of every row and output, optionally on selected features only.

    Parameters
    ----------
    moments : WeightedMoments
        Moments of n_rows neighbourhoods.
    instance_design : ndarray of shape (n_rows, n_features)
        Interpretable representation of each explained row.
    alpha : float
        Ridge penalty of the final fit.
    num_features : int, optional
        Features to keep per row and output; None keeps all.
    selection : {"none", "forward_selection", "highest_weights"}
        How to pick them (see :func:`select_features`).

    Returns
    -------
    RidgeFit
    """
    n_rows, n_features, n_outputs = moments.cross.shape
    cross = np.moveaxis(moments.cross, 2, 1)  # (n, k, m)
    if selection == "none" or num_features is None or num_features >= n_features:
        solved = ridge_solve(moments.gram[:, None], cross, alpha)  # (n, k, m)
        coefficients = np.moveaxis(solved, 1, 2)
    else:
        chosen = select_features(moments, instance_design, num_features, selection)  # (n, k, p)
        row_index = np.arange(n_rows)[:, None, None, None]
        blocks = moments.gram[row_index, chosen[..., :, None], chosen[..., None, :]]
        solved = ridge_solve(blocks, np.take_along_axis(cross, chosen, axis=2), alpha)
        full = np.zeros((n_rows, n_outputs, n_features))
        np.put_along_axis(full, chosen, solved, axis=2)
        coefficients = np.moveaxis(full, 1, 2)
    intercepts = moments.y_mean - np.einsum("nm,nmk->nk", moments.x_mean, coefficients)
    # Residual sum of squares of a fit b on centred data: yy - 2 b'c + b'Gb.
    fitted_ss = np.einsum("nmk,nml,nlk->nk", coefficients, moments.gram, coefficients)
    residual_ss = moments.target_ss - 2 * np.einsum("nmk,nmk->nk", coefficients, moments.cross) + fitted_ss
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(moments.target_ss > 0, 1.0 - residual_ss / moments.target_ss, 1.0)
    local_predictions = intercepts + np.einsum("nm,nmk->nk", instance_design, coefficients)
    return RidgeFit(coefficients=coefficients, intercepts=intercepts, scores=scores,
                    local_predictions=local_predictions)
