"""Explanations at scale on Dask.

``explainer.explain_local(X, backend="dask")`` (and ``explain_global``) on any row-by-row explainer run here:
the explainer goes to every worker once, the rows are explained partition by partition on the workers (numpy,
pandas, scipy.sparse, or a ``dask.array`` / ``dask.dataframe`` that stays distributed), and one Explanation
comes back. ``explain_global(X, backend="dask", output="dir/")`` keeps the local values on the workers' disks
and reduces the global importances on the cluster. :func:`sample_rows` and :func:`summarize` sample and
summarise distributed data.

The cluster is the user's (``client=`` or the ``PELLUCID_DASK_SCHEDULER`` address) or a LocalCluster started
for the call. Importing this package does not import dask; using it needs ``pip install "pellucid[dask]"``.
"""

from pellucid.distributed.cluster import SCHEDULER_ENV, dask_client
from pellucid.distributed.explain import explain_global, explain_local, row_block
from pellucid.distributed.sampling import sample_rows, summarize

__all__ = [
    "SCHEDULER_ENV",
    "dask_client",
    "explain_global",
    "explain_local",
    "row_block",
    "sample_rows",
    "summarize",
]
