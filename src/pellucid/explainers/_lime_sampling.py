"""LIME's tabular neighbourhood: training statistics, perturbation sampling, interpretable representation.

Each feature is one of three kinds:

* **binned** (continuous, discretised): cut at the training quartiles (or deciles). A perturbation draws a bin
  with the training frequency of the bins, then a value inside it from a normal with the bin's training mean
  and standard deviation truncated to the bin. Its interpretable feature is 1 when the bin is the explained
  row's bin, else 0.
* **categorical**: a perturbation draws a value with its training frequency; the interpretable feature is 1
  when it equals the explained row's value.
* **continuous** (``discretize_continuous=False``): a perturbation is ``mean + z * std`` (or
  ``row + z * std`` when sampling around the instance) with ``z ~ N(0, 1)``; the interpretable feature is the
  standardised value.

Binned and categorical features are stored as integer codes (bin or level index), so the interpretable
representation of a whole batch of rows is one broadcast comparison of codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from pellucid.data import Dataset
from pellucid.errors import ArgumentError, DataValueError

__all__ = [
    "BINNED", "CATEGORICAL", "CONTINUOUS", "DISCRETIZERS", "NeighbourhoodSampler", "Perturbations", "check_categorical",
]

BINNED, CATEGORICAL, CONTINUOUS = 0, 1, 2
#: discretizer name -> percentiles cutting the bins
DISCRETIZERS = {"quartile": (25.0, 50.0, 75.0), "decile": tuple(float(q) for q in range(10, 100, 10))}
# lime adds this to each bin's standard deviation so a bin holding one distinct value still has a width.
_STD_FLOOR = 1e-11
# Per (feature, bin) tables: bounds, mean, standard deviation (negative when the truncated normal is sampled
# mirrored), normal CDF at the (mirrored) lower bound and the CDF mass inside the bin, and the bin's start and
# mass in the training frequencies.
_BIN_FIELDS = ("low", "high", "mean", "signed_std", "cdf_low", "cdf_width", "cdf_start", "mass")


@dataclass
class Perturbations:
    """Perturbed samples in coded form.

    Attributes
    ----------
    codes : ndarray of int of shape (..., n_samples, n_features)
        Bin or level index for binned and categorical features (0 for continuous ones).
    normals : ndarray of shape (..., n_samples, n_features)
        Standard normal draws for continuous features (0 for the others).
    within : ndarray of shape (..., n_samples, n_binned), optional
        Uniform position inside the sampled bin's probability of each binned feature.
    """

    codes: np.ndarray
    normals: np.ndarray
    within: np.ndarray | None = None


class NeighbourhoodSampler:
    """Training statistics of every feature and the sampling built on them.

    Use :meth:`fit`; the constructor only stores fitted statistics.

    Attributes
    ----------
    kinds : ndarray of int of shape (n_features,)
        BINNED, CATEGORICAL or CONTINUOUS per feature.
    edges : dict of int -> ndarray
        Bin edges (unique training percentiles) of each binned feature.
    levels : dict of int -> pandas.Index
        Observed values of each categorical feature.
    mean, scale : ndarray of shape (n_features,)
        Training mean and standard deviation (1 where constant) of continuous features; 0 and 1 elsewhere.
    """

    def __init__(
        self,
        kinds: np.ndarray,
        edges: dict[int, np.ndarray],
        levels: dict[int, pd.Index],
        cumulative: dict[int, np.ndarray],
        bin_tables: np.ndarray,
        mean: np.ndarray,
        scale: np.ndarray,
        numeric: bool,
    ) -> None:
        self.kinds = kinds
        self.edges = edges
        self.levels = levels
        self.cumulative = cumulative
        # (len(_BIN_FIELDS), n_features, max_bins): see _BIN_FIELDS
        self.bin_tables = bin_tables
        self.mean = mean
        self.scale = scale
        self.numeric = numeric

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit(
        cls, background: Dataset, categorical: set[int], *, discretize: bool, discretizer: str
    ) -> NeighbourhoodSampler:
        """Learn the statistics from the training (initialization) data.

        Parameters
        ----------
        background : Dataset
            Training rows; their ``weights`` (a summarised background) weight every statistic.
        categorical : set of int
            Indices of features to treat as categorical; non-numeric columns are added to it.
        discretize : bool
            Bin continuous features (True) or perturb them with normal noise (False).
        discretizer : {"quartile", "decile"}
            Percentiles cutting the bins.
        """
        values = background.values
        weights = background.row_weights()
        uniform = background.weights is None
        n_features = background.n_features
        kinds = np.full(n_features, BINNED if discretize else CONTINUOUS)
        edges, levels, cumulative = {}, {}, {}
        max_bins = len(DISCRETIZERS[discretizer]) + 1
        bin_tables = np.zeros((len(_BIN_FIELDS), n_features, max_bins))
        bin_tables[_BIN_FIELDS.index("mass")] = 1.0
        mean, scale = np.zeros(n_features), np.ones(n_features)
        for j in range(n_features):
            column = _numeric_column(values[:, j], background, j)
            if j in categorical or column is None:
                kinds[j] = CATEGORICAL
                levels[j], codes = _levels(values[:, j])
                cumulative[j] = _cumulative(np.bincount(codes, weights=weights, minlength=len(levels[j])))
                continue
            if not np.isfinite(column).all():
                raise DataValueError(
                    f"LIME needs finite training values of continuous features; feature "
                    f"{background.feature_names[j]!r} of initialization_examples holds NaN or inf. Impute them "
                    "first (e.g. sklearn.impute.SimpleImputer) or list the feature in categorical_features"
                )
            mean[j] = np.average(column, weights=weights)
            std = np.sqrt(np.average((column - mean[j]) ** 2, weights=weights))
            scale[j] = std if std > 0 else 1.0
            if kinds[j] == BINNED:
                edges[j] = _bin_edges(column, weights, uniform, DISCRETIZERS[discretizer])
                codes = np.searchsorted(edges[j], column)  # bin i holds edges[i-1] < x <= edges[i]
                n_bins = len(edges[j]) + 1
                frequencies = np.bincount(codes, weights=weights, minlength=n_bins)
                cumulative[j] = _cumulative(frequencies)
                bin_tables[:, j, :n_bins] = _bin_statistics(column, codes, weights, edges[j], frequencies)
        return cls(kinds, edges, levels, cumulative, bin_tables, mean, scale, background.is_numeric)

    # ------------------------------------------------------------------ coding rows
    def encode(self, values: np.ndarray, feature_names: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Codes and interpretable values of explained rows.

        Parameters
        ----------
        values : ndarray of shape (n_rows, n_features)
        feature_names : list of str
            For error messages.

        Returns
        -------
        codes : ndarray of int of shape (n_rows, n_features)
            Bin or level index (-1 for a level never seen in training: no perturbation matches it).
        design : ndarray of shape (n_rows, n_features)
            The rows' own interpretable representation: 1 for binned and categorical features, the
            standardised value for continuous ones.
        """
        codes = np.zeros(values.shape, dtype=np.intp)
        design = np.ones(values.shape)
        for j, kind in enumerate(self.kinds):
            if kind == CATEGORICAL:
                codes[:, j] = self.levels[j].get_indexer(pd.Index(values[:, j], dtype=object))
                continue
            column = np.asarray(values[:, j], dtype=np.float64)
            if not np.isfinite(column).all():
                raise DataValueError(
                    f"LIME needs finite values of continuous features; feature {feature_names[j]!r} of "
                    "evaluation_examples holds NaN or inf. Impute them first (e.g. sklearn.impute.SimpleImputer)"
                )
            if kind == BINNED:
                codes[:, j] = np.searchsorted(self.edges[j], column)
            else:
                design[:, j] = (column - self.mean[j]) / self.scale[j]
        return codes, design

    # ------------------------------------------------------------------ sampling
    def draw(self, shape: tuple[int, ...], rng: np.random.Generator) -> Perturbations:
        """Draw perturbations in coded form.

        One uniform per binned or categorical cell picks the bin (level) by inverse CDF of the training
        frequencies; for a binned cell the uniform's position inside the chosen bin's probability interval is
        itself uniform and independent of the bin, and is kept to draw the value inside the bin.

        Parameters
        ----------
        shape : tuple of int
            Leading shape, e.g. ``(n_samples,)`` or ``(n_rows, n_samples)``.
        rng : numpy.random.Generator
        """
        n_features = len(self.kinds)
        codes = np.zeros((*shape, n_features), dtype=np.intp)
        uniforms = rng.random((*shape, n_features))
        for j, cumulative in self.cumulative.items():
            codes[..., j] = np.searchsorted(cumulative[:-1], uniforms[..., j], side="right")
        normals = np.zeros((*shape, n_features))
        continuous = np.flatnonzero(self.kinds == CONTINUOUS)
        if continuous.size:
            normals[..., continuous] = rng.standard_normal((*shape, continuous.size))
        binned = np.flatnonzero(self.kinds == BINNED)
        within = None
        if binned.size:
            lower = self._bin_table("cdf_start", binned, codes[..., binned])
            mass = self._bin_table("mass", binned, codes[..., binned])
            within = np.clip((uniforms[..., binned] - lower) / mass, 0.0, 1.0)
        return Perturbations(codes=codes, normals=normals, within=within)

    def model_values(self, perturbations: Perturbations, offset: np.ndarray | None = None) -> np.ndarray:
        """Feature values of perturbations, as the model takes them.

        Parameters
        ----------
        perturbations : Perturbations
            Coded samples of shape (..., n_samples, n_features).
        offset : ndarray of shape (..., 1, n_features), optional
            Standardised rows (their ``design`` from :meth:`encode`) to centre continuous features on when
            sampling around the instance; default: centred on the training mean.

        Returns
        -------
        ndarray of shape (..., n_samples, n_features)
            float64 for numeric data, object otherwise.
        """
        codes = perturbations.codes
        standardised = perturbations.normals
        if offset is not None:
            standardised = standardised + offset * (self.kinds == CONTINUOUS)
        numbers = self.mean + standardised * self.scale
        binned = np.flatnonzero(self.kinds == BINNED)
        if binned.size:
            numbers[..., binned] = self._within_bins(codes[..., binned], binned, perturbations.within)
        if self.numeric and not self.levels:
            return numbers
        values = numbers.astype(object) if not self.numeric else numbers
        for j, levels in self.levels.items():
            values[..., j] = levels.to_numpy()[codes[..., j]]
        return values

    def _bin_table(self, name: str, features: np.ndarray, codes: np.ndarray) -> np.ndarray:
        table = self.bin_tables[_BIN_FIELDS.index(name)]
        return table.ravel()[features * table.shape[1] + codes]

    def _within_bins(self, codes: np.ndarray, features: np.ndarray, within: np.ndarray) -> np.ndarray:
        """Truncated-normal values inside the sampled bins, by inverse CDF of the bins' normals."""
        flat = features * self.bin_tables.shape[2] + codes
        low, high, centre, signed_spread, cdf_low, cdf_width = (
            np.take(self.bin_tables[_BIN_FIELDS.index(name)], flat)
            for name in ("low", "high", "mean", "signed_std", "cdf_low", "cdf_width")
        )
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            values = centre + signed_spread * ndtri(cdf_low + within * cdf_width)
        # A bin of one distinct value (or an infinite quantile at the CDF's ends) lands on its bounds.
        return np.clip(values, low, high)

    # ------------------------------------------------------------------ interpretable representation
    def design(
        self,
        perturbations: Perturbations,
        instance_codes: np.ndarray,
        instance_design: np.ndarray,
        *,
        around_instance: bool,
    ) -> np.ndarray:
        """Interpretable representation of each row's neighbourhood, the row itself first.

        Parameters
        ----------
        perturbations : Perturbations
            Samples of shape (n_samples - 1, n_features) shared by all rows, or
            (n_rows, n_samples - 1, n_features) per row.
        instance_codes, instance_design : ndarray of shape (n_rows, n_features)
            From :meth:`encode`.
        around_instance : bool
            Continuous samples were centred on the row rather than the training mean.

        Returns
        -------
        ndarray of shape (n_rows, n_samples, n_features)
        """
        continuous = self.kinds == CONTINUOUS
        same = (perturbations.codes == instance_codes[:, None, :]).astype(np.float64)
        if continuous.any():
            standardised = perturbations.normals + (instance_design[:, None, :] if around_instance else 0.0)
            same = np.where(continuous, standardised, same)
        return np.concatenate([instance_design[:, None, :], same], axis=1)


