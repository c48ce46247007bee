"""ExplanationClient: upload, list and download explanations on an MLflow run.

Every upload gets a fresh id and is stored as run artifacts under ``pellucid/explanations/<id>/``
(see :mod:`pellucid.store.artifacts`: the explanation's versioned JSON, an .npz for large arrays, and a manifest
with the SHA-256 of each file). After the files are uploaded, one batch of run tags commits the upload:

* ``pellucid.explanation.<id>.<field>`` for ``method``, ``explainer``, ``task``, ``top_k``, ``comment``,
  ``pellucid_version``, ``checksum`` (SHA-256 of the manifest), ``upload_time`` and the counts. Listing reads
  these tags; an upload whose process died before its tags were written is invisible, never half-read;
* run-level markers for searching across runs: ``pellucid.has_explanations``, ``pellucid.method.<method>`` and
  ``pellucid.explainer.<explainer>`` (value ``"true"``), e.g.
  ``mlflow.search_runs(filter_string="tags.`pellucid.method.tree_shap` = 'true'")``.

Tags, not params: MLflow params cannot change once logged, and a run holds several explanations.
Nothing is pickled: explanations travel as JSON and .npz (loaded with ``allow_pickle=False``).

Examples
--------
>>> client = ExplanationClient.create_run("my-experiment")      # doctest: +SKIP
>>> explanation_id = client.upload_model_explanation(explanation, comment="baseline")  # doctest: +SKIP
>>> client.list_model_explanations()                              # doctest: +SKIP
>>> same = client.download_model_explanation(explanation_id)      # doctest: +SKIP
"""

from __future__ import annotations

import copy
import logging
import tempfile
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pellucid._version import __version__
from pellucid.errors import (
    ArgumentError,
    StoreIntegrityError,
    StoreNotFoundError,
    UnsupportedInputError,
)
from pellucid.explanation import Explanation
from pellucid.store.artifacts import read_bundle, write_bundle
from pellucid.store.backend import (
    Deadline,
    bounded_call,
    database_lock,
    describe_uri,
    fail_fast,
    mlflow_errors,
    mlflow_module,
    quiet_downloads,
    require_database_support,
    resolve_timeout,
    resolve_tracking_uri,
    run_tags,
    sqlite_database,
)
from pellucid.store.topk import check_top_k, trim_top_k

__all__ = ["ExplanationClient", "list_experiment_explanations", "ARTIFACT_ROOT", "TAG_PREFIX", "DEFAULT_EXPERIMENT"]

logger = logging.getLogger("pellucid.store")

ARTIFACT_ROOT = "pellucid/explanations"
TAG_PREFIX = "pellucid.explanation."
DEFAULT_EXPERIMENT = "pellucid"
# Seconds allowed to open (and on first use create) a local SQLite store.
LOCAL_INIT_TIMEOUT = 120.0
# MLflow caps tag values at 8000 characters; a comment must fit in one.
MAX_COMMENT = 4000
_TEXT_FIELDS = ("method", "explainer", "task", "comment", "pellucid_version", "checksum", "upload_time",
                "source_explanation_id", "model_id", "init_dataset_id")
_INT_FIELDS = ("top_k", "num_examples", "num_features", "num_classes")
_BOOL_FIELDS = ("is_raw",)


