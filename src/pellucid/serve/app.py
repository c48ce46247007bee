"""The explanation web service: a FastAPI app factory (there is no module-level app object).

Endpoints: ``POST /score`` (predictions and local importance values for a batch of rows), ``GET /health``,
``GET /metadata``, and the OpenAPI docs at ``/docs`` and ``/openapi.json``. Every error answers
``{"error": {"type": ..., "message": ...}}`` with a 4xx status for the client's mistakes: 400 malformed JSON,
401 missing or wrong API key (header ``X-API-Key``), 413 body or batch too large, 415 not JSON, 422 a body that
does not fit the schema or the explainer (feature count, names, non-numbers, NaN/inf, empty batch).

Examples
--------
>>> app = create_app("scoring_explainer/", api_key="s3cret")        # doctest: +SKIP
>>> import uvicorn; uvicorn.run(app, host="127.0.0.1", port=8000)    # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from pellucid._version import __version__
from pellucid.errors import ArgumentError, PellucidError, require
from pellucid.scoring import ScoringExplainer
from pellucid.serve.schemas import ErrorResponse, Health, Metadata, ScoreRequest, ScoreResponse
from pellucid.serve.service import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_ROWS,
    ScoringService,
    describe_validation_errors,
    error_status,
)

__all__ = ["create_app", "create_app_from_env", "API_KEY_HEADER"]

logger = logging.getLogger(__name__)

API_KEY_HEADER = "X-API-Key"
_PROTECTED_PATHS = ("/score", "/metadata")
_BODY_METHODS = ("POST", "PUT", "PATCH")
# A client announcing a body larger than this is answered 413 at once; smaller over-limit bodies are read
# (and dropped) first, so the client gets the answer instead of a reset connection.
_DRAIN_LIMIT_BYTES = 64 * 1024 * 1024
_ENDPOINTS = "POST /score, GET /health, GET /metadata, GET /docs, GET /openapi.json"
_STATUS_TYPES = {400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
                 408: "request_timeout", 413: "body_too_large", 415: "unsupported_media_type", 422: "invalid_request"}
#: Seconds a client has to send a request's whole body once its headers arrived (a stalled body is answered 408
#: and its connection closed, instead of holding a connection forever).
DEFAULT_READ_TIMEOUT = 30.0


def _error_json(status: int, kind: str, message: str) -> Any:
    from starlette.responses import JSONResponse

    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status)


class _RequestGuard:
    """ASGI middleware run before routing: API key, content type and body size, without parsing the body.

    The body is read here, up to ``max_body_bytes`` and within ``read_timeout`` seconds, and handed on whole; a
    larger one is refused with 413, a slower one with 408 (and the connection closed).
    """

    def __init__(self, app: Any, *, api_key: str | None, max_body_bytes: int,
                 read_timeout: float = DEFAULT_READ_TIMEOUT) -> None:
        self.app = app
        self.api_key = api_key.encode("utf-8") if api_key is not None else None
        self.max_body_bytes = max_body_bytes
        self.read_timeout = read_timeout

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from starlette.datastructures import Headers

        headers = Headers(scope=scope)
        refusal = self._check_key(scope["path"], headers)
        if refusal is None and scope["method"] in _BODY_METHODS:
            refusal = self._check_type_and_length(headers)
        if refusal is not None:
            await self._answer(refusal, scope, receive, send, headers)
            return
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        body = bytearray()
        deadline = time.monotonic() + self.read_timeout
        while True:
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                await self._timed_out(len(body), scope, receive, send)
                return
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes:
                await self._answer(self._too_large(len(body), more=True), scope, receive, send, headers)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(bytes(body), receive), send)

    def _check_key(self, path: str, headers: Any) -> tuple[int, str, str] | None:
        if self.api_key is None or path not in _PROTECTED_PATHS:
            return None
        given = headers.get(API_KEY_HEADER)
        if given is None:
            return 401, "missing_api_key", f"this service needs an API key in the {API_KEY_HEADER} header; none was sent"
        # Starlette decodes header bytes as latin-1: encoding back gives the bytes the client sent
        if not hmac.compare_digest(given.encode("latin-1"), self.api_key):
            return 401, "wrong_api_key", f"the API key in the {API_KEY_HEADER} header is not valid"
        return None

    def _check_type_and_length(self, headers: Any) -> tuple[int, str, str] | None:
        content_type = headers.get("content-type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            return 415, "unsupported_media_type", (
                f"the body must be JSON sent with Content-Type: application/json; found {content_type or 'none'!r}"
            )
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return 400, "bad_request", f"Content-Length must be a whole number; found {length!r}"
            if int(length) > self.max_body_bytes:
                return self._too_large(int(length), more=False)
        return None

    def _too_large(self, size: int, *, more: bool) -> tuple[int, str, str]:
        found = f"more than {size}" if more else str(size)
        return 413, "body_too_large", (
            f"the body may be at most {self.max_body_bytes} bytes; found {found} bytes. Send fewer rows per request"
        )

    async def _timed_out(self, received: int, scope: dict, receive: Any, send: Any) -> None:
        logger.info("refused %s %s: the body did not arrive within %g s", scope["method"], scope["path"],
                    self.read_timeout)
        response = _error_json(408, "request_timeout", (
            f"expected the whole request body within {self.read_timeout:g} s of its headers; found {received} bytes "
            "by then. Send the body at once"
        ))
        response.headers["Connection"] = "close"
        await response(scope, receive, send)

    async def _answer(self, refusal: tuple[int, str, str], scope: dict, receive: Any, send: Any, headers: Any) -> None:
        status, kind, message = refusal
        length = headers.get("content-length")
        drained = True
        if scope["method"] in _BODY_METHODS and (length is None or (length.isdigit() and int(length) <= _DRAIN_LIMIT_BYTES)):
            try:
                await asyncio.wait_for(_drain(receive, _DRAIN_LIMIT_BYTES), self.read_timeout)
            except asyncio.TimeoutError:
                drained = False
        if status in (401, 413):
            logger.info("refused %s %s: %s", scope["method"], scope["path"], kind)
        response = _error_json(status, kind, message)
        if status == 413 or not drained:
            response.headers["Connection"] = "close"
        await response(scope, receive, send)


async def _drain(receive: Any, limit: int) -> None:
    read = 0
    while read <= limit:
        message = await receive()
        if message["type"] != "http.request":
            return
        read += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def _replay(body: bytes, receive: Any) -> Any:
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def create_app(
    scoring_explainer_dir_or_object: ScoringExplainer | str | Path,
    model: Any = None,
    *,
    api_key: str | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    allow_pickle: bool = False,
    signing_key: str | bytes | None = None,
    require_signature: bool = False,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
) -> Any:
    """Build the explanation service as a FastAPI app.

    Parameters
    ----------
    scoring_explainer_dir_or_object : ScoringExplainer or str or Path
        A scoring explainer, or the folder it was saved in (verified before use).
    model : object or str or Path, optional
        Model for the predictions (object, or a LightGBM .txt, XGBoost .json or .skops file); default the
        scoring explainer's own.
    api_key : str, optional
        When set, ``/score`` and ``/metadata`` need it in the ``X-API-Key`` header.
    max_rows : int, default 1000
        Rows accepted per request (more: 413).
    max_body_bytes : int, default 8 MiB
        Largest request body (larger: 413).
    allow_pickle : bool, default False
        Accept a pickled model (only for files you trust).
    signing_key : str or bytes, optional
        Demand a valid signature on the artifact's manifest (a signed artifact is refused without it).
    require_signature : bool, default False
        Refuse an unsigned artifact (then ``signing_key`` is needed). Without it, an unsigned artifact is served
        with a loud warning in the log.
    read_timeout : float, default 30
        Seconds a client has to send a request's body after its headers; slower: 408 and the connection closed.

    Returns
    -------
    fastapi.FastAPI
    """
    fastapi = require("fastapi", "serve")
    from fastapi.exceptions import RequestValidationError
    from fastapi.security import APIKeyHeader
    from starlette.exceptions import HTTPException
    from starlette.responses import Response

    if api_key is not None and (not isinstance(api_key, str) or not api_key):
        raise ArgumentError("api_key must be a non-empty string or None")
    if (isinstance(read_timeout, bool) or not isinstance(read_timeout, (int, float)) or not read_timeout > 0
            or read_timeout == float("inf")):
        raise ArgumentError(f"read_timeout must be a positive, finite number of seconds; found {read_timeout!r}")
    service = ScoringService(
        scoring_explainer_dir_or_object, model, max_rows=max_rows, max_body_bytes=max_body_bytes,
        allow_pickle=allow_pickle, signing_key=signing_key, require_signature=require_signature,
    )
    scoring = service.scoring_explainer
    app = fastapi.FastAPI(
        title="pellucid explanation service",
        version=__version__,
        description=(
            f"Predictions and local feature importances from a {scoring.kind} scoring explainer "
            f"({scoring.n_features} features, {scoring.task})."
        ),
    )
    app.state.service = service
    app.add_middleware(_RequestGuard, api_key=api_key, max_body_bytes=service.max_body_bytes,
                       read_timeout=float(read_timeout))
    # Documents the key in OpenAPI; the guard middleware enforces it before the body is read.
    security = [fastapi.Depends(APIKeyHeader(name=API_KEY_HEADER, auto_error=False))] if api_key else []
    errors = {status: {"model": ErrorResponse} for status in (400, 401, 413, 415, 422)}

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Any, exc: RequestValidationError) -> Any:
        problems = exc.errors()
        malformed = [e for e in problems if e.get("type") == "json_invalid"]
        if malformed:
            detail = (malformed[0].get("ctx") or {}).get("error", "")
            return _error_json(400, "malformed_json", f"the body is not valid JSON ({detail})")
        return _error_json(422, "invalid_request", describe_validation_errors(list(problems)))

    @app.exception_handler(HTTPException)
    async def http_error(request: Any, exc: HTTPException) -> Any:
        if exc.status_code == 400:  # FastAPI could not decode the body (e.g. bytes that are not UTF-8)
            return _error_json(400, "malformed_json", f"the body is not valid UTF-8 JSON ({exc.detail})")
        kind = _STATUS_TYPES.get(exc.status_code, "http_error")
        message = str(exc.detail)
        if exc.status_code in (404, 405):
            message = f"{request.method} {request.url.path}: {exc.detail}; the service offers {_ENDPOINTS}"
        return _error_json(exc.status_code, kind, message)

    @app.exception_handler(Exception)
    async def unexpected(request: Any, exc: Exception) -> Any:
        logger.exception("unexpected error while answering %s", request.url.path)
        return _error_json(500, "internal_error", "the service failed to answer; see its log")

    @app.get("/health", response_model=Health, tags=["service"])
    def health() -> dict:
        """Liveness: the service is up and its scoring explainer is loaded."""
        return {"status": "ok"}

    @app.get("/metadata", response_model=Metadata, dependencies=security, tags=["service"],
             responses={401: {"model": ErrorResponse}})
    def metadata() -> dict:
        """Features, classes, explainer kind, output space, limits and versions."""
        return service.metadata()

    @app.post("/score", response_model=None, dependencies=security, tags=["scoring"],
              responses={200: {"model": ScoreResponse}, **errors})
    def score(body: ScoreRequest) -> Any:
        """Predictions and local importance values for a batch of rows, explained in one vectorised call."""
        try:
            answer = service.score(body)
        except PellucidError as exc:
            status, kind = error_status(exc)
            if status >= 500:
                logger.exception("scoring failed")
                return _error_json(status, kind, "the service failed to score the rows; see its log")
            return _error_json(status, kind, str(exc))
        content = json.dumps(answer, allow_nan=False, separators=(",", ":"))
        return Response(content=content, media_type="application/json")

    return app


def create_app_from_env() -> Any:
    """App factory for ``uvicorn --factory pellucid.serve.app:create_app_from_env``, configured by environment.

    Variables: ``PELLUCID_SCORING_EXPLAINER`` (folder, required), ``PELLUCID_MODEL`` (model file),
    ``PELLUCID_API_KEY``, ``PELLUCID_SIGNING_KEY``, ``PELLUCID_REQUIRE_SIGNATURE`` ("1"), ``PELLUCID_MAX_ROWS``,
    ``PELLUCID_MAX_BODY_BYTES``, ``PELLUCID_READ_TIMEOUT`` (seconds), ``PELLUCID_ALLOW_PICKLE`` ("1").
    """
    folder = os.environ.get("PELLUCID_SCORING_EXPLAINER")
    if not folder:
        raise ArgumentError("set PELLUCID_SCORING_EXPLAINER to the folder of a saved scoring explainer")
    options: dict[str, Any] = {}
    for variable, name in (("PELLUCID_MAX_ROWS", "max_rows"), ("PELLUCID_MAX_BODY_BYTES", "max_body_bytes")):
        value = os.environ.get(variable)
        if value is not None:
            if not value.isdigit():
                raise ArgumentError(f"{variable} must be a positive whole number; found {value!r}")
            options[name] = int(value)
    read_timeout = os.environ.get("PELLUCID_READ_TIMEOUT")
    if read_timeout:
        try:
            options["read_timeout"] = float(read_timeout)
        except ValueError:
            raise ArgumentError(f"PELLUCID_READ_TIMEOUT must be a number of seconds; found {read_timeout!r}") from None
    return create_app(
        folder,
        os.environ.get("PELLUCID_MODEL") or None,
        api_key=os.environ.get("PELLUCID_API_KEY") or None,
        allow_pickle=os.environ.get("PELLUCID_ALLOW_PICKLE") == "1",
        signing_key=os.environ.get("PELLUCID_SIGNING_KEY") or None,
        require_signature=os.environ.get("PELLUCID_REQUIRE_SIGNATURE") == "1",
        **options,
    )
