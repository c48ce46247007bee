"""Benchmark: explanations on Dask — Kernel SHAP speedup with workers, TreeSHAP over a million rows.

Part 1, Kernel SHAP on the classic breast-cancer SVC (``svm.SVC(gamma=0.001, C=100., probability=True)``
fitted on train_test_split(test_size=0.2, random_state=0), a 10-row k-means background): ``--kernel-rows``
rows (drawn with replacement from the data) explained on a LocalCluster of 1 worker, then of 2 workers (one
thread each, started before timing; the time is the explain_local call). Printed: seconds, rows per second,
the speedup, and that both runs give exactly the single-process values (checked on the first block of rows
in this process). Kernel SHAP's values depend on which rows share a block (they share coalitions and the
adaptive allocation), so partitions are aligned to the explainer's blocks; the peer is shap's
KernelExplainer in this process on ``--shap-rows`` rows with the same nsamples (a per-row rate, scaled).

Part 2, TreeSHAP over ``--tree-rows`` x ``--features`` synthetic rows: a LightGBM classifier (trained here on
50,000 rows from the same generator) explained by TreeExplainer on 2 workers; every partition of rows is
generated on a worker (a dask array of delayed blocks), so the client never holds the data. Only the sums
of |local values| and row counts leave the workers (``explain_global(include_local=False)``). Printed: seconds,
each worker's peak RSS (psutil, sampled every 20 ms from this process), this process's RSS growth, and the
global importances against single-process ones computed here over the same blocks in turn (exactly equal
when summed in the same order, and to ~1e-12 against a plain mean).

Everything runs on whatever else the machine is doing: say so when quoting the figures.

The default ``--nsamples 200`` (not "auto", 2108 coalitions for 30 features) keeps part 1 to about a minute
per configuration on 2 cores; the SVC's predict_proba (about 30 us a row) is almost all of the cost, so the
time scales with nsamples.

Run: ``PYTHONPATH=src python bench/bench_dask.py [--kernel-rows 2000] [--nsamples 200] [--tree-rows 1000000]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
import warnings

import numpy as np

TREE_BLOCK_ROWS = 50_000


# ---------------------------------------------------------------------- helpers
def local_cluster(n_workers: int, directory: str):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}, local_directory=directory)
    return cluster, Client(cluster, set_as_default=False)


class PeakRss:
    """Peak resident memory of some processes, sampled from this process in a thread."""

    def __init__(self, pids: list[int], interval: float = 0.02):
        import psutil

        self.processes = {pid: psutil.Process(pid) for pid in pids}
        self.peaks = dict.fromkeys(pids, 0)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid, process in self.processes.items():
                try:
                    self.peaks[pid] = max(self.peaks[pid], process.memory_info().rss)
                except Exception:  # a worker restarting
                    pass
            time.sleep(self.interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def make_rows(seed: int, n_rows: int, n_features: int) -> np.ndarray:
    """Synthetic rows: correlated Gaussian features (block i of the big data set uses seed i)."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n_rows, n_features))
    base[:, 1::2] += 0.5 * base[:, 0::2][:, : base[:, 1::2].shape[1]]
    return base