class ExplanationClient:
    """Uploads explanations to one MLflow run, lists them and downloads them back.

    Build it with :meth:`from_run`, :meth:`from_run_id` or :meth:`create_run`, not directly.

    Parameters
    ----------
    mlflow_client : mlflow.MlflowClient
        A client bound to ``tracking_uri``.
    run_id : str
        The run the explanations belong to.
    tracking_uri : str
        The tracking store: an MLflow server URL, or the embedded local SQLite store.
    timeout : float, optional
        Seconds each call (upload, list, download) may take in all, MLflow's retries included; default
        ``$PELLUCID_STORE_TIMEOUT``, else 15. A call that takes longer raises
        :class:`~pellucid.errors.ServiceTimeoutError`.
    """

    def __init__(self, mlflow_client: Any, run_id: str, tracking_uri: str, timeout: float | None = None) -> None:
        self._client = mlflow_client
        self.run_id = run_id
        self.tracking_uri = tracking_uri
        self.timeout = resolve_timeout(timeout)

    def _call(self, action: str, function: Any, deadline: Deadline | None = None) -> Any:
        """One bounded store call, MLflow's errors translated (see :func:`pellucid.store.backend.bounded_call`)."""
        with mlflow_errors(action, self.tracking_uri):
            return bounded_call(function, deadline or Deadline(self.timeout), action, self.tracking_uri)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_run(cls, run: Any = None, *, tracking_uri: str | None = None,
                 timeout: float | None = None) -> ExplanationClient:
        """A client for an MLflow run object, or for the active run when ``run`` is None.

        The run is looked up in ``tracking_uri`` when given, else in MLflow's current tracking URI (the
        store the run was started in), by the same rule as :meth:`from_run_id`. ``timeout`` bounds each call (see
        the class).
        """
        mlflow = mlflow_module()
        if run is None:
            run = mlflow.active_run()
            if run is None:
                raise ArgumentError(
                    "from_run needs an MLflow run; found no active run: call mlflow.start_run() first, pass a run, "
                    "or use ExplanationClient.from_run_id(run_id)"
                )
        run_id = getattr(getattr(run, "info", None), "run_id", None)
        if not isinstance(run_id, str):
            raise UnsupportedInputError(
                f"from_run expects an mlflow Run or ActiveRun (with .info.run_id); found {type(run).__name__}"
            )
        return cls.from_run_id(run_id, tracking_uri=tracking_uri, timeout=timeout)

    @classmethod
    def from_run_id(
        cls, run_id: str, tracking_uri: str | None = None, experiment_name: str | None = None, *,
        timeout: float | None = None,
    ) -> ExplanationClient:
        """A client for the run ``run_id``; checks that the run exists (and is in ``experiment_name`` if given).

        Parameters
        ----------
        run_id : str
            The MLflow run id.
        tracking_uri : str, optional
            Tracking store; default whatever MLflow itself would use, ``mlflow.get_tracking_uri()``
            (``mlflow.set_tracking_uri``, ``MLFLOW_TRACKING_URI``, then MLflow's default store).
        experiment_name : str, optional
            When given, the run must belong to this experiment.
        timeout : float, optional
            Seconds each call may take in all (default ``$PELLUCID_STORE_TIMEOUT``, else 15).

        Raises
        ------
        StoreNotFoundError
            The run (or the experiment) does not exist, or the run is in another experiment.
        ServiceError
            The tracking server cannot be reached (fails within seconds, without retries), or did not answer
            within ``timeout`` (:class:`~pellucid.errors.ServiceTimeoutError`).
        """
        if not isinstance(run_id, str) or not run_id.strip():
            raise ArgumentError(f"run_id must be a non-empty string; found {run_id!r}")
        deadline = Deadline(resolve_timeout(timeout))
        uri, client, _ = _connect(tracking_uri, deadline)
        with fail_fast():
            run = _bounded(f"looking up run {run_id!r}", uri, lambda: client.get_run(run_id), deadline)
        if experiment_name is not None:
            experiment = _bounded(f"looking up experiment {experiment_name!r}", uri,
                                  lambda: client.get_experiment_by_name(experiment_name), deadline)
            if experiment is None or experiment.experiment_id != run.info.experiment_id:
                where = "does not exist" if experiment is None else f"has id {experiment.experiment_id}"
                raise StoreNotFoundError(
                    f"expected run {run_id!r} in experiment {experiment_name!r}; the run is in experiment id "
                    f"{run.info.experiment_id} and experiment {experiment_name!r} {where}"
                )
        return cls(client, run.info.run_id, uri, deadline.seconds)

    @classmethod
    def create_run(
        cls,
        experiment_name: str = DEFAULT_EXPERIMENT,
        *,
        run_name: str | None = None,
        tracking_uri: str | None = None,
        timeout: float | None = None,
    ) -> ExplanationClient:
        """A client for a new run in ``experiment_name`` (created when missing).

        The run is a container for explanations: it is marked FINISHED at once (MLflow accepts artifacts and
        tags on finished runs), so it never shows as running in the UI. ``timeout`` bounds each call (see the
        class).
        """
        if not isinstance(experiment_name, str) or not experiment_name.strip():
            raise ArgumentError(f"experiment_name must be a non-empty string; found {experiment_name!r}")
        deadline = Deadline(resolve_timeout(timeout))
        uri, client, local_artifacts = _connect(tracking_uri, deadline)
        with fail_fast():
            experiment = _bounded(f"looking up experiment {experiment_name!r}", uri,
                                  lambda: client.get_experiment_by_name(experiment_name), deadline)

        def create() -> Any:
            if experiment is None:
                experiment_id = _create_experiment(client, experiment_name, local_artifacts)
            else:
                experiment_id = experiment.experiment_id
            run = client.create_run(experiment_id, run_name=run_name, tags={"pellucid.created_by": "pellucid"})
            client.set_terminated(run.info.run_id, "FINISHED")
            return run

        run = _bounded(f"creating a run in experiment {experiment_name!r}", uri, create, deadline)
        logger.info("created run %s in experiment %r at %s", run.info.run_id, experiment_name, describe_uri(uri))
        return cls(client, run.info.run_id, uri, deadline.seconds)

    # ------------------------------------------------------------------ the SDK verbs
    def upload_model_explanation(
        self,
        explanation: Explanation,
        top_k: int | None = None,
        comment: str | None = None,
        init_dataset_id: str | None = None,
        model_id: str | None = None,
    ) -> str:
        """Store ``explanation`` on the run and return its new explanation id.

        Parameters
        ----------
        explanation : Explanation
            Local or global explanation.
        top_k : int, optional
            Keep only the top-k features per row and output by |value|; the others are stored as absent
            (0, with the kept indices in ``meta["top_k_indices"]``; see :mod:`pellucid.store.topk`).
        comment : str, optional
            Free text shown by :meth:`list_model_explanations` and usable as a filter (at most 4000 characters).
        init_dataset_id, model_id : str, optional
            Identifiers of the background dataset and the model, recorded for reference.

        Returns
        -------
        str
            The explanation id (32 hex characters), also the downloaded explanation's ``id``.
        """
        if not isinstance(explanation, Explanation):
            raise UnsupportedInputError(
                f"upload_model_explanation expects a pellucid Explanation; found {type(explanation).__name__}"
            )
        k = check_top_k(top_k)
        for name, value in (("comment", comment), ("init_dataset_id", init_dataset_id), ("model_id", model_id)):
            if value is not None and not isinstance(value, str):
                raise ArgumentError(f"{name} must be a string or None; found {type(value).__name__}")
        if comment is not None and len(comment) > MAX_COMMENT:
            raise ArgumentError(f"comment must have at most {MAX_COMMENT} characters; found {len(comment)}")

        explanation_id = uuid.uuid4().hex
        stored = copy.copy(trim_top_k(explanation, k) if k is not None else explanation)
        stored.id = explanation_id
        record = {
            "id": explanation_id,
            "run_id": self.run_id,
            "upload_time": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
            "comment": comment,
            "method": stored.method,
            "explainer": str(stored.meta.get("explainer") or stored.method),
            "task": stored.task,
            "top_k": k,
            "is_raw": stored.is_raw,
            "num_examples": stored.n_rows,
            "num_features": stored.n_features,
            "num_classes": None if stored.classes is None else len(stored.classes),
            "pellucid_version": __version__,
            "source_explanation_id": explanation.id,
            "init_dataset_id": init_dataset_id,
            "model_id": model_id,
        }
        mlflow = mlflow_module()
        action = f"uploading explanation {explanation_id} to run {self.run_id!r}"
        artifact_path = f"{ARTIFACT_ROOT}/{explanation_id}"
        with tempfile.TemporaryDirectory(prefix="pellucid-upload-") as tmp:
            folder = Path(tmp) / explanation_id
            folder.mkdir()
            record["checksum"] = write_bundle(stored, folder, record)
            tags = [mlflow.entities.RunTag(key, value) for key, value in _record_tags(record).items()]
            deadline = Deadline(self.timeout)
            try:
                self._call(action, lambda: self._client.log_artifacts(self.run_id, str(folder),
                                                                      artifact_path=artifact_path), deadline)
                # The tags commit the upload: listing only sees explanations whose tags were written.
                self._call(action, lambda: self._client.log_batch(self.run_id, tags=tags), deadline)
            except BaseException:
                self._remove_partial_upload(artifact_path, deadline)
                raise
        logger.info(
            "uploaded explanation %s (%s, top_k=%s) to run %s at %s",
            explanation_id, stored.method, k, self.run_id, describe_uri(self.tracking_uri),
        )
        return explanation_id

    def list_model_explanations(self, comment: str | None = None) -> list[dict[str, Any]]:
        """The explanations stored on the run, oldest upload first.

        Parameters
        ----------
        comment : str, optional
            Keep only explanations uploaded with exactly this comment.

        Returns
        -------
        list of dict
            One dict per explanation with ``id``, ``comment``, ``method``, ``explainer``, ``task``, ``top_k``
            (None for a full upload), ``upload_time`` (ISO 8601, UTC), ``is_raw``, ``is_engineered``,
            ``num_examples``, ``num_features``, ``num_classes``, ``pellucid_version``, ``checksum``,
            ``source_explanation_id``, ``init_dataset_id``, ``model_id`` and ``run_id``.
        """
        records = self._records(Deadline(self.timeout))
        if comment is not None:
            records = [record for record in records if record["comment"] == comment]
        return records

    def download_model_explanation(self, explanation_id: str | None = None, top_k: int | None = None) -> Explanation:
        """Download one explanation, checking every file's SHA-256 first.

        Parameters
        ----------
        explanation_id : str, optional
            Id returned by :meth:`upload_model_explanation`; the newest upload when None.
        top_k : int, optional
            Trim to the top-k features per row and output (also when the upload was full).

        Returns
        -------
        Explanation
            Equal (:meth:`Explanation.equals`) to what was uploaded, or to its top-k trim.

        Raises
        ------
        StoreNotFoundError
            No such explanation on the run (or none at all).
        StoreIntegrityError
            A stored file is corrupted, truncated or missing; nothing is loaded.
        """
        k = check_top_k(top_k)
        deadline = Deadline(self.timeout)  # one budget for the lookup and the files
        records = self._records(deadline)
        if not records:
            raise StoreNotFoundError(
                f"expected explanations on run {self.run_id!r}; found none (upload one with upload_model_explanation)"
            )
        if explanation_id is None:
            record = records[-1]
        else:
            matches = [record for record in records if record["id"] == explanation_id]
            if not matches:
                known = ", ".join(record["id"] for record in records[-5:])
                raise StoreNotFoundError(
                    f"expected an explanation with id {explanation_id!r} on run {self.run_id!r}; found none "
                    f"(the run holds {len(records)}, the latest: {known})"
                )
            record = matches[0]
        label = f"{record['id']} on run {self.run_id!r}"
        with tempfile.TemporaryDirectory(prefix="pellucid-download-") as tmp:
            with quiet_downloads():
                local = self._call(f"downloading explanation {label}", lambda: self._download(record["id"], tmp),
                                   deadline)
            explanation, manifest = read_bundle(Path(local), record["checksum"], label=label)
        if manifest.get("id") != record["id"] or explanation.id != record["id"]:
            raise StoreIntegrityError(
                f"explanation {label}: expected the stored files to carry id {record['id']}; found manifest id "
                f"{manifest.get('id')!r} and explanation id {explanation.id!r}"
            )
        return trim_top_k(explanation, k) if k is not None else explanation

    # ------------------------------------------------------------------ helpers
    def _records(self, deadline: Deadline) -> list[dict[str, Any]]:
        tags = run_tags(self._call(f"listing explanations of run {self.run_id!r}",
                                   lambda: self._client.get_run(self.run_id), deadline))
        return _parse_records(tags, self.run_id)

    @property
    def run(self) -> Any:
        """The MLflow run (fetched now)."""
        return self._call(f"reading run {self.run_id!r}", lambda: self._client.get_run(self.run_id))

    def _remove_partial_upload(self, artifact_path: str, deadline: Deadline) -> None:
        """Best effort, within the upload's own deadline: delete the files of an upload whose tags were not
        written (it is invisible to listing either way; this keeps the run's artifacts free of it when the store
        can still be reached)."""
        def delete() -> None:
            from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

            run = self._client.get_run(self.run_id)
            get_artifact_repository(run.info.artifact_uri, tracking_uri=self.tracking_uri).delete_artifacts(
                artifact_path)

        try:
            self._call(f"removing the partial upload {artifact_path}", delete, deadline)
        except Exception as exc:  # the store that failed the upload may fail this too
            logger.warning("could not remove the partial upload %s of run %s (%s); it is not listed, but its files "
                           "remain in the artifact store", artifact_path, self.run_id, exc)
        else:
            logger.info("removed the partial upload %s of run %s", artifact_path, self.run_id)

    def _download(self, explanation_id: str, destination: str) -> str:
        path = f"{ARTIFACT_ROOT}/{explanation_id}"
        try:
            return self._client.download_artifacts(self.run_id, path, destination)
        except OSError as exc:  # a local artifact store whose folder was removed
            raise StoreIntegrityError(
                f"explanation {explanation_id} on run {self.run_id!r}: expected its artifact folder {path}; "
                f"it cannot be read ({exc})"
            ) from exc

    def __repr__(self) -> str:
        return f"ExplanationClient(run_id={self.run_id!r}, tracking_uri={describe_uri(self.tracking_uri)!r})"


