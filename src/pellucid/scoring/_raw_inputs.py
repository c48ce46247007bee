"""Raw rows in, engineered rows out: the transformations of a scoring explainer built from an explainer given them.

An explainer built with ``transformations=`` (or a TabularExplainer that split a Pipeline) takes raw rows and
explains its model in engineered features. Its scoring explainer keeps the same contract: :class:`RawInputs`
holds the fitted transformations, the raw column names and dtypes, and the raw <- engineered feature map. It
reads raw rows (arrays, DataFrames, records keyed by raw column name; strings allowed for categorical columns),
transforms them, and maps engineered local values to raw ones for ``get_raw=True``.

Saved: the transformer through skops (scikit-learn, pellucid's or sklearn-pandas' DataFrameMapper; pickle only
when allowed), the feature map as CSR arrays in the ``.npz``, names, dtypes and notes in the manifest.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from pellucid.data import NUMPY, PANDAS, Dataset, as_dataset, feature_name
from pellucid.errors import DataShapeError, DataValueError
from pellucid.transformations import FeatureMap, SharedOutput, Transformations

__all__ = ["RawInputs"]

_MAP_ARRAYS = ("fmap_data", "fmap_indices", "fmap_indptr", "fmap_shape")


class RawInputs:
    """The raw side of a scoring explainer with transformations.

    Parameters
    ----------
    runtime : Transformations
        Fitted transformations with their feature map (``runtime.transformer`` is None for a plain feature map:
        rows are then engineered and only explanations are mapped).
    raw_features : list of str
        Raw column names, in order.
    kind : {"numpy", "pandas"}
        How raw rows are handed to the transformer: an array or a DataFrame.
    columns : list, optional
        The raw DataFrame's column labels (pandas).
    dtypes : list of str, optional
        The raw DataFrame's dtypes, one per column (pandas).
    numeric : bool, default True
        Whether raw array rows (numpy) are numbers; non-numeric arrays are passed on as objects.
    """

    def __init__(
        self,
        runtime: Transformations,
        raw_features: list[str],
        *,
        kind: str = NUMPY,
        columns: list | None = None,
        dtypes: list[str] | None = None,
        numeric: bool = True,
    ) -> None:
        self.runtime = runtime
        self.numeric = bool(numeric)
        self.raw_features = [feature_name(name) for name in raw_features]
        self.kind = kind
        self.columns = columns
        self.dtypes = dtypes

    # ------------------------------------------------------------------ from an explainer
    @classmethod
    def from_explainer(cls, explainer: Any) -> RawInputs | None:
        """The raw side of a fitted explainer, or None when it has no transformations."""
        inputs = getattr(explainer, "_inputs", None)
        if inputs is None:
            return None
        runtime = inputs.runtime
        raw_features = list(inputs.raw_features or runtime.feature_map.raw_features)
        if not runtime.transforms_rows:
            return cls(runtime, raw_features)
        source = getattr(inputs, "_raw_source", None)
        background = inputs.raw_background
        if isinstance(source, pd.DataFrame):
            return cls(runtime, raw_features, kind=PANDAS, columns=[_plain(c) for c in source.columns],
                       dtypes=[str(d) for d in source.dtypes])
        if background is not None and background.kind == PANDAS:
            return cls(runtime, raw_features, kind=PANDAS, columns=[_plain(c) for c in background.columns],
                       dtypes=[str(background.dtypes[c]) for c in background.columns])
        return cls(runtime, raw_features, numeric=background is None or background.is_numeric)

    # ------------------------------------------------------------------ properties
    @property
    def transforms_rows(self) -> bool:
        """True when the scoring explainer takes raw rows (False for a plain feature map)."""
        return self.runtime.transforms_rows

    @property
    def feature_map(self) -> FeatureMap:
        """The raw <- engineered map."""
        return self.runtime.feature_map

    # ------------------------------------------------------------------ rows
    def read(self, data: Any) -> tuple[Dataset, Dataset]:
        """(engineered rows, raw rows) of raw ``data``: an array, a DataFrame, or records keyed by raw name.

        Raises
        ------
        DataShapeError
            Wrong number of columns, unknown or missing names.
        DataValueError
            A cell that does not fit its column (text in a numeric column).
        TransformationError
            When the transformations fail on the rows.
        """
        frame = self._frame(data)
        if self.kind == PANDAS:
            raw, source = as_dataset(frame, None, name="data"), frame
            raw.feature_names = list(self.raw_features)
        else:
            raw, source = as_dataset(frame.to_numpy(), list(self.raw_features), name="data"), None
        engineered = self.runtime.engineered(raw, "data", source)
        return engineered, raw

    def _frame(self, data: Any) -> pd.DataFrame:
        names = self.raw_features
        labels = self.columns if self.columns is not None else names
        if isinstance(data, (list, tuple)) and data and all(isinstance(r, dict) for r in data):
            _check_record_names(data, names)
            frame = pd.DataFrame.from_records(list(data), columns=names)
        elif isinstance(data, pd.DataFrame):
            given = [feature_name(c) for c in data.columns]
            if len(given) != len(names) or set(given) != set(names):
                raise DataShapeError(
                    f"data must have the {len(names)} raw columns {names[:8]}{' ...' if len(names) > 8 else ''}; "
                    f"found {given[:8]}{' ...' if len(given) > 8 else ''}"
                )
            frame = data.set_axis(given, axis=1)[names]
        else:
            array = np.asarray(data, dtype=object)
            if array.ndim == 1:
                array = array.reshape(1, -1)
            if array.ndim != 2 or array.shape[1] != len(names) or array.shape[0] == 0:
                raise DataShapeError(
                    f"data must be rows of the {len(names)} raw columns {names[:8]}; found shape {array.shape}"
                )
            frame = pd.DataFrame(array, columns=names)
        frame = frame.set_axis(labels, axis=1)
        return self._cast(frame)

    def _cast(self, frame: pd.DataFrame) -> pd.DataFrame:
        if self.dtypes is None:
            if not self.numeric:
                return frame
            try:
                return frame.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise DataValueError(f"data must hold numbers for these transformations; {exc}") from exc
        columns = {}
        for label, dtype_name in zip(frame.columns, self.dtypes):
            column = frame[label]
            dtype = pd.api.types.pandas_dtype(dtype_name)
            if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
                numeric = pd.to_numeric(column.where(column.notna(), np.nan), errors="coerce")
                bad = numeric.isna() & column.notna()
                if bad.any():
                    row = int(np.flatnonzero(bad.to_numpy())[0])
                    raise DataValueError(
                        f"raw column {label!r} holds numbers; found {column.iloc[row]!r} in row {row}"
                    )
                # integer columns may receive missing values: keep them float, as pellucid's data module does
                columns[label] = numeric.astype(np.float64 if pd.api.types.is_integer_dtype(dtype) else dtype)
            else:
                columns[label] = column.astype(dtype) if dtype_name not in ("object",) else column
        return pd.DataFrame(columns, index=frame.index)

    # ------------------------------------------------------------------ values
    def raw_local(self, local: np.ndarray) -> np.ndarray:
        """Engineered local values (n, n_engineered, k) summed into raw ones (n, n_raw, k)."""
        return self.feature_map.raw_local(local)

    # ------------------------------------------------------------------ saving
    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON facts and the feature map's CSR arrays."""
        fmap = self.feature_map
        weights = sp.csr_matrix(fmap.weights)
        arrays = {
            "fmap_data": weights.data.astype(np.float64),
            "fmap_indices": weights.indices.astype(np.int64),
            "fmap_indptr": weights.indptr.astype(np.int64),
            "fmap_shape": np.asarray(weights.shape, dtype=np.int64),
        }
        state = {
            "kind": self.runtime.kind,
            "allow_all_transformations": bool(self.runtime.allow_all_transformations),
            "raw_features": list(self.raw_features),
            "engineered_features": list(fmap.engineered_features),
            "shared": [
                {"where": s.where, "outputs": list(s.outputs), "raw_features": list(s.raw_features), "reason": s.reason}
                for s in fmap.shared
            ],
            "map_notes": list(fmap.notes),
            "input_kind": self.kind,
            "columns": self.columns,
            "dtypes": self.dtypes,
            "numeric": self.numeric,
        }
        return state, arrays

    @classmethod
    def restore(cls, state: dict[str, Any], arrays: dict[str, np.ndarray], transformer: Any) -> RawInputs:
        """Rebuild from :meth:`state`'s output and the loaded transformer (None for a plain feature map)."""
        missing = [name for name in _MAP_ARRAYS if name not in arrays]
        if missing:
            raise ValueError(f"the feature map arrays {missing} are missing")
        shape = tuple(int(n) for n in np.asarray(arrays["fmap_shape"]))
        weights = sp.csr_matrix(
            (np.asarray(arrays["fmap_data"], dtype=np.float64), np.asarray(arrays["fmap_indices"], dtype=np.int64),
             np.asarray(arrays["fmap_indptr"], dtype=np.int64)), shape=shape,
        )
        fmap = FeatureMap(
            weights=weights,
            raw_features=[feature_name(n) for n in state["raw_features"]],
            engineered_features=[str(n) for n in state["engineered_features"]],
            shared=[SharedOutput(s["where"], list(s["outputs"]), list(s["raw_features"]), s["reason"])
                    for s in state.get("shared", [])],
            notes=[str(n) for n in state.get("map_notes", [])],
        )
        kind = state["kind"]
        if (transformer is None) != (kind == "feature_map"):
            raise ValueError(f"transformations of kind {kind!r} " + ("need" if transformer is None else "take no")
                             + " stored transformer")
        runtime = Transformations(transformer, kind, feature_map=fmap,
                                  allow_all_transformations=bool(state.get("allow_all_transformations")))
        input_kind = state.get("input_kind", NUMPY)
        if input_kind not in (NUMPY, PANDAS):
            raise ValueError(f"unknown raw input kind {input_kind!r}")
        dtypes = state.get("dtypes")
        if dtypes is not None:
            for name in dtypes:
                pd.api.types.pandas_dtype(name)  # raises TypeError for a dtype pandas does not know
        return cls(runtime, list(fmap.raw_features), kind=input_kind, columns=state.get("columns"), dtypes=dtypes,
                   numeric=bool(state.get("numeric", True)))


def _check_record_names(records: list[dict], names: list[str]) -> None:
    known = set(names)
    for index, record in enumerate(records):
        if len(record) != len(names) or not known.issuperset(record):
            unknown = [n for n in record if n not in known]
            missing = [n for n in names if n not in record]
            found = []
            if unknown:
                found.append(f"unknown names {unknown[:8]}")
            if missing:
                found.append(f"missing names {missing[:8]}")
            raise DataShapeError(
                f"record {index} must have exactly the raw columns {names[:8]}"
                f"{' ...' if len(names) > 8 else ''}; found {' and '.join(found)}"
            )


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
