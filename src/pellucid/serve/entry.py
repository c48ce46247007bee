"""A ``score.py``-style entry for hosts that call ``init()`` once and ``run(raw_data)`` per request.

``init(path=None)`` loads the scoring explainer from ``path``, else the folder in ``PELLUCID_SCORING_EXPLAINER``,
else the one saved somewhere under ``AZUREML_MODEL_DIR`` (the folder an Azure ML-style host mounts the registered
model in). ``run`` takes the same JSON body as ``POST /score`` and returns the same JSON answer, or
``{"error": {"type", "message", "status"}}``.

Examples
--------
>>> from pellucid.serve import entry                                   # doctest: +SKIP
>>> entry.init("scoring_explainer/")                                   # doctest: +SKIP
>>> entry.run('{"data": [[1.0, 2.0, 3.0]]}')                            # doctest: +SKIP
'{"predictions": [...], "local_importance_values": [...], ...}'
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from pellucid.errors import ArgumentError, PellucidError
from pellucid.scoring._artifact import MANIFEST_NAME
from pellucid.serve.schemas import ScoreRequest
from pellucid.serve.service import ScoringService, describe_validation_errors, error_status

__all__ = ["init", "run", "find_scoring_explainer"]

logger = logging.getLogger(__name__)

_service: ScoringService | None = None
_SEARCH_DEPTH = 4


def find_scoring_explainer(path: str | Path | None = None) -> Path:
    """The folder of the scoring explainer to load: ``path``, ``$PELLUCID_SCORING_EXPLAINER``, or the one folder
    holding a manifest under ``$AZUREML_MODEL_DIR``."""
    if path is None:
        path = os.environ.get("PELLUCID_SCORING_EXPLAINER") or None
    if path is not None:
        return Path(path)
    root = os.environ.get("AZUREML_MODEL_DIR")
    if not root:
        raise ArgumentError(
            "init() needs the scoring explainer's folder: pass path, or set PELLUCID_SCORING_EXPLAINER or "
            "AZUREML_MODEL_DIR"
        )
    root_path = Path(root)
    found = sorted(
        manifest.parent for manifest in root_path.rglob(MANIFEST_NAME)
        if len(manifest.relative_to(root_path).parts) <= _SEARCH_DEPTH
    )
    if len(found) != 1:
        raise ArgumentError(
            f"expected exactly one saved scoring explainer under AZUREML_MODEL_DIR={root}; found {len(found)}"
            + (f" ({', '.join(str(f) for f in found[:5])})" if found else "")
            + ". Set PELLUCID_SCORING_EXPLAINER to the one to use"
        )
    return found[0]


def init(path: str | Path | None = None, **options: Any) -> None:
    """Load the scoring explainer (verified; see :meth:`pellucid.scoring.ScoringExplainer.load`).

    Parameters
    ----------
    path : str or Path, optional
        The folder; default from the environment (see the module docstring).
    **options
        Passed to :class:`~pellucid.serve.service.ScoringService` (``model``, ``max_rows``, ``allow_pickle`` ...).
        ``model`` defaults to ``$PELLUCID_MODEL``, ``signing_key`` to ``$PELLUCID_SIGNING_KEY`` and
        ``require_signature`` to ``$PELLUCID_REQUIRE_SIGNATURE == "1"``.
    """
    global _service
    folder = find_scoring_explainer(path)
    options.setdefault("model", os.environ.get("PELLUCID_MODEL") or None)
    options.setdefault("signing_key", os.environ.get("PELLUCID_SIGNING_KEY") or None)
    options.setdefault("require_signature", os.environ.get("PELLUCID_REQUIRE_SIGNATURE") == "1")
    _service = ScoringService(folder, **options)
    logger.info("loaded the %s scoring explainer in %s", _service.scoring_explainer.kind, folder)


def _error(status: int, kind: str, message: str) -> str:
    return json.dumps({"error": {"type": kind, "message": message, "status": status}})


def run(raw_data: str | bytes) -> str:
    """Score a JSON request (the body of ``POST /score``) and return the JSON answer.

    Parameters
    ----------
    raw_data : str or bytes
        ``{"data": [[...], ...], "top_k": optional}`` or records ``{"data": [{"feature": value}, ...]}``.

    Returns
    -------
    str
        The answer (predictions, local_importance_values, expected_values, output_space, top_k) or an error.
    """
    from pydantic import ValidationError

    if _service is None:
        return _error(503, "not_initialised", "call init() before run(): no scoring explainer is loaded")
    try:
        request = ScoreRequest.model_validate_json(raw_data)
    except ValidationError as exc:
        problems = exc.errors()
        if any(p.get("type") == "json_invalid" for p in problems):
            return _error(400, "malformed_json", f"the request is not valid JSON ({problems[0].get('msg')})")
        return _error(422, "invalid_request", describe_validation_errors(list(problems)))
    try:
        answer = _service.score(request)
    except PellucidError as exc:
        status, kind = error_status(exc)
        if status >= 500:
            logger.exception("scoring failed")
        return _error(status, kind, str(exc))
    return json.dumps(answer, allow_nan=False, separators=(",", ":"))
