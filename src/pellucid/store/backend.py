"""Where the explanation history lives, and MLflow's errors turned into pellucid's.

One rule picks the tracking store, for every entry point (``ExplanationClient.from_run_id``, ``from_run``,
``create_run``, the ``pellucid history`` command): the ``tracking_uri`` given, else whatever MLflow itself would
use, ``mlflow.get_tracking_uri()`` (a URI set with ``mlflow.set_tracking_uri``, else ``MLFLOW_TRACKING_URI``, else
MLflow's default store, a local SQLite ``mlflow.db`` in the working folder with recent MLflow). So a run started
with ``mlflow.start_run()`` is found by ``ExplanationClient.from_run_id(run_id)`` with no URI passed.

For a local ``sqlite:///`` store the user named (argument, ``set_tracking_uri`` or the environment), experiments
that pellucid creates keep their artifacts in ``artifacts/`` beside the database file; in MLflow's default store
they use MLflow's default artifact location.

Every call to the store is bounded (:func:`bounded_call`): it answers within ``timeout`` seconds in total
(default 15, or ``PELLUCID_STORE_TIMEOUT``), MLflow's own retries included, or raises
:class:`~pellucid.errors.ServiceTimeoutError`.

MLflow is imported only here and in :mod:`pellucid.store.client`, through :func:`pellucid.errors.require`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from pellucid.errors import (
    ArgumentError,
    MissingDependencyError,
    ServiceError,
    ServiceTimeoutError,
    StoreError,
    StoreNotFoundError,
    require,
)

__all__ = ["DEFAULT_TIMEOUT", "TIMEOUT_VARIABLE", "Deadline", "resolve_timeout", "bounded_call", "mlflow_module",
           "resolve_tracking_uri", "sqlite_artifacts", "sqlite_database", "database_lock", "mlflow_errors",
           "fail_fast", "quiet_downloads", "scoped_env", "require_database_support"]

logger = logging.getLogger("pellucid.store")

# While probing a server we want an answer in seconds, not MLflow's default of 7 retries with backoff.
PROBE_ENV = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}
#: Seconds one store call (upload, list, download, lookup) may take in all, MLflow's retries included.
DEFAULT_TIMEOUT = 15.0
TIMEOUT_VARIABLE = "PELLUCID_STORE_TIMEOUT"
# MLflow's defaults (7 retries, backoff factor 2, 120 s per request) add up to ~250 s on a dead server; within a
# bounded call a request gets two quick retries and no more time than is left.
_BOUNDED_RETRIES = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.2"}


def resolve_timeout(timeout: float | None) -> float:
    """The time budget of one store call: ``timeout``, else ``$PELLUCID_STORE_TIMEOUT``, else 15 seconds.

    Raises
    ------
    ArgumentError
        For a value that is not a positive, finite number of seconds.
    """
    source = "timeout"
    if timeout is None:
        text = os.environ.get(TIMEOUT_VARIABLE)
        if not text:
            return DEFAULT_TIMEOUT
        source = TIMEOUT_VARIABLE
        try:
            timeout = float(text)
        except ValueError:
            raise ArgumentError(f"{TIMEOUT_VARIABLE} must be a number of seconds; found {text!r}") from None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not math.isfinite(timeout) or timeout <= 0:
        raise ArgumentError(f"{source} must be a positive, finite number of seconds; found {timeout!r}")
    return float(timeout)


class Deadline:
    """A moment by which a store call, made of one or more MLflow requests, must be done.

    Parameters
    ----------
    seconds : float
        The budget from now.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        self._end = time.monotonic() + self.seconds

    def remaining(self) -> float:
        """Seconds left (0 when past)."""
        return max(0.0, self._end - time.monotonic())


