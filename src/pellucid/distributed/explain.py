"""Explain the rows of a large dataset on a Dask cluster and gather one Explanation.

The explainer (its model and background) is sent to the cluster once, as the result of one task that every
partition task depends on: each worker fetches it once, and unlike ``client.scatter`` data it is recomputed if
every worker holding it dies. The rows are cut into partitions (see :mod:`pellucid.distributed.partitions`);
each partition is explained on a worker with the explainer's own ``explain_local``; the results come back as
they complete (with a progress bar on long runs) and are joined in row order. Tasks are submitted with
``retries=``: a partition whose task fails, or whose worker dies, is computed again, so the result is complete
and the same.

Explainers whose rows are explained independently (Linear, Tree, Mimic, Deep) give exactly the single-process
values however the rows are partitioned. An explainer whose values depend on which rows share a call says so
with a method ``row_block(n_features) -> int | None``: the rows are then explained in independent blocks of that
many rows, and partition boundaries are moved to multiples of it so every block is explained exactly as in a
single process.

Examples
--------
>>> from pellucid.explainers.linear import LinearExplainer  # doctest: +SKIP
>>> explanation = LinearExplainer(model, X).explain_local(X, backend="dask")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import uuid
import warnings
from typing import Any

from pellucid.distributed.cluster import DEFAULT_CONNECT_TIMEOUT, dask_client
from pellucid.distributed.merge import merge_global, merge_local
from pellucid.distributed.partitions import Partitions, is_dask_collection, partition
from pellucid.distributed.tasks import explain_partition, hold, reduce_summaries, summarise_partition
from pellucid.errors import ArgumentError, DataShapeError, ModelInterfaceError, require
from pellucid.explainers.base import BaseExplainer
from pellucid.explanation import Explanation

__all__ = ["explain_local", "explain_global", "row_block", "DEFAULT_RETRIES", "PARTITIONS_PER_WORKER"]

logger = logging.getLogger(__name__)

#: Times a failed partition task is retried (a worker that dies does not use up a retry: Dask reschedules).
DEFAULT_RETRIES = 2
#: In-memory rows are cut into this many partitions per worker (load balance, progress, bounded memory).
PARTITIONS_PER_WORKER = 4


def row_block(explainer: BaseExplainer, n_features: int) -> int | None:
    """Rows the explainer explains together in one independent block, or None when every row is independent.

    Parameters
    ----------
    explainer : BaseExplainer
        A direct explainer; it may define ``row_block(n_features) -> int | None``.
    n_features : int
        Columns of the rows to explain.
    """
    hook = getattr(explainer, "row_block", None)
    if hook is None:
        return None
    block = hook(n_features)
    if block is None:
        return None
    if isinstance(block, bool) or not isinstance(block, int) or block < 1:
        raise ModelInterfaceError(f"{type(explainer).__name__}.row_block must return a positive int or None; found {block!r}")
    return block


def explain_local(
    explainer: Any,
    evaluation_examples: Any,
    *,
    raw: bool | None = None,
    client: Any = None,
    partition_rows: int | None = None,
    n_workers: int | None = None,
    retries: int = DEFAULT_RETRIES,
    progress: bool | None = None,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> Explanation:
    """Explain every row of ``evaluation_examples`` on Dask; the same Explanation as ``explain_local``.

    Parameters
    ----------
    explainer : BaseExplainer or TabularExplainer
        An explainer that works row by row (Linear, Tree, Kernel, Mimic, LIME, Deep, or a TabularExplainer
        that chose one).
    evaluation_examples : array-like, DataFrame, sparse matrix, dask.array.Array or dask.dataframe.DataFrame
        Rows to explain, shape (n_rows, n_features). Dask collections are explained partition by partition
        where they live, without gathering them on the client. Raw rows when the explainer has
        transformations.
    raw : bool, optional
        Return the explanation in raw features (explainers with transformations). Default: raw features when
        the explainer was given transformations (as in the SDK), else its own features.
    client : distributed.Client or str, optional
        The cluster to use (a client, or a scheduler address). Default: the address in
        ``PELLUCID_DASK_SCHEDULER``, else a LocalCluster started for this call and closed after it.
    partition_rows : int, optional
        Rows per partition. Default: in-memory rows in 4 partitions per worker; a dask collection's own
        partitions.
    n_workers : int, optional
        Workers of the embedded LocalCluster (default one per core).
    retries : int, default 2
        Retries of a partition whose task raised (e.g. a transient error in the model).
    progress : bool, optional
        Show a progress bar over completed partitions; default: when stderr is a terminal.
    connect_timeout : float, default 5.0
        Seconds to wait for a scheduler address to answer before raising ServiceError.

    Returns
    -------
    Explanation
        Local values of shape (n_rows, n_features, n_outputs) in row order; ``meta["distributed"]`` says where
        and how the rows were explained.

    Raises
    ------
    ServiceError
        The scheduler does not answer, or the embedded cluster cannot start.
    """
    direct, finish, raw = _direct(explainer, raw)
    _check_options(retries, connect_timeout)
    with dask_client(client, n_workers=n_workers, connect_timeout=connect_timeout) as (connected, where):
        plan, facts = _plan(connected, direct, evaluation_examples, partition_rows, where, retries)
        explainer_future = _send(connected, direct)
        tasks = [_delayed(explain_partition)(explainer_future, part, raw) for part in plan.parts]
        futures = connected.compute(tasks, retries=retries)
        parts = _collect(connected, futures, progress, fetch=True)
    facts["partition_rows"] = [part.n_rows for part in parts]  # known now, also for a dask dataframe's own
    facts["rows"] = int(sum(facts["partition_rows"]))
    notes = [_note(facts), *facts.pop("notes")]
    for note in notes:
        logger.info(note)
    explanation = merge_local(parts, facts, notes)
    return finish(explanation)


def explain_global(
    explainer: Any,
    evaluation_examples: Any = None,
    *,
    include_local: bool | None = None,
    raw: bool | None = None,
    output: str | os.PathLike | None = None,
    client: Any = None,
    partition_rows: int | None = None,
    n_workers: int | None = None,
    retries: int = DEFAULT_RETRIES,
    progress: bool | None = None,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> Explanation:
    """Global importances over many rows, computed on Dask.

    Parameters
    ----------
    explainer : BaseExplainer or TabularExplainer
        See :func:`explain_local`.
    evaluation_examples : array-like or dask collection, optional
        Rows to average over; default the explainer's background.
    include_local : bool, optional
        True (the default without ``output``): gather the local values too (same as :func:`explain_local`).
        False: only the sums of absolute local values and the row counts leave the workers, reduced on the
        cluster; the local values are never gathered.
    output : str or path, optional
        A directory on the workers' file system: each partition's local values (and model output, numeric
        evaluation rows, standard errors, per-row meta) are written there as ``part-<index>.npz``, and a
        global-only Explanation is returned with the files in ``meta["output_files"]``. Implies
        ``include_local=False``.
    raw, client, partition_rows, n_workers, retries, progress, connect_timeout
        See :func:`explain_local`.

    Returns
    -------
    Explanation
        With local values when ``include_local``; else global-only: ``global_values`` of shape
        (n_features, n_outputs) is the mean absolute local value (sum over partitions / rows).
    """
    direct, finish, raw = _direct(explainer, raw)
    if output is not None and include_local:
        raise ArgumentError(
            "output= writes the local values to files and returns a global-only explanation; pass "
            "include_local=False or leave it out"
        )
    if include_local is None:
        include_local = output is None
    if evaluation_examples is None:
        evaluation_examples = direct.default_rows()  # with transformations: the raw background
        if evaluation_examples is None:
            raise ArgumentError("explain_global needs evaluation_examples when the explainer has no background")
    if include_local:
        explanation = explain_local(
            explainer, evaluation_examples, raw=raw, client=client, partition_rows=partition_rows, n_workers=n_workers,
            retries=retries, progress=progress, connect_timeout=connect_timeout,
        )
        explanation.meta["scope"] = "global"
        return explanation
    _check_options(retries, connect_timeout)
    output_dir = None if output is None else _output_directory(output)
    with dask_client(client, n_workers=n_workers, connect_timeout=connect_timeout) as (connected, where):
        plan, facts = _plan(connected, direct, evaluation_examples, partition_rows, where, retries)
        explainer_future = _send(connected, direct)
        tasks = [_delayed(summarise_partition)(explainer_future, part, raw, index, output_dir)
                 for index, part in enumerate(plan.parts)]
        futures = connected.compute(tasks, retries=retries)
        _collect(connected, futures, progress, fetch=False)
        summary = connected.submit(reduce_summaries, futures, retries=retries, pure=False).result()
    facts["rows"], facts["partition_rows"] = summary.n_rows, list(summary.rows)
    notes = [_note(facts), *facts.pop("notes")]
    explanation = merge_global(summary, facts, notes)
    if output_dir is not None:
        explanation.meta["output_files"] = list(summary.files)
        explanation.meta["output_rows"] = list(summary.rows)
        explanation.meta["notes"].append(
            f"local values of {summary.n_rows} rows written to {len(summary.files)} files in {output_dir} "
            "(part-<index>.npz); the global values were reduced on the cluster"
        )
    for note in notes:
        logger.info(note)
    return finish(explanation)


# ---------------------------------------------------------------------- steps
def _direct(explainer: Any, raw: bool | None) -> tuple[BaseExplainer, Any, bool]:
    """The direct explainer doing the work, what to apply to its explanation (TabularExplainer's finish), and
    whether to explain in raw features."""
    inner = getattr(explainer, "explainer", None)
    if isinstance(inner, BaseExplainer) and callable(getattr(explainer, "finish_explanation", None)):
        direct, finish = inner, explainer.finish_explanation
    else:
        direct, finish = explainer, (lambda explanation: explanation)
    if not isinstance(direct, BaseExplainer):
        raise ArgumentError(f"expected a pellucid explainer; found {type(explainer).__name__}")
    raw = direct.default_raw if raw is None else bool(raw)
    if "distributed" not in direct.capabilities:
        raise ArgumentError(
            f"{type(direct).__name__} does not explain rows independently (it has no local explanation to "
            "distribute); run it in one process"
        )
    return direct, finish, raw


def _check_options(retries: Any, connect_timeout: Any) -> None:
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ArgumentError(f"retries must be an integer >= 0; found {retries!r}")
    if isinstance(connect_timeout, bool) or not isinstance(connect_timeout, (int, float)) or connect_timeout <= 0:
        raise ArgumentError(f"connect_timeout must be a positive number of seconds; found {connect_timeout!r}")


def _plan(
    client: Any, explainer: BaseExplainer, data: Any, partition_rows: int | None, where: str, retries: int
) -> tuple[Partitions, dict[str, Any]]:
    n_workers = max(1, len(client.scheduler_info(n_workers=-1)["workers"]))
    n_features = _n_features(data)
    # With transformations the rows are raw: the workers check them as they transform them.
    expected = None if explainer.has_transformations else explainer.expected_n_features()
    if expected is not None and n_features is not None and n_features != expected:
        raise DataShapeError(
            f"evaluation_examples must have {expected} features, like the data the explainer was built with; "
            f"found {n_features}"
        )
    block = row_block(explainer, explainer.expected_n_features())
    plan = partition(data, client=client, partition_rows=partition_rows,
                     default_partitions=PARTITIONS_PER_WORKER * n_workers, block=block)
    notes = []
    if block and partition_rows is not None and plan.size != partition_rows:
        notes.append(
            f"partition_rows={partition_rows} moved to {plan.size}: {type(explainer).__name__} explains rows in "
            f"blocks of {block} whose values depend on each other, and partitions on block boundaries give "
            "exactly the single-process values"
        )
    facts = {
        "backend": "dask",
        "cluster": where,
        "workers": n_workers,
        "source": plan.source,
        "partitions": len(plan.parts),
        "partition_rows": plan.rows,
        "rows": plan.n_rows,
        "row_block": block,
        "retries": retries,
        "notes": notes,
    }
    return plan, facts


def _n_features(data: Any) -> int | None:
    kind = is_dask_collection(data)
    if kind == "dask.dataframe":
        return len(data.columns)
    shape = getattr(data, "shape", None)
    if shape is not None and len(shape) == 2:
        return int(shape[1])
    return None


def _send(client: Any, explainer: BaseExplainer) -> Any:
    """The explainer as a task result that every partition task depends on.

    The explainer travels to the scheduler once inside this task; workers fetch its result once each (from
    the worker that ran it or from one another). Unlike ``client.scatter`` data, a task result that is lost
    with every worker holding it is recomputed, so a dying worker never loses the explainer.
    """
    try:
        with warnings.catch_warnings():
            # A large model or background makes a large task; it is sent once, as intended.
            warnings.filterwarnings("ignore", message=".*[Ll]arge graph.*")
            return client.submit(hold, explainer, key=f"pellucid-explainer-{uuid.uuid4().hex}", pure=False)
    except Exception as exc:  # cloudpickle raises TypeError, PicklingError, AttributeError ... for odd models
        raise ModelInterfaceError(
            f"the explainer (its model and background) must be serialisable to go to the Dask workers; "
            f"serialising {type(explainer).__name__} of a {type(explainer.model).__name__} failed with "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def _delayed(function: Any) -> Any:
    import dask

    return dask.delayed(function, pure=False)


def _collect(client: Any, futures: list[Any], progress: bool | None, *, fetch: bool) -> list[Any]:
    """Wait for every partition (a progress bar over completed ones); their results in order when ``fetch``."""
    distributed = require("distributed", "dask")
    from tqdm.auto import tqdm

    position = {future.key: index for index, future in enumerate(futures)}
    results: list[Any] = [None] * len(futures)
    disable = None if progress is None else not progress
    with tqdm(total=len(futures), desc="explaining partitions", unit="partition", disable=disable,
              leave=False) as bar:
        for future in distributed.as_completed(futures, loop=client.loop):
            if future.status == "error" or fetch:
                try:
                    results[position[future.key]] = future.result()
                except BaseException:
                    client.cancel(futures)
                    raise
            bar.update(1)
    return results


def _output_directory(output: str | os.PathLike) -> str:
    path = os.path.abspath(os.fspath(output))
    if os.path.isdir(path):
        existing = sorted(name for name in os.listdir(path) if name.startswith("part-") and name.endswith(".npz"))
        if existing:
            raise ArgumentError(
                f"output must be a new or empty directory; found {len(existing)} partition files in {path} "
                f"(e.g. {existing[0]}) from an earlier run. Choose another directory or remove them"
            )
    return path


def _note(facts: dict[str, Any]) -> str:
    rows = f"{facts['rows']} rows"
    aligned = f", boundaries on multiples of {facts['row_block']} rows" if facts.get("row_block") else ""
    return (f"explained {rows} ({facts['source']} input) in {facts['partitions']} partitions{aligned} on Dask "
            f"({facts['cluster']}, {facts['workers']} workers)")