# ---------------------------------------------------------------------- fitting helpers
def _numeric_column(column: np.ndarray, background: Dataset, j: int) -> np.ndarray | None:
    """The column as float64, or None when it is not numeric (so categorical)."""
    if column.dtype != object:
        return column
    dtype = background.dtypes.get(background.columns[j]) if background.dtypes and background.columns else None
    if dtype is not None and not (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)):
        return None
    try:
        return column.astype(np.float64)
    except (TypeError, ValueError):
        return None


def _levels(column: np.ndarray) -> tuple[pd.Index, np.ndarray]:
    codes, uniques = pd.factorize(pd.Series(column, dtype=object), use_na_sentinel=False)
    return pd.Index(uniques, dtype=object), codes


def _cumulative(frequencies: np.ndarray) -> np.ndarray:
    return np.cumsum(frequencies) / frequencies.sum()


def _bin_edges(column: np.ndarray, weights: np.ndarray, uniform: bool, percentiles: tuple[float, ...]) -> np.ndarray:
    if uniform:
        cuts = np.percentile(column, percentiles)
    else:
        cuts = np.percentile(column, percentiles, weights=weights, method="inverted_cdf")
    return np.unique(cuts)


def _bin_statistics(
    column: np.ndarray, codes: np.ndarray, weights: np.ndarray, edges: np.ndarray, frequencies: np.ndarray
) -> np.ndarray:
    """The _BIN_FIELDS rows for one feature's bins, shape (len(_BIN_FIELDS), n_bins)."""
    n_bins = len(edges) + 1
    safe = np.where(frequencies > 0, frequencies, 1.0)
    means = np.bincount(codes, weights=weights * column, minlength=n_bins) / safe
    squares = np.bincount(codes, weights=weights * (column - means[codes]) ** 2, minlength=n_bins) / safe
    std = np.sqrt(squares) + _STD_FLOOR
    low = np.concatenate([[column.min()], edges])
    high = np.concatenate([edges, [column.max()]])
    lower, upper = (low - means) / std, (high - means) / std
    # Inverse-CDF sampling loses precision in the upper tail (CDF near 1): mirror bins lying above the mean.
    mirror = lower > 0
    lower, upper = np.where(mirror, -upper, lower), np.where(mirror, -lower, upper)
    cdf_low = ndtr(lower)
    probability = frequencies / frequencies.sum()
    start = np.concatenate([[0.0], np.cumsum(probability)[:-1]])
    return np.stack([low, high, means, np.where(mirror, -std, std), cdf_low, ndtr(upper) - cdf_low, start,
                     np.where(probability > 0, probability, 1.0)])


def check_categorical(categorical_features: Any, feature_names: list[str]) -> set[int]:
    """Indices of the user's categorical features, given as indices or names.

    Raises
    ------
    ArgumentError
        For an index out of range or an unknown name.
    """
    if categorical_features is None:
        return set()
    if isinstance(categorical_features, (str, int, np.integer)):
        categorical_features = [categorical_features]
    indices = set()
    for feature in categorical_features:
        if isinstance(feature, (int, np.integer)) and not isinstance(feature, bool):
            if not 0 <= feature < len(feature_names):
                raise ArgumentError(
                    f"categorical_features index {int(feature)} is out of range for {len(feature_names)} features"
                )
            indices.add(int(feature))
        elif str(feature) in feature_names:
            indices.add(feature_names.index(str(feature)))
        else:
            raise ArgumentError(
                f"categorical_features must hold feature indices or names from {feature_names[:10]}"
                f"{' ...' if len(feature_names) > 10 else ''}; found {feature!r}"
            )
    return indices