def list_experiment_explanations(
    experiment_name: str, *, tracking_uri: str | None = None, comment: str | None = None,
    timeout: float | None = None,
) -> list[dict[str, Any]]:
    """The explanations stored on every run of an experiment, oldest upload first.

    Parameters
    ----------
    experiment_name : str
    tracking_uri : str, optional
        Tracking store; default whatever MLflow itself would use (``mlflow.get_tracking_uri()``).
    comment : str, optional
        Keep only explanations uploaded with exactly this comment.
    timeout : float, optional
        Seconds the whole call may take (default ``$PELLUCID_STORE_TIMEOUT``, else 15).

    Returns
    -------
    list of dict
        The records of :meth:`ExplanationClient.list_model_explanations`, each with its ``run_id``.

    Raises
    ------
    StoreNotFoundError
        No experiment has this name.
    """
    if not isinstance(experiment_name, str) or not experiment_name.strip():
        raise ArgumentError(f"experiment_name must be a non-empty string; found {experiment_name!r}")
    deadline = Deadline(resolve_timeout(timeout))
    uri, client, _ = _connect(tracking_uri, deadline)
    experiment = _bounded(f"looking up experiment {experiment_name!r}", uri,
                          lambda: client.get_experiment_by_name(experiment_name), deadline)
    if experiment is None:
        raise StoreNotFoundError(f"expected an experiment named {experiment_name!r} at {describe_uri(uri)}; found none")

    def all_runs() -> list[Any]:
        found: list[Any] = []
        page_token = None
        while True:
            runs = client.search_runs([experiment.experiment_id], max_results=1000, page_token=page_token)
            found.extend(runs)
            page_token = getattr(runs, "token", None)
            if not page_token:
                return found

    records: list[dict[str, Any]] = []
    for run in _bounded(f"listing the runs of experiment {experiment_name!r}", uri, all_runs, deadline):
        records.extend(_parse_records(run_tags(run), run.info.run_id))
    if comment is not None:
        records = [record for record in records if record["comment"] == comment]
    return sorted(records, key=lambda record: record["upload_time"] or "")