def bounded_call(function: Callable[[], Any], deadline: Deadline, action: str, tracking_uri: str) -> Any:
    """Run ``function()`` (MLflow requests) and return its result, or raise once ``deadline`` has passed.

    The call runs in a daemon thread with MLflow's retries cut down and its per-request timeout capped at the
    time left; the caller waits no longer than the deadline. A call still running then is abandoned (its
    requests fail on their own soon after); callers must not commit anything that depended on it.

    Raises
    ------
    ServiceTimeoutError
        The call did not finish in time.
    Exception
        Whatever ``function`` raised (callers translate it with :func:`mlflow_errors`).
    """
    remaining = deadline.remaining()
    if remaining <= 0:
        raise _timed_out(action, tracking_uri, deadline)
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = function()
        except BaseException as exc:  # handed to the waiting thread
            outcome["error"] = exc

    settings = {**_BOUNDED_RETRIES, "MLFLOW_HTTP_REQUEST_TIMEOUT": str(max(1, math.ceil(remaining)))}
    with scoped_env(settings):
        worker = threading.Thread(target=target, name="pellucid-store-call", daemon=True)
        worker.start()
        worker.join(remaining)
    if worker.is_alive():
        raise _timed_out(action, tracking_uri, deadline)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def _timed_out(action: str, tracking_uri: str, deadline: Deadline) -> ServiceTimeoutError:
    return ServiceTimeoutError(
        f"{action}: expected the tracking store {describe_uri(tracking_uri)} to answer within {deadline.seconds:g} s; "
        f"it did not. Check the server, or allow more time with timeout= or {TIMEOUT_VARIABLE}"
    )


def mlflow_module() -> ModuleType:
    """Import mlflow or raise MissingDependencyError naming the ``mlflow`` extra."""
    return require("mlflow", "mlflow")


def resolve_tracking_uri(tracking_uri: str | None) -> tuple[str, Path | None]:
    """The tracking URI to use and, for a local SQLite store, the artifact folder beside the database.

    Parameters
    ----------
    tracking_uri : str or None
        The URI given by the caller; None (or empty) means MLflow's own choice, ``mlflow.get_tracking_uri()``.

    Returns
    -------
    (str, Path or None)
        The URI, and ``<database folder>/artifacts`` for a ``sqlite:///`` file URI the user named: experiments
        pellucid creates there keep their artifacts beside the database. None for any other store, MLflow's
        default store included, whose experiments use the server's or MLflow's artifact location.
    """
    if tracking_uri:
        return str(tracking_uri), sqlite_artifacts(str(tracking_uri))
    mlflow = mlflow_module()
    uri = str(mlflow.get_tracking_uri())
    named = bool(os.environ.get("MLFLOW_TRACKING_URI")) or _set_in_process(mlflow)
    return uri, sqlite_artifacts(uri) if named else None


def sqlite_database(uri: str) -> Path | None:
    """The database file of a ``sqlite:///path`` URI; None for other URIs and in-memory SQLite."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///"):].split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path).resolve()


def sqlite_artifacts(uri: str) -> Path | None:
    """``<database folder>/artifacts`` for a ``sqlite:///path`` URI; None for other URIs and in-memory SQLite."""
    database = sqlite_database(uri)
    return None if database is None else database.parent / "artifacts"


_DATABASE_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")


def require_database_support(uri: str) -> None:
    """Raise MissingDependencyError when ``uri`` is a database store and only mlflow-skinny is installed.

    mlflow-skinny talks to a tracking server but has no SQL store (no SQLAlchemy, no Alembic), so the embedded
    default and direct database URIs need the full ``mlflow`` package.
    """
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme not in _DATABASE_SCHEMES:
        return
    for module in ("sqlalchemy", "alembic"):
        try:
            require(module, "mlflow")
        except MissingDependencyError as exc:
            raise MissingDependencyError(
                f"the database tracking store {describe_uri(uri)} needs the full mlflow package (mlflow-skinny has "
                f"no SQL store): {exc}; or set MLFLOW_TRACKING_URI to an MLflow server"
            ) from exc


