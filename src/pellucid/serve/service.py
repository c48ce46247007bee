"""The service's work, apart from HTTP: turn a validated request into predictions and local importance values.

:class:`ScoringService` is shared by the FastAPI app (:mod:`pellucid.serve.app`) and the ``score.py``-style
helper (:mod:`pellucid.serve.entry`). Problems with a request raise pellucid errors; :func:`error_status` maps
each to an HTTP status and a machine-readable type.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np

from pellucid._version import __version__
from pellucid.errors import (
    ArgumentError,
    DataShapeError,
    DataValueError,
    EmptyDataError,
    ModelInterfaceError,
    PellucidError,
    TransformationError,
    UnsafeArtifactError,
)
from pellucid.explanation import CLASSIFICATION
from pellucid.scoring import ScoringExplainer
from pellucid.scoring._artifact import FORMAT_VERSION
from pellucid.scoring._model_files import load_model_file
from pellucid.scoring.base import PreparedRows
from pellucid.serve.schemas import ScoreRequest

__all__ = ["ScoringService", "TooManyRowsError", "error_status", "DEFAULT_MAX_ROWS", "DEFAULT_MAX_BODY_BYTES",
           "describe_validation_errors"]

logger = logging.getLogger(__name__)

DEFAULT_MAX_ROWS = 1000
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024


class TooManyRowsError(DataShapeError):
    """A request holds more rows than the service accepts in one batch."""


# (error class, HTTP status, type), most specific first.
_STATUS: tuple[tuple[type[Exception], int, str], ...] = (
    (TooManyRowsError, 413, "too_many_rows"),
    (EmptyDataError, 422, "empty_data"),
    (DataShapeError, 422, "wrong_shape"),
    (DataValueError, 422, "invalid_value"),
    (ArgumentError, 422, "invalid_argument"),
    (TransformationError, 422, "transformation_failed"),
)


def error_status(error: Exception) -> tuple[int, str]:
    """HTTP status and error type for an exception raised while scoring (500 for anything unexpected)."""
    for error_class, status, kind in _STATUS:
        if isinstance(error, error_class):
            return status, kind
    return 500, "internal_error"


class ScoringService:
    """Scores requests with a scoring explainer and, optionally, a separate model for the predictions.

    Parameters
    ----------
    scoring_explainer : ScoringExplainer or str or Path
        The scoring explainer, or the folder it was saved in.
    model : object or str or Path, optional
        The model whose predictions are returned (a model object, or a LightGBM .txt, XGBoost .json or .skops
        file); default: the scoring explainer's own stored model or state.
    max_rows : int, default 1000
        Rows accepted in one request.
    max_body_bytes : int, default 8 MiB
        Largest request body accepted (enforced by the HTTP layer).
    allow_pickle : bool, default False
        Accept a pickled model (in the artifact or as ``model``): only for files you trust.
    signing_key : str or bytes, optional
        Demand a valid signature on the artifact's manifest (a signed artifact is refused without it).
    require_signature : bool, default False
        Refuse to serve an unsigned artifact: a folder then needs ``signing_key``. Without it, an unsigned
        artifact is served with a loud warning at start-up (its checksums do not authenticate it).
    """

    def __init__(
        self,
        scoring_explainer: ScoringExplainer | str | Path,
        model: Any = None,
        *,
        max_rows: int = DEFAULT_MAX_ROWS,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        allow_pickle: bool = False,
        signing_key: str | bytes | None = None,
        require_signature: bool = False,
    ) -> None:
        for name, value in (("max_rows", max_rows), ("max_body_bytes", max_body_bytes)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ArgumentError(f"{name} must be a positive integer; found {value!r}")
        if isinstance(scoring_explainer, (str, Path)):
            scoring_explainer = _load_verified(scoring_explainer, allow_pickle, signing_key, require_signature)
        elif require_signature:
            raise ArgumentError(
                "require_signature=True checks a saved artifact's signature; expected the folder of a signed "
                f"scoring explainer, found an in-memory {type(scoring_explainer).__name__}"
            )
        if not isinstance(scoring_explainer, ScoringExplainer):
            raise ArgumentError(
                f"expected a ScoringExplainer or the folder it was saved in; found {type(scoring_explainer).__name__}"
            )
        if isinstance(model, (str, Path)):
            model = load_model_file(model, allow_pickle=allow_pickle)
        if model is not None and not callable(getattr(model, "predict", None)):
            raise ModelInterfaceError(f"the model must have a predict method; found {type(model).__name__}")
        self.scoring_explainer = scoring_explainer
        self.model = model
        self.max_rows = int(max_rows)
        self.max_body_bytes = int(max_body_bytes)
        self._expected_values = scoring_explainer.expected_values.tolist()
        scoring_explainer.warm_up()

    # ------------------------------------------------------------------ requests
    def rows(self, request: ScoreRequest) -> PreparedRows:
        """The request's rows validated (and transformed when the explainer has transformations)."""
        data = request.data
        if len(data) > self.max_rows:
            raise TooManyRowsError(
                f"a request may hold at most {self.max_rows} rows; found {len(data)}. Split the batch"
            )
        scoring = self.scoring_explainer
        records = [isinstance(row, dict) for row in data]
        if any(records) and not all(records):
            raise DataShapeError("rows must all be lists of values or all be records {column: value}; found both")
        if not all(records):
            width = len(scoring.input_features)
            bad = next((i for i, row in enumerate(data) if len(row) != width), None)
            if bad is not None:
                raise DataShapeError(
                    f"each row must hold {width} values, one per column; row {bad} holds {len(data[bad])}"
                )
        return scoring.prepare(data)

    def score(self, request: ScoreRequest) -> dict[str, Any]:
        """Predictions and local importance values for a request's rows (one vectorised call for the batch).

        Returns
        -------
        dict
            ``predictions``, ``local_importance_values`` (SDK layout), ``expected_values``, ``features``,
            ``output_space`` and, when ``top_k`` is set, ``top_k`` {names, values}.
        """
        prepared = self.rows(request)
        explanation = self.scoring_explainer.explain_local(prepared, get_raw=request.get_raw)
        predictions = self.predict(prepared)
        _check_finite(explanation.local_values, predictions)
        answer: dict[str, Any] = {
            "predictions": predictions.tolist(),
            "local_importance_values": explanation.local_importance_values,
            "expected_values": explanation.expected_values_array.tolist(),
            "features": explanation.features,
            "output_space": self.scoring_explainer.output_space,
        }
        if request.top_k is not None:
            k = min(int(request.top_k), explanation.n_features)
            answer["top_k"] = {
                "names": explanation.get_ranked_local_names(k),
                "values": explanation.get_ranked_local_values(k),
            }
        return answer

    def predict(self, prepared: PreparedRows) -> np.ndarray:
        """Predictions for prepared rows: from the given model when there is one, else the scoring explainer's.

        A given model receives the rows as the client sent them (the raw columns when the explainer has
        transformations, so it is the whole pipeline); the scoring explainer's own model receives the
        engineered rows it explains.
        """
        if self.model is None:
            return np.asarray(self.scoring_explainer.predict(prepared))
        return _model_predictions(self.model, prepared, self.scoring_explainer)

    # ------------------------------------------------------------------ description
    def metadata(self) -> dict[str, Any]:
        """What the service explains: names, task, kind, limits and versions."""
        scoring = self.scoring_explainer
        versions = {"pellucid": __version__, "artifact_format": str(FORMAT_VERSION), "python": sys.version.split()[0],
                    "numpy": np.__version__}
        for name in ("fastapi", "pydantic", "sklearn", "lightgbm", "xgboost"):
            module = sys.modules.get(name)
            if module is not None:
                versions[name] = str(getattr(module, "__version__", "unknown"))
        return {
            "kind": scoring.kind,
            "method": scoring.method,
            "task": scoring.task,
            "features": scoring.output_features(),
            "input_features": list(scoring.input_features),
            "raw_features": None if scoring.raw_inputs is None else list(scoring.raw_inputs.feature_map.raw_features),
            "default_raw": bool(scoring.default_raw),
            "classes": None if scoring.classes is None else [_plain(c) for c in scoring.classes],
            "output_space": scoring.output_space,
            "expected_values": self._expected_values,
            "allows_missing": bool(scoring.allows_missing),
            "prediction_source": "scoring explainer" if self.model is None else f"model {_type_name(self.model)}",
            "max_rows": self.max_rows,
            "max_body_bytes": self.max_body_bytes,
            "versions": versions,
        }