# ---------------------------------------------------------------------- module helpers
def _bounded(action: str, uri: str, function: Any, deadline: Deadline) -> Any:
    with mlflow_errors(action, uri):
        return bounded_call(function, deadline, action, uri)


def _connect(tracking_uri: str | None, deadline: Deadline) -> tuple[str, Any, Path | None]:
    """Resolve the tracking URI and build an MlflowClient; creates a local SQLite store's tables on first use.

    Returns the URI, the client and, for a local SQLite store, the artifact folder beside it (else None).
    """
    mlflow = mlflow_module()
    uri, local_artifacts = resolve_tracking_uri(tracking_uri)
    require_database_support(uri)
    client = mlflow.MlflowClient(tracking_uri=uri)
    database = sqlite_database(uri)
    if database is not None:
        # First use creates the SQLite schema; several processes starting at once must not race on it.
        # Creating a new store runs MLflow's database migrations (~10 s on a busy machine): it may take longer
        # than a call's budget. A local file store has no server to hang on.
        first_use = Deadline(max(deadline.remaining(), LOCAL_INIT_TIMEOUT))
        with database_lock(database):
            if local_artifacts is not None:
                local_artifacts.mkdir(parents=True, exist_ok=True)
            _bounded("opening the local tracking store", uri, lambda: client.search_experiments(max_results=1),
                     first_use)
    logger.debug("using the tracking store %s", describe_uri(uri))
    return uri, client, local_artifacts