def _set_in_process(mlflow: ModuleType) -> bool:
    try:
        from mlflow.tracking._tracking_service.utils import is_tracking_uri_set
    except ImportError:  # private helper moved: fall back to the environment only
        return False
    return bool(is_tracking_uri_set())


@contextlib.contextmanager
def database_lock(database: Path) -> Iterator[None]:
    """Serialise first-time creation of a local SQLite store between processes.

    A POSIX file lock in the temporary folder, named after the database path (nothing is written beside the
    user's database); the database's folder is created.
    """
    database.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: no cross-process lock; concurrent first use may need a retry
        yield
        return
    digest = hashlib.sha256(str(database).encode("utf-8")).hexdigest()[:24]
    with open(Path(tempfile.gettempdir()) / f"pellucid-store-{digest}.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def scoped_env(values: dict[str, str]) -> Iterator[None]:
    """Within the block, set the environment variables in ``values`` that the user has not set themselves.

    The environment is process-wide: blocks are kept short (one MLflow call) and restore what was there.
    """
    added = [name for name in values if os.environ.get(name) is None]
    for name in added:
        os.environ[name] = values[name]
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def fail_fast() -> contextlib.AbstractContextManager[None]:
    """Within the block, MLflow HTTP calls fail at once on an unreachable server (no retries, 10 s timeout)."""
    return scoped_env(PROBE_ENV)


def quiet_downloads() -> contextlib.AbstractContextManager[None]:
    """Within the block, MLflow prints no artifact progress bar (one explanation is two or three small files)."""
    return scoped_env({"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"})


@contextlib.contextmanager
def mlflow_errors(action: str, tracking_uri: str) -> Iterator[None]:
    """Turn MLflow and connection errors raised in the block into pellucid's typed errors.

    ``action`` says what was being done ("reading run 'abc'"), for the message.
    """
    try:
        yield
    except (StoreError, ServiceError):
        raise
    except Exception as exc:  # MLflow raises MlflowException, requests errors, OSError ...
        translated = _translate(exc, action, tracking_uri)
        if translated is None:
            raise
        raise translated from exc


def _translate(exc: Exception, action: str, tracking_uri: str) -> Exception | None:
    if _is_connection_error(exc):
        return ServiceError(
            f"{action}: expected an MLflow tracking server at {describe_uri(tracking_uri)}; it could not be reached "
            f"({_first_line(exc)}). Start the server, fix the tracking URI (MLFLOW_TRACKING_URI or "
            "mlflow.set_tracking_uri), or unset it to use MLflow's default local store"
        )
    error_code = getattr(exc, "error_code", None)
    if error_code is None and type(exc).__module__.split(".")[0] != "mlflow":
        return None
    if error_code == "RESOURCE_DOES_NOT_EXIST":
        return StoreNotFoundError(f"{action}: not found in the tracking store {describe_uri(tracking_uri)}: {_first_line(exc)}")
    return StoreError(f"{action} failed in the tracking store {describe_uri(tracking_uri)}: {_first_line(exc)}")


def _is_connection_error(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        name = type(current).__name__
        module = type(current).__module__
        if isinstance(current, (ConnectionError, TimeoutError)) or (
            module.startswith(("requests", "urllib3")) and ("Connection" in name or "Timeout" in name)
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    message = text[0] if text else type(exc).__name__
    return message if len(message) <= 400 else message[:400] + " ..."


def is_http(uri: str) -> bool:
    """True for an ``http(s)://`` tracking URI (a server to probe)."""
    return uri.startswith(("http://", "https://"))


def describe_uri(uri: str) -> str:
    """The URI without credentials, for logs."""
    if "@" in uri and "://" in uri:
        scheme, rest = uri.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return uri


def run_tags(run: Any) -> dict[str, str]:
    """The tags of an MLflow run as a plain dict."""
    return dict(run.data.tags or {})