def _check_finite(local_values: np.ndarray, predictions: np.ndarray) -> None:
    """DataValueError when finite but huge cells (e.g. 1e308) overflowed the values or predictions to inf/NaN,
    which JSON cannot carry: the client's rows are out of range, not the service broken."""
    bad = ~np.isfinite(local_values).reshape(len(local_values), -1).all(axis=1)
    if predictions.dtype.kind in "fc":
        bad |= ~np.isfinite(predictions.reshape(len(predictions), -1)).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        shown = ", ".join(str(i) for i in rows[:10]) + (" ..." if len(rows) > 10 else "")
        raise DataValueError(
            f"expected cells small enough for finite values and predictions; rows {shown} overflowed to inf or NaN "
            "(their magnitudes are out of the model's range). Send values in the range the model was trained on"
        )


def _load_verified(folder: str | Path, allow_pickle: bool, signing_key: str | bytes | None,
                   require_signature: bool) -> ScoringExplainer:
    """Load the artifact, verifying its signature when a key is configured; warn loudly when it is unsigned."""
    if require_signature and signing_key is None:
        raise UnsafeArtifactError(
            f"refusing to serve {folder}: a signed artifact is required (require_signature) and no signing key is "
            "configured; set PELLUCID_SIGNING_KEY or pass --signing-key-env"
        )
    scoring = ScoringExplainer.load(folder, allow_pickle=allow_pickle, signing_key=signing_key)
    if not scoring.signature_verified:
        logger.warning(
            "SERVING AN UNSIGNED ARTIFACT from %s: its checksums catch corruption but not deliberate edits, so "
            "anyone who could write that folder controls what is served (labels, values). Save it with "
            "signing_key= and serve it with a signing key (or --require-signature to refuse unsigned artifacts)",
            folder,
        )
    return scoring


