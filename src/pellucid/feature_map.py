"""The raw <- engineered feature map: one sparse matrix, and the arithmetic that sums values through it.

A :class:`FeatureMap` holds ``weights``, a scipy.sparse CSR matrix of shape (n_raw, n_engineered). Column ``e``
says which raw features engineered feature ``e`` came from; every column sums to 1, so summing engineered
values through the map keeps additivity: per row and output, the raw values add up to the engineered ones.
A user's map may leave a column all zero (an engineered feature mapped to no raw one, as the SDK allowed); that
feature's values are then left out, and the map's notes say additivity no longer holds.
A one-to-one or one-to-many transformation gives columns with a single 1; an output shared among several raw
features (only with ``allow_all_transformations=True``) gives a column of equal shares.

Examples
--------
>>> import numpy as np
>>> fmap = FeatureMap.from_matrix(np.array([[1, 1, 0], [0, 0, 1]]), ["colour", "size"])
>>> fmap.raw_local(np.ones((1, 3, 1)))[0, :, 0].tolist()
[2.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from pellucid.data import default_feature_names, feature_name
from pellucid.errors import ArgumentError, DataShapeError, TransformationError, describe

__all__ = ["FeatureMap", "SharedOutput", "as_feature_map"]

# Rows of local values converted per block: bounds the temporary copies made while summing.
_ROW_CHUNK = 4096
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class SharedOutput:
    """Engineered outputs whose importance is shared equally among several raw features.

    Attributes
    ----------
    where : str
        The transformer that produced them, e.g. ``"ColumnTransformer 'num' > PCA"``.
    outputs : list of str
        The transformer's output names.
    raw_features : list of str
        The raw features sharing them.
    reason : str
        ``"mixes"`` (each output depends on several raw features) or ``"unattributable"`` (no dependency on
        any single raw feature could be seen on the probe rows, nor read from the output names).
    """

    where: str
    outputs: list[str]
    raw_features: list[str]
    reason: str

    def describe(self) -> str:
        """One sentence for errors and notes."""
        outputs = _shorten(self.outputs)
        if self.reason == "mixes":
            return (f"{self.where} produces {outputs}, each depending on several raw columns "
                    f"{self.raw_features}")
        return (f"{self.where} produces {outputs}, which did not change when any single one of its raw columns "
                f"{self.raw_features} changed on the probe rows and whose names name none of them")


@dataclass(frozen=True)
class FeatureMap:
    """Which raw features each engineered feature comes from.

    Attributes
    ----------
    weights : scipy.sparse.csr_matrix of shape (n_raw, n_engineered)
        Share of engineered feature ``e`` given to raw feature ``r``; every column sums to 1 (or to 0 for an
        engineered feature a user's map leaves unmapped).
    raw_features : list of str
        Raw feature names, length n_raw, in the raw data's column order.
    engineered_features : list of str
        Engineered feature names, length n_engineered, in the engineered data's column order.
    shared : list of SharedOutput
        Outputs shared among several raw features (only with ``allow_all_transformations=True``).
    notes : list of str
        What was done on the user's behalf while building the map.
    """

    weights: sp.csr_matrix
    raw_features: list[str]
    engineered_features: list[str]
    shared: list[SharedOutput] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        n_raw, n_engineered = self.weights.shape
        if len(self.raw_features) != n_raw or len(self.engineered_features) != n_engineered:
            raise DataShapeError(
                f"a feature map of shape {self.weights.shape} needs {n_raw} raw and {n_engineered} engineered "
                f"names; found {len(self.raw_features)} and {len(self.engineered_features)}"
            )

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_matrix(
        cls,
        matrix: Any,
        raw_features: Sequence[str] | None = None,
        engineered_features: Sequence[str] | None = None,
    ) -> FeatureMap:
        """A map from a user's (dense or scipy.sparse) matrix of shape (n_raw, n_engineered).

        Columns summing to 1 are kept as they are. A column summing to another non-zero value (e.g. a 0/1
        map of one engineered feature to three raw features) is divided by its sum, so that additivity holds,
        and a note says so. An all-zero column leaves that engineered feature unmapped, as the SDK allowed
        (e.g. ``np.eye(n - 1, n)``): its values reach no raw feature, so raw values no longer add up to the
        model output, and a note says so. Weights must be non-negative.

        Parameters
        ----------
        matrix : ndarray or scipy.sparse matrix of shape (n_raw, n_engineered)
        raw_features : sequence of str, optional
            Default the column indices ``0, 1, ...``
        engineered_features : sequence of str, optional
            Default ``engineered_0`` ...
        """
        weights = _as_csr(matrix)
        n_raw, n_engineered = weights.shape
        if (weights.data < 0).any():
            raise TransformationError(
                f"a feature map's weights must be non-negative (each column shares an engineered feature among "
                f"raw features); found {int((weights.data < 0).sum())} negative entries"
            )
        sums = np.asarray(weights.sum(axis=0)).ravel()
        notes = []
        empty = np.flatnonzero(sums <= _TOLERANCE)
        if empty.size:
            notes.append(
                f"{empty.size} engineered feature(s) (columns {empty[:10].tolist()}) map to no raw feature: their "
                "values are left out of the raw explanation, so raw values do not add up to the model output"
            )
        off = np.flatnonzero((np.abs(sums - 1.0) > _TOLERANCE) & (sums > _TOLERANCE))
        if off.size:
            scale = np.ones_like(sums)
            scale[off] = 1.0 / sums[off]
            weights = (weights @ sp.diags(scale)).tocsr()
            notes.append(
                f"{off.size} engineered feature(s) (columns {off[:10].tolist()}) map to raw features with weights "
                "not summing to 1; each such column was divided by its sum so raw values add up to engineered ones"
            )
        raw = default_feature_names(n_raw) if raw_features is None else [feature_name(n) for n in raw_features]
        engineered = (
            [f"engineered_{i}" for i in range(n_engineered)]
            if engineered_features is None else [str(n) for n in engineered_features]
        )
        return cls(weights=weights, raw_features=raw, engineered_features=engineered, notes=notes)

    @classmethod
    def chain(cls, maps: Sequence[FeatureMap]) -> FeatureMap:
        """Compose maps of successive transformations t1, t2 ... (raw -> t1 -> t2): ``W1 @ W2 @ ...``."""
        if not maps:
            raise ArgumentError("chain needs at least one feature map; found none")
        result = maps[0]
        for step, following in enumerate(maps[1:], start=1):
            if following.weights.shape[0] != result.weights.shape[1]:
                raise TransformationError(
                    f"feature map {step} has {following.weights.shape[0]} input features but the map before it "
                    f"produces {result.weights.shape[1]}; each map's rows must be the previous map's columns"
                )
            result = FeatureMap(
                weights=(result.weights @ following.weights).tocsr(),
                raw_features=result.raw_features,
                engineered_features=following.engineered_features,
                shared=result.shared + following.shared,
                notes=result.notes + following.notes,
            )
        return result

    # ------------------------------------------------------------------ sizes and views
    @property
    def n_raw(self) -> int:
        """Number of raw features."""
        return self.weights.shape[0]

    @property
    def n_engineered(self) -> int:
        """Number of engineered features."""
        return self.weights.shape[1]

    def groups(self) -> dict[str, list[str]]:
        """Raw feature name -> names of the engineered features it receives values from, in raw order."""
        csr = self.weights
        return {
            name: [self.engineered_features[j] for j in csr.indices[csr.indptr[i]:csr.indptr[i + 1]]]
            for i, name in enumerate(self.raw_features)
        }

    def to_meta(self) -> dict[str, Any]:
        """A JSON-serialisable record of the map (stored in an explanation's meta)."""
        coo = self.weights.tocoo()
        record: dict[str, Any] = {
            "raw_features": list(self.raw_features),
            "n_engineered": self.n_engineered,
            "raw_index": coo.row.tolist(),
            "engineered_index": coo.col.tolist(),
        }
        if not np.allclose(coo.data, 1.0):
            record["weight"] = coo.data.tolist()
        if self.shared:
            record["shared"] = [s.describe() for s in self.shared]
        return record

    @classmethod
    def from_meta(cls, record: Any, engineered_features: Sequence[str]) -> FeatureMap:
        """Rebuild a map written by :meth:`to_meta`."""
        try:
            rows = np.asarray(record["raw_index"], dtype=np.int64)
            cols = np.asarray(record["engineered_index"], dtype=np.int64)
            data = np.asarray(record.get("weight", np.ones(rows.size)), dtype=np.float64)
            shape = (len(record["raw_features"]), int(record["n_engineered"]))
            weights = sp.csr_matrix((data, (rows, cols)), shape=shape)
        except (KeyError, TypeError, ValueError) as exc:
            raise TransformationError(f"the feature map recorded in the explanation's meta is corrupt: {exc}") from exc
        return cls.from_matrix(weights, record["raw_features"], engineered_features)

    # ------------------------------------------------------------------ arithmetic
    def raw_local(self, values: np.ndarray) -> np.ndarray:
        """Sum engineered local values into raw ones.

        Parameters
        ----------
        values : ndarray of shape (n_rows, n_engineered, n_outputs)

        Returns
        -------
        ndarray of shape (n_rows, n_raw, n_outputs)
        """
        return self._through(values, self.weights)

    def raw_standard_errors(self, errors: np.ndarray) -> np.ndarray:
        """Combine standard errors of shape (n_rows, n_engineered, n_outputs) as if independent.

        Returns the root of the weighted sum of squares, ndarray of shape (n_rows, n_raw, n_outputs).
        """
        squared = self.weights.multiply(self.weights).tocsr()
        return np.sqrt(self._through(np.square(errors), squared))

    def raw_global(self, values: np.ndarray) -> np.ndarray:
        """Sum global (non-negative) engineered importances of shape (n_engineered, n_outputs) into raw ones.

        The result, of shape (n_raw, n_outputs), bounds from above the mean absolute raw local value (the
        triangle inequality); it equals it when a raw feature's engineered values never have opposite signs.
        """
        return np.asarray(abs(self.weights) @ values)

    def _through(self, values: np.ndarray, weights: sp.csr_matrix) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 3 or values.shape[1] != self.n_engineered:
            raise DataShapeError(
                f"values must have shape (n_rows, {self.n_engineered}, n_outputs) for this feature map; "
                f"found {values.shape}"
            )
        n_rows, _, n_outputs = values.shape
        result = np.empty((n_rows, self.n_raw, n_outputs))
        for start in range(0, n_rows, _ROW_CHUNK):
            block = values[start:start + _ROW_CHUNK]
            rows = block.shape[0]
            # (engineered, rows * outputs) so one sparse product does the whole block
            stacked = np.ascontiguousarray(block.transpose(1, 0, 2)).reshape(self.n_engineered, rows * n_outputs)
            summed = np.asarray(weights @ stacked).reshape(self.n_raw, rows, n_outputs)
            result[start:start + rows] = summed.transpose(1, 0, 2)
        return result


def as_feature_map(
    feature_maps: Any,
    raw_features: Sequence[str] | None = None,
    engineered_features: Sequence[str] | None = None,
) -> FeatureMap:
    """Read the accepted forms of a feature map into one :class:`FeatureMap`.

    Parameters
    ----------
    feature_maps : FeatureMap, ndarray or scipy.sparse matrix of shape (n_raw, n_engineered), or a list of them
        A list holds the maps of successive transformations (raw -> t1 -> t2 ...), composed in order, as in
        the SDK's ``get_raw_explanation(feature_maps)``. Objects with a ``feature_map`` attribute (pellucid's
        fitted transformations) give that map.
    raw_features : sequence of str, optional
        Raw names; they replace the map's own names when given.
    engineered_features : sequence of str, optional
        Engineered names (an explanation's features); they replace the map's own when their number matches
        (a mismatch is left for the caller to report).
    """
    if isinstance(feature_maps, FeatureMap):
        fmap = feature_maps
    elif isinstance(getattr(feature_maps, "feature_map", None), FeatureMap):
        fmap = feature_maps.feature_map
    elif isinstance(feature_maps, (list, tuple)) and feature_maps and all(
        isinstance(m, FeatureMap) or sp.issparse(m) or isinstance(m, np.ndarray) for m in feature_maps
    ):
        fmap = FeatureMap.chain([m if isinstance(m, FeatureMap) else FeatureMap.from_matrix(m) for m in feature_maps])
    elif sp.issparse(feature_maps) or isinstance(feature_maps, (np.ndarray, list, tuple)):
        fmap = FeatureMap.from_matrix(feature_maps)
    else:
        raise TransformationError(
            "feature_maps must be a FeatureMap, a (dense or scipy.sparse) matrix of shape (n_raw, n_engineered) "
            f"or a list of them for successive transformations; found {describe(feature_maps)}"
        )
    if engineered_features is not None and len(engineered_features) == fmap.n_engineered:
        fmap = _renamed(fmap, None, engineered_features)
    if raw_features is not None:
        fmap = _renamed(fmap, raw_features, None)
    return fmap


def _renamed(fmap: FeatureMap, raw: Sequence[str] | None, engineered: Sequence[str] | None) -> FeatureMap:
    raw_names = fmap.raw_features if raw is None else [str(n) for n in raw]
    engineered_names = fmap.engineered_features if engineered is None else [str(n) for n in engineered]
    if len(raw_names) != fmap.n_raw:
        raise DataShapeError(
            f"raw_feature_names lists {len(raw_names)} names but the feature map has {fmap.n_raw} raw features"
        )
    if len(engineered_names) != fmap.n_engineered:
        raise DataShapeError(
            f"the explanation has {len(engineered_names)} features but the feature map has {fmap.n_engineered} "
            "engineered features"
        )
    return FeatureMap(fmap.weights, raw_names, engineered_names, fmap.shared, fmap.notes)


def _as_csr(matrix: Any) -> sp.csr_matrix:
    if sp.issparse(matrix):
        weights = sp.csr_matrix(matrix, dtype=np.float64)
    else:
        try:
            weights = sp.csr_matrix(np.asarray(matrix, dtype=np.float64))
        except (TypeError, ValueError) as exc:
            raise TransformationError(
                f"a feature map must be a numeric matrix of shape (n_raw, n_engineered); found {describe(matrix)}"
            ) from exc
    if weights.ndim != 2 or 0 in weights.shape:
        raise DataShapeError(f"a feature map must be a non-empty 2-D matrix; found shape {weights.shape}")
    if not np.isfinite(weights.data).all():
        raise TransformationError("a feature map must hold finite numbers; found NaN or infinite entries")
    weights.eliminate_zeros()
    weights.sort_indices()
    return weights


def _shorten(names: Sequence[str], limit: int = 6) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"output(s) {shown}{more}"
