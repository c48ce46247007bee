"""A real two-worker Dask LocalCluster shared by the distributed tests, started here and closed after them.

Worker processes are spawned with this process's sys.path, so they import pellucid and these test modules.
"""

from __future__ import annotations

import pytest

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="package")
def cluster(tmp_path_factory):
    """LocalCluster(n_workers=2, threads_per_worker=1, no dashboard, temporary local directory)."""
    local_directory = tmp_path_factory.mktemp("dask-workers")
    local_cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}, local_directory=str(local_directory),
    )
    try:
        yield local_cluster
    finally:
        local_cluster.close()


@pytest.fixture(scope="package")
def client(cluster):
    """A client of the shared cluster."""
    connected = distributed.Client(cluster, set_as_default=False)
    try:
        yield connected
    finally:
        connected.close()
