"""Which Dask cluster an explanation runs on: the user's, or an embedded one started for the call.

Order of choice: a ``distributed.Client`` passed as ``client=``; a scheduler address passed as ``client=``
(``"tcp://host:8786"``); the address in the environment variable ``PELLUCID_DASK_SCHEDULER``; else an embedded
``LocalCluster`` started for the call (worker processes, one per core, one thread each, no dashboard, a
temporary local directory) and closed, with its processes, when the call returns.

Examples
--------
>>> with dask_client(n_workers=1) as (client, where):  # doctest: +SKIP
...     client.submit(sum, [1, 2]).result()
3
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from typing import Any

from pellucid.errors import ArgumentError, ServiceError, require

__all__ = ["SCHEDULER_ENV", "DEFAULT_CONNECT_TIMEOUT", "dask_client", "default_n_workers"]

logger = logging.getLogger(__name__)

#: Environment variable naming a scheduler address to use when no client is given.
SCHEDULER_ENV = "PELLUCID_DASK_SCHEDULER"
#: Seconds to wait for a scheduler to answer before raising ServiceError.
DEFAULT_CONNECT_TIMEOUT = 5.0


def default_n_workers() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def dask_client(
    client: Any = None,
    *,
    n_workers: int | None = None,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> Iterator[tuple[Any, str]]:
    """A Dask client for the duration of a ``with`` block, and a description of where it points.

    Parameters
    ----------
    client : distributed.Client or str, optional
        A connected client (used as is, never closed here) or a scheduler address. Default: the address in
        ``PELLUCID_DASK_SCHEDULER``, else an embedded LocalCluster.
    n_workers : int, optional
        Workers of the embedded cluster (default one per core). Only for the embedded cluster.
    connect_timeout : float, default 5.0
        Seconds to wait for a scheduler address to answer.

    Yields
    ------
    (distributed.Client, str)
        The client and a description such as ``"embedded LocalCluster (2 workers)"``.

    Raises
    ------
    ServiceError
        When the scheduler does not answer within ``connect_timeout`` or the embedded cluster cannot start.
    """
    distributed = require("distributed", "dask")
    if n_workers is not None and (isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1):
        raise ArgumentError(f"n_workers must be a positive integer or None; found {n_workers!r}")
    if isinstance(client, distributed.Client):
        if n_workers is not None:
            raise ArgumentError("n_workers sizes the embedded cluster only; a client was given, so drop n_workers")
        yield client, f"the given client's scheduler {client.scheduler.address}"
        return
    if client is not None and not isinstance(client, str):
        raise ArgumentError(
            f"client must be a distributed.Client, a scheduler address string or None; found {type(client).__name__}"
        )
    address = client or os.environ.get(SCHEDULER_ENV) or None
    if address is not None:
        if n_workers is not None:
            raise ArgumentError("n_workers sizes the embedded cluster only; a scheduler address was given")
        source = "client=" if client else f"the environment variable {SCHEDULER_ENV}"
        connected = _connect(distributed, address, source, connect_timeout)
        try:
            yield connected, f"scheduler {address} (from {source})"
        finally:
            connected.close()
        return
    with _embedded_cluster(distributed, n_workers or default_n_workers()) as (embedded, description):
        yield embedded, description


def _connect(distributed: Any, address: str, source: str, timeout: float) -> Any:
    started = time.perf_counter()
    try:
        return distributed.Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        waited = time.perf_counter() - started
        raise ServiceError(
            f"expected a Dask scheduler answering at {address!r} (from {source}); found none after {waited:.1f} s "
            f"({type(exc).__name__}: {exc}). Start the scheduler, fix the address, or unset {SCHEDULER_ENV} and "
            "pass no client to use an embedded local cluster"
        ) from exc


@contextlib.contextmanager
def _embedded_cluster(distributed: Any, n_workers: int) -> Iterator[tuple[Any, str]]:
    with tempfile.TemporaryDirectory(prefix="pellucid-dask-") as local_directory:
        try:
            cluster = distributed.LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                # The scheduler's health endpoints still need an HTTP port: a free local one, not 8787.
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                local_directory=local_directory,
            )
        except RuntimeError as exc:
            raise ServiceError(
                f"the embedded Dask LocalCluster ({n_workers} worker processes) failed to start: {exc}. Worker "
                "processes re-import the main script: guard the script's code with "
                "`if __name__ == \"__main__\":`, or pass client= with a running cluster"
            ) from exc
        try:
            client = distributed.Client(cluster, set_as_default=False)
            try:
                description = f"embedded LocalCluster ({n_workers} worker process{'es' if n_workers > 1 else ''})"
                logger.info("started an %s", description)
                yield client, description
            finally:
                client.close()
        finally:
            cluster.close()
            logger.info("closed the embedded LocalCluster")