def labels(rows: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    score = rows[:, 0] + rows[:, 1] * rows[:, 2] - 0.5 * rows[:, 3] ** 2 + 0.3 * rows[:, 4:10].sum(axis=1)
    return (score + rng.normal(size=len(rows)) > 0).astype(int)


# ---------------------------------------------------------------------- part 1: Kernel SHAP
def kernel_part(args: argparse.Namespace, directory: str) -> None:
    from sklearn import svm
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    from pellucid.distributed import row_block
    from pellucid.explainers.kernel import KernelExplainer

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, _ = train_test_split(X, y, test_size=0.2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # sklearn 1.9 deprecates probability=True
        model = svm.SVC(gamma=0.001, C=100.0, probability=True).fit(X_train, y_train)
    rows = X[np.random.default_rng(0).integers(0, len(X), size=args.kernel_rows)]
    nsamples = args.nsamples if args.nsamples == "auto" else int(args.nsamples)
    explainer = KernelExplainer(model, X_train, nclusters=10, nsamples=nsamples, seed=0)
    block = row_block(explainer, X.shape[1])
    print(f"== Kernel SHAP: {len(rows)} rows x {X.shape[1]} features, nsamples={nsamples}, 10-row background, "
          f"row block {block}")
    results, seconds = {}, {}
    for n_workers in (1, 2):
        cluster, client = local_cluster(n_workers, directory)
        try:
            explainer.explain_local(rows[:2], backend="dask", client=client)  # warm the workers' imports
            start = time.perf_counter()
            results[n_workers] = explainer.explain_local(rows, backend="dask", client=client)
            seconds[n_workers] = time.perf_counter() - start
        finally:
            client.close()
            cluster.close()
        facts = results[n_workers].meta["distributed"]
        print(f"  {n_workers} worker{'s' if n_workers > 1 else ' '}: {seconds[n_workers]:8.1f} s "
              f"({len(rows) / seconds[n_workers]:.1f} rows/s; {facts['partitions']} partitions of "
              f"{sorted(set(facts['partition_rows']))} rows)")
    print(f"  speedup 2 workers / 1 worker: {seconds[1] / seconds[2]:.2f}x")
    same = np.array_equal(results[1].local_values, results[2].local_values)
    check = min(len(rows), block or len(rows))
    start = time.perf_counter()
    single = explainer.explain_local(rows[:check])
    single_seconds = time.perf_counter() - start
    exact = np.array_equal(single.local_values, results[2].local_values[:check])
    print(f"  1-worker == 2-worker values: {same}; == single process on the first {check} rows: {exact} "
          f"(single process: {check / single_seconds:.1f} rows/s)")
    if args.shap_rows:
        shap_rate = shap_kernel_rate(model, explainer, rows[: args.shap_rows], nsamples)
        if shap_rate:
            print(f"  shap KernelExplainer (this process, {args.shap_rows} rows, same background and nsamples): "
                  f"{shap_rate:.2f} rows/s; pellucid 2 workers / shap: {len(rows) / seconds[2] / shap_rate:.1f}x, "
                  f"pellucid single process / shap: {check / single_seconds / shap_rate:.1f}x")


def shap_kernel_rate(model, explainer, rows: np.ndarray, nsamples) -> float | None:
    try:
        import shap
    except ImportError:
        print("  shap not installed: no peer figure")
        return None
    background = explainer.background
    masker = shap.utils._legacy.DenseData(background.values, [str(i) for i in range(background.n_features)],
                                          None, background.row_weights().copy())
    peer = shap.KernelExplainer(model.predict_proba, masker)
    budget = 2 * rows.shape[1] + 2048 if nsamples == "auto" else nsamples
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer.shap_values(rows, nsamples=budget, silent=True)
    return len(rows) / (time.perf_counter() - start)


# ---------------------------------------------------------------------- part 2: TreeSHAP over many rows
def tree_part(args: argparse.Namespace, directory: str) -> None:
    import dask
    import dask.array as da
    import lightgbm
    import psutil

    from pellucid.explainers.tree import TreeExplainer

    n_rows, n_features = args.tree_rows, args.features
    train = make_rows(10**9, 50_000, n_features)
    model = lightgbm.LGBMClassifier(n_estimators=args.trees, num_leaves=args.leaves, n_jobs=1, verbose=-1)
    model.fit(train, labels(train, 1))
    explainer = TreeExplainer(model)
    sizes = [min(TREE_BLOCK_ROWS, n_rows - start) for start in range(0, n_rows, TREE_BLOCK_ROWS)]
    blocks = [da.from_delayed(dask.delayed(make_rows)(seed, size, n_features), shape=(size, n_features),
                              dtype=np.float64) for seed, size in enumerate(sizes)]
    rows = da.concatenate(blocks)
    print(f"== TreeSHAP: {n_rows} x {n_features} rows generated on the workers in {len(sizes)} blocks of "
          f"{TREE_BLOCK_ROWS}; LightGBM {args.trees} trees x {args.leaves} leaves (one thread)")
    me = psutil.Process()
    client_before = me.memory_info().rss
    cluster, client = local_cluster(2, directory)
    try:
        explainer.explain_local(make_rows(0, 10, n_features), backend="dask", client=client)  # warm imports
        pids = list(client.run(os.getpid).values())
        baseline = [psutil.Process(pid).memory_info().rss / 2**20 for pid in pids]
        with PeakRss(pids + [os.getpid()]) as peaks:
            start = time.perf_counter()
            reduced = explainer.explain_global(rows, backend="dask", client=client, include_local=False)
            seconds = time.perf_counter() - start
    finally:
        client.close()
        cluster.close()
    worker_peaks = [peaks.peaks[pid] / 2**20 for pid in pids]
    data_mib = n_rows * n_features * 8 / 2**20
    block_mib = TREE_BLOCK_ROWS * n_features * 8 / 2**20
    print(f"  2 workers: {seconds:.1f} s ({n_rows / seconds:,.0f} rows/s); peak RSS per worker "
          f"{', '.join(f'{p:.0f}' for p in worker_peaks)} MiB, from {', '.join(f'{b:.0f}' for b in baseline)} MiB "
          f"before the run (all rows: {data_mib:,.0f} MiB; one block of rows: {block_mib:.0f} MiB); "
          f"this process grew by {(peaks.peaks[os.getpid()] - client_before) / 2**20:.0f} MiB at most")
    start = time.perf_counter()
    abs_sums = []
    for seed, size in enumerate(sizes):
        local = explainer.explain_local(make_rows(seed, size, n_features)).local_values
        abs_sums.append(np.abs(local).sum(axis=0))
    single_seconds = time.perf_counter() - start
    single_global = np.sum(abs_sums, axis=0) / n_rows
    print(f"  single process (same blocks in turn): {single_seconds:.1f} s; speedup {single_seconds / seconds:.2f}x")
    print(f"  global importances equal to single process: exactly {np.array_equal(reduced.global_values, single_global)}, "
          f"largest difference {np.max(np.abs(reduced.global_values - single_global)) / np.max(single_global):.1e} "
          "of the largest importance")
    top = reduced.get_ranked_global_names(5)
    print(f"  top features: {top}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernel-rows", type=int, default=2000)
    parser.add_argument("--nsamples", default="200", help="coalitions per row ('auto' = 2 * 30 + 2048, ~10x slower)")
    parser.add_argument("--shap-rows", type=int, default=5)
    parser.add_argument("--tree-rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--trees", type=int, default=50)
    parser.add_argument("--leaves", type=int, default=15)
    parser.add_argument("--skip-kernel", action="store_true")
    parser.add_argument("--skip-tree", action="store_true")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory(prefix="bench-dask-") as directory:
        if not args.skip_kernel:
            kernel_part(args, directory)
        if not args.skip_tree:
            tree_part(args, directory)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":  # worker processes re-import this script
    main()