def _create_experiment(client: Any, name: str, local_artifacts: Path | None) -> str:
    location = local_artifacts.as_uri() if local_artifacts is not None else None
    try:
        return client.create_experiment(name, artifact_location=location)
    except Exception as exc:  # another process created it a moment ago
        if getattr(exc, "error_code", None) != "RESOURCE_ALREADY_EXISTS":
            raise
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise
        return experiment.experiment_id


def _safe_key(text: str) -> str:
    """A string usable inside an MLflow tag key (letters, digits, _ - . / and spaces)."""
    return "".join(ch if ch.isalnum() or ch in "_-./ " else "_" for ch in text)[:100] or "_"


def _record_tags(record: dict[str, Any]) -> dict[str, str]:
    prefix = f"{TAG_PREFIX}{record['id']}."
    tags = {}
    for field in (*_TEXT_FIELDS, *_INT_FIELDS, *_BOOL_FIELDS):
        value = record.get(field)
        if value is not None:
            tags[prefix + field] = str(value).lower() if isinstance(value, bool) else str(value)
    tags["pellucid.has_explanations"] = "true"
    tags[f"pellucid.method.{_safe_key(record['method'])}"] = "true"
    tags[f"pellucid.explainer.{_safe_key(record['explainer'])}"] = "true"
    return tags


def _as_int(text: str | None, key: str) -> int | None:
    if text in (None, ""):
        return None
    try:
        return int(text)
    except ValueError:
        logger.warning("tag %s should hold an integer; found %r (listed as None)", key, text)
        return None


def _parse_records(tags: dict[str, str], run_id: str) -> list[dict[str, Any]]:
    by_id: dict[str, dict[str, str]] = {}
    for key, value in tags.items():
        if key.startswith(TAG_PREFIX):
            explanation_id, _, field = key[len(TAG_PREFIX):].partition(".")
            by_id.setdefault(explanation_id, {})[field] = value
    records = []
    for explanation_id, fields in by_id.items():
        if "checksum" not in fields:  # not a committed upload
            continue
        record: dict[str, Any] = {"id": explanation_id}
        for field in _TEXT_FIELDS:
            record[field] = fields.get(field)
        for field in _INT_FIELDS:
            record[field] = _as_int(fields.get(field), f"{TAG_PREFIX}{explanation_id}.{field}")
        record["is_raw"] = fields.get("is_raw") == "true"
        record["is_engineered"] = not record["is_raw"]
        record["run_id"] = run_id
        records.append(record)
    records.sort(key=lambda record: (record["upload_time"] or "", record["id"]))
    return records
