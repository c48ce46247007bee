"""The ScoringExplainer base class: explain and predict at inference time, save to and load from a folder.

A scoring explainer is built from a fitted explainer and keeps only what scoring needs (coefficients and a
reference point, a tree ensemble, a model with a small background). It answers in the old SDK's layout:
``explain(data)`` returns local importance values as nested lists, ``[classes][rows][features]`` for a classifier
and ``[rows][features]`` for a regressor. ``explain_local(data)`` returns the full
:class:`~pellucid.explanation.Explanation` (with expected values and model output).

Saving writes a folder (see :mod:`pellucid.scoring._artifact`); loading verifies it and never unpickles unless
the caller allows it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from pellucid.errors import DataValueError, UnsafeArtifactError
from pellucid.explanation import CLASSIFICATION, Explanation
from pellucid.scoring import _artifact
from pellucid.scoring._model_files import serialize_model
from pellucid.scoring._persist import collect_parts, restore_parts
from pellucid.scoring._raw_inputs import RawInputs
from pellucid.scoring._rows import RowReader

__all__ = ["ScoringExplainer", "PreparedRows", "KINDS", "save", "load"]

logger = logging.getLogger(__name__)

#: kind -> class of every scoring explainer this pellucid can rebuild; each subclass that declares a ``kind``
#: registers itself (``pellucid.scoring`` imports all of them).
KINDS: dict[str, type[ScoringExplainer]] = {}

# Rows explained per vectorised call: bounds the memory of one call on a large batch.
DEFAULT_CHUNK_ROWS = 10_000


@dataclass
class PreparedRows:
    """Rows validated (and transformed) once, to explain and predict without reading them twice.

    Attributes
    ----------
    values : ndarray of shape (n_rows, n_features)
        The explained (engineered) features as float64.
    raw : Dataset or None
        The raw rows they came from, when the scoring explainer has transformations.
    """

    values: np.ndarray
    raw: Any = None

    def __len__(self) -> int:
        return len(self.values)


class ScoringExplainer:
    """A small explainer for inference: local importance values and predictions for batches of rows.

    Subclasses set, in ``__init__`` (from a fitted explainer) and in :meth:`_restore` (from a saved folder):
    ``features``, ``classes``, ``task``, ``output_space``, ``method``, ``notes``, ``allows_missing`` and
    ``model`` (the model used for predictions, or None when the state itself predicts).

    Attributes
    ----------
    features : list of str
        Feature names, in column order.
    classes : list or None
        Class labels of a classifier, None for a regressor.
    task : {"classification", "regression"}
    output_space : str
        The space the values explain: ``"probability"``, ``"log_odds"``, ``"logit"``, ``"margin"`` or ``"raw"``.
    allows_missing : bool
        Whether NaN (JSON null) cells are accepted: true for tree ensembles that route missing values.
    """

    kind: ClassVar[str] = "base"
    _required_arrays: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:  # a kind that can be saved and loaded
            KINDS[cls.kind] = cls

    features: list[str]
    classes: list | None
    task: str
    output_space: str
    method: str
    notes: list[str]
    allows_missing: bool = False
    model: Any = None
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    #: the raw side when the explainer had transformations (raw rows in, raw values out), else None
    raw_inputs: RawInputs | None = None
    #: what explain returns by default: raw features (True, when the explainer had transformations, as in the
    #: SDK) or the explained ones (False)
    default_raw: bool = False
    #: True when loaded from a signed artifact whose signature was verified with the caller's key
    signature_verified: bool = False

    # ------------------------------------------------------------------ to implement
    def _local(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Local values (n, m, k), expected values (k,) and model output (n, k) in ``output_space``."""
        raise NotImplementedError

    def _predict(self, values: np.ndarray) -> np.ndarray:
        """Predictions of the stored state for rows (n, m): labels for a classifier, values for a regressor."""
        raise NotImplementedError

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON parameters and numeric arrays that rebuild this explainer."""
        raise NotImplementedError

    @classmethod
    def _restore(cls, header: dict[str, Any], state: dict[str, Any], arrays: dict[str, np.ndarray], model: Any):
        """Rebuild from a saved folder's parts (already verified); KeyError/TypeError/ValueError for bad parts."""
        raise NotImplementedError

    @classmethod
    def _check_restore(cls, state: dict[str, Any], model: Any) -> None:
        """Raise ArgumentError when loading needs something from the caller that was not given."""

    # ------------------------------------------------------------------ shapes
    @property
    def n_features(self) -> int:
        """Number of features."""
        return len(self.features)

    @property
    def n_outputs(self) -> int:
        """Outputs per row: one per class for a classifier, one for a regressor."""
        return len(self.classes) if self.task == CLASSIFICATION else 1

    @property
    def expected_values(self) -> np.ndarray:
        """The expected model output in ``output_space``, ndarray of shape (n_outputs,)."""
        _, expected, _ = self._local(self._probe_row())
        return expected

    @property
    def expected_value(self) -> list[float]:
        """Expected values as a list (SDK/shap name)."""
        return self.expected_values.tolist()

    def _probe_row(self) -> np.ndarray:
        """A valid row for warming up: zeros unless a subclass knows a better one (a background row)."""
        return np.zeros((1, self.n_features))

    def warm_up(self) -> None:
        """Explain and predict one row, so compiled kernels and caches are ready before the first request."""
        probe = self._probe_row()
        self._local(probe)
        self._predict(probe)

    # ------------------------------------------------------------------ input
    @property
    def input_features(self) -> list[str]:
        """Names of the columns :meth:`explain` and :meth:`predict` take: the raw columns when the explainer has
        transformations that transform rows, else :attr:`features`."""
        raw = self.raw_inputs
        return raw.raw_features if raw is not None and raw.transforms_rows else self.features

    def prepare(self, data: Any) -> PreparedRows:
        """Validate rows (and transform raw ones) once; the result can be passed to explain and predict.

        Parameters
        ----------
        data : array-like of shape (n_rows, n_inputs) or (n_inputs,), DataFrame, list of rows or of dicts
            Rows to score, with the columns of :attr:`input_features`. DataFrame columns and dict keys are
            matched by name (any order); ``None`` marks a missing value.

        Returns
        -------
        PreparedRows

        Raises
        ------
        DataShapeError
            Wrong number of columns, unknown or missing names, no rows.
        DataValueError
            Non-numeric cells (where numbers are expected), infinite cells, or NaN cells when ``allows_missing``
            is false.
        """
        if isinstance(data, PreparedRows):
            return data
        raw = self.raw_inputs
        if raw is None or not raw.transforms_rows:
            return PreparedRows(self.read_rows(data), None)
        engineered, raw_rows = raw.read(data)
        if not engineered.is_numeric:
            raise DataValueError("the transformations must produce numbers; they produced non-numeric columns")
        self._check_values(engineered.values)
        return PreparedRows(engineered.values, raw_rows)

    def read_rows(self, data: Any) -> np.ndarray:
        """Validate numeric rows of :attr:`features` and return them as float64, shape (n_rows, n_features).

        Parameters
        ----------
        data : array-like of shape (n_rows, n_features) or (n_features,), DataFrame, list of rows or of dicts
            Rows to score. DataFrame columns and dict keys are matched to the feature names (any order).

        Raises
        ------
        DataShapeError
            Wrong number of features, unknown or missing feature names, no rows.
        DataValueError
            Non-numeric cells, infinite cells, or NaN cells when ``allows_missing`` is false.
        """
        return self._row_reader().read(data)

    def _check_values(self, values: np.ndarray) -> None:
        self._row_reader().check(values)

    def _row_reader(self) -> RowReader:
        return RowReader(self.features, allows_missing=self.allows_missing, kind=self.kind)

    # ------------------------------------------------------------------ scoring
    def explain_local(self, data: Any, get_raw: bool | None = None) -> Explanation:
        """Explain rows, returning the full :class:`~pellucid.explanation.Explanation`.

        Parameters
        ----------
        data : array-like of shape (n_rows, n_inputs), DataFrame, list of dicts, or PreparedRows
            Rows to explain, with the columns of :attr:`input_features` (raw columns when the explainer has
            transformations).
        get_raw : bool, optional
            True: values of the raw features (engineered values summed through the transformations' feature
            map); False: values of the engineered features. Default :attr:`default_raw`: raw features when the
            explainer had transformations (or was a TabularExplainer that split a Pipeline), as in the SDK.

        Returns
        -------
        Explanation
            Local values of shape (n_rows, n_features, n_outputs), expected values and model output.
        """
        get_raw = self.default_raw if get_raw is None else bool(get_raw)
        prepared = self.prepare(data)
        values = prepared.values
        parts = [self._local(values[start : start + self.chunk_rows]) for start in range(0, len(values), self.chunk_rows)]
        local = np.concatenate([p[0] for p in parts], axis=0)
        output = np.concatenate([p[2] for p in parts], axis=0)
        expected = parts[0][1]
        features, is_raw, notes = self.features, False, list(self.notes)
        if get_raw:
            local, features, raw_notes = self._to_raw(local)
            is_raw = True
            notes.extend(raw_notes)
        return Explanation(
            method=self.method,
            task=self.task,
            features=features,
            classes=self.classes if self.task == CLASSIFICATION else None,
            local_values=local,
            expected_values=expected,
            model_output=output,
            is_raw=is_raw,
            meta={"output_space": self.output_space, "scoring_explainer": self.kind, "notes": notes},
        )

    def explain(self, data: Any, get_raw: bool | None = None) -> list:
        """Local importance values of rows in the SDK's layout.

        Parameters
        ----------
        data : array-like of shape (n_rows, n_inputs), DataFrame or list of dicts
            Rows to explain (raw columns when the explainer has transformations).
        get_raw : bool, optional
            Values of the raw features (True) or of the engineered ones (False); default :attr:`default_raw`.

        Returns
        -------
        list
            ``[n_classes][n_rows][n_features]`` for a classifier, ``[n_rows][n_features]`` for a regressor.
        """
        return self.explain_local(data, get_raw=get_raw).local_importance_values

    def predict(self, data: Any) -> np.ndarray:
        """Predictions for rows: class labels for a classifier, values for a regressor.

        Parameters
        ----------
        data : array-like of shape (n_rows, n_inputs), DataFrame, list of dicts, or PreparedRows

        Returns
        -------
        ndarray of shape (n_rows,)
        """
        return self._predict(self.prepare(data).values)

    def output_features(self, get_raw: bool | None = None) -> list[str]:
        """Names of the explained features: raw ones when ``get_raw`` (default :attr:`default_raw`)."""
        get_raw = self.default_raw if get_raw is None else bool(get_raw)
        return list(self.raw_inputs.feature_map.raw_features) if get_raw and self.raw_inputs else list(self.features)

    def _to_raw(self, local: np.ndarray) -> tuple[np.ndarray, list[str], list[str]]:
        if self.raw_inputs is None:
            note = "get_raw=True: the explainer had no transformations, so its features are the raw features"
            logger.info(note)
            return local, self.features, [note]
        return self.raw_inputs.raw_local(local), list(self.raw_inputs.feature_map.raw_features), []

    def _adopt_transformations(self, explainer: Any) -> None:
        """Keep the raw side of an explainer given transformations (subclasses call it first)."""
        self.raw_inputs = RawInputs.from_explainer(explainer)
        self.default_raw = self.raw_inputs is not None

    def as_explained_labels(self, predicted: np.ndarray, model_classes: Any) -> np.ndarray:
        """A model's predicted labels in this explainer's class labels (the names its explanations use).

        When the explainer was given ``classes`` (e.g. ``["malignant", "benign"]``) for a model whose
        ``classes_`` are ``[0, 1]``, the model's predictions are translated by position.
        """
        predicted = np.asarray(predicted)
        if self.task != CLASSIFICATION or model_classes is None:
            return predicted
        model_classes = list(np.asarray(model_classes).tolist())
        if model_classes == list(self.classes) or len(model_classes) != len(self.classes):
            return predicted
        position = pd.Index(model_classes).get_indexer(predicted.ravel())
        if (position < 0).any():
            return predicted
        return np.asarray(self.classes)[position]

    def _labels(self, scores: np.ndarray) -> np.ndarray:
        """Class labels from per-class scores (n, k): the label of the highest score."""
        return np.asarray(self.classes)[np.argmax(scores, axis=1)]

    # ------------------------------------------------------------------ saving
    def _model_parts(self, allow_pickle: bool) -> tuple[dict[str, Any], dict[str, np.ndarray], dict]:
        """How the model is stored: (state entries, arrays, files {name: (format, role, bytes)})."""
        name, file_format, content, info = serialize_model(self.model, allow_pickle=allow_pickle)
        return {"model": info}, {}, {name: (file_format, "model", content)}

    def _header(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "features": list(self.features),
            "classes": None if self.classes is None else [_plain(c) for c in self.classes],
            "output_space": self.output_space,
            "method": self.method,
            "allows_missing": bool(self.allows_missing),
            "default_raw": bool(self.default_raw),
            "input_features": list(self.input_features),
            "notes": list(self.notes),
        }

    def save(
        self,
        path: str | Path,
        *,
        exist_ok: bool = False,
        allow_pickle: bool = False,
        signing_key: str | bytes | None = None,
    ) -> Path:
        """Save to a folder: a JSON manifest with checksums, the arrays as .npz, and the model in a safe format.

        Parameters
        ----------
        path : str or Path
            Target folder (created; must be empty unless ``exist_ok``).
        exist_ok : bool, default False
            Overwrite a saved scoring explainer in that folder.
        allow_pickle : bool, default False
            Store a model that has no safe format (not LightGBM, XGBoost or scikit-learn) as a pickle. Loading
            it will then need ``allow_pickle=True`` too.
        signing_key : str or bytes, optional
            Sign the manifest with HMAC-SHA256 (at least 16 bytes); pass the same key to :meth:`load`.

        Returns
        -------
        Path
            The folder.
        """
        state, arrays, extra_files = collect_parts(self, allow_pickle=allow_pickle)
        return _artifact.write_artifact(
            path,
            kind=self.kind,
            header=self._header(),
            state=state,
            arrays=arrays,
            extra_files=extra_files,
            exist_ok=exist_ok,
            signing_key=signing_key,
        )

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        allow_pickle: bool = False,
        signing_key: str | bytes | None = None,
        model: Any = None,
    ) -> ScoringExplainer:
        """Load a scoring explainer saved by :meth:`save`, after verifying the folder.

        Parameters
        ----------
        path : str or Path
            The folder.
        allow_pickle : bool, default False
            Accept a model stored as a pickle (it runs code when loaded: only for artifacts you trust).
        signing_key : str or bytes, optional
            Demand a valid manifest signature made with this key. A signed artifact never loads without it (nor
            with a wrong key); without a key only an unsigned artifact loads, whose checksums catch accidents but
            not deliberate edits (see the threat model in the scoring docs).
        model : torch.nn.Module, optional
            For a deep scoring explainer saved with the weights of a network whose architecture is your own
            class: an instance of it, into which the stored weights are loaded.

        Returns
        -------
        ScoringExplainer
            An instance of the saved kind (when called on a subclass, it must be that kind).

        Raises
        ------
        UnsafeArtifactError
            When the folder fails any check (see :mod:`pellucid.scoring._artifact`), or is signed and no (or the
            wrong) ``signing_key`` was given; nothing is deserialised then.
        """
        manifest = _artifact.read_manifest(
            path, known_kinds=tuple(KINDS), allow_pickle=allow_pickle, signing_key=signing_key
        )
        target = KINDS[manifest.kind]
        if cls is not ScoringExplainer and not issubclass(target, cls):
            raise UnsafeArtifactError(
                f"{path} holds a {manifest.kind!r} scoring explainer; {cls.__name__}.load expected a {cls.kind!r} one"
            )
        explainer = restore_parts(manifest, target, allow_pickle=allow_pickle, model=model)
        explainer.signature_verified = manifest.signed
        logger.info("loaded a %s scoring explainer (pellucid %s, %s) from %s", manifest.kind,
                    manifest.document["pellucid_version"], "signature verified" if manifest.signed else "unsigned", path)
        return explainer

    def __repr__(self) -> str:
        what = f"{len(self.classes)} classes" if self.task == CLASSIFICATION else "regression"
        return f"{type(self).__name__}({self.n_features} features, {what}, output_space={self.output_space!r})"


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def save(scoring_explainer: ScoringExplainer, directory: str | Path = ".", exist_ok: bool = False,
         **options: Any) -> Path:
    """Save a scoring explainer to ``directory`` (SDK-style function; see :meth:`ScoringExplainer.save`).

    ``directory`` defaults to the working folder, as the SDK's ``save`` did (its files are written there).
    """
    return scoring_explainer.save(directory, exist_ok=exist_ok, **options)


def load(directory: str | Path = ".", **options: Any) -> ScoringExplainer:
    """Load a scoring explainer from ``directory``, by default the working folder (SDK-style function; see
    :meth:`ScoringExplainer.load`)."""
    return ScoringExplainer.load(directory, **options)