def _model_predictions(model: Any, prepared: PreparedRows, scoring: ScoringExplainer) -> np.ndarray:
    n_rows = len(prepared)
    if prepared.raw is not None:
        model_input: Any = prepared.raw.to_model_input()
    else:
        model_input = prepared.values
        if getattr(model, "feature_names_in_", None) is not None:
            import pandas as pd

            model_input = pd.DataFrame(prepared.values, columns=list(model.feature_names_in_))
    try:
        output = np.asarray(model.predict(model_input))
    except PellucidError:
        raise
    except Exception as exc:
        raise ModelInterfaceError(f"the model's predict failed on {n_rows} rows: {type(exc).__name__}: {exc}") from exc
    if _type_name(model) == "lightgbm.basic.Booster" and scoring.task == CLASSIFICATION:
        # A LightGBM Booster predicts class probabilities; answer with labels like the other models.
        probabilities = output.reshape(n_rows, -1)
        if probabilities.shape[1] == 1:
            probabilities = np.column_stack([1.0 - probabilities[:, 0], probabilities[:, 0]])
        return np.asarray(scoring.classes)[np.argmax(probabilities, axis=1)]
    output = output.reshape(n_rows) if output.ndim == 2 and output.shape[1] == 1 else output
    return scoring.as_explained_labels(output, getattr(model, "classes_", None))


def _type_name(model: Any) -> str:
    return f"{type(model).__module__}.{type(model).__qualname__}"


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def describe_validation_errors(errors: list[dict]) -> str:
    """One readable line from pydantic validation errors: where, what was expected, what was found."""
    parts = []
    for error in errors[:5]:
        loc = list(error.get("loc", ()))
        # drop FastAPI's "body" root and the row-kind tags ("values"/"record") that follow a row index
        keep = [part for i, part in enumerate(loc) if not (i == 0 and part == "body") and not (
            part in ("values", "record") and i > 0 and isinstance(loc[i - 1], int))]
        location = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in keep).lstrip(".")
        found = repr(error.get("input"))
        found = found if len(found) <= 40 else found[:37] + "..."
        parts.append(f"{location or 'body'}: {error.get('msg')} (found {found})")
    more = f"; and {len(errors) - 5} more problems" if len(errors) > 5 else ""
    return "; ".join(parts) + more
