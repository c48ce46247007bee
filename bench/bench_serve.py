"""Load test of the explanation service on 127.0.0.1: requests/s, p50/p99 latency and errors.

Two cases, each served by ``pellucid serve`` started in a subprocess (stopped by its PID):

* tree: a LightGBM classifier (200 trees, 20 features) with a TreeScoringExplainer;
* kernel: a small scikit-learn MLP (6 features) with a KernelScoringExplainer (10 weighted background rows).

For each, 1-row and 100-row requests are sent by a few concurrent httpx clients (threads), bounded in requests
and seconds. Beside the service figures, the same batches are explained in-process by pellucid's scoring
explainer and by the peer library (shap's TreeExplainer / KernelExplainer) and the ratio is printed, so the cost
of HTTP and JSON is visible. Errors must be 0.

Run: ``python bench/bench_serve.py [--requests 2000] [--seconds 30] [--clients 4]``
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``pellucid serve`` in a subprocess on a free port."""

    def __init__(self, folder: Path, log_path: Path) -> None:
        import httpx

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT / "src") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pellucid.serve.cli", "--scoring-explainer", str(folder), "--port", str(self.port),
             "--log-level", "warning", "--max-rows", "1000"],
            env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}: {Path(log_path).read_text()}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("the server did not become healthy within 180 s")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


def load_test(url: str, bodies: list[bytes], *, max_requests: int, max_seconds: float, clients: int) -> dict:
    """Send requests from ``clients`` threads until ``max_requests`` or ``max_seconds``; latencies in seconds."""
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    sent = [0]
    start = time.perf_counter()
    deadline = start + max_seconds

    def client(index: int) -> None:
        with httpx.Client(base_url=url, timeout=120, headers={"Content-Type": "application/json"}) as session:
            while True:
                with lock:
                    if sent[0] >= max_requests or time.perf_counter() > deadline:
                        return
                    ticket = sent[0]
                    sent[0] += 1
                body = bodies[ticket % len(bodies)]
                began = time.perf_counter()
                try:
                    response = session.post("/score", content=body)
                    ok = response.status_code == 200
                    problem = None if ok else f"{response.status_code}: {response.text[:200]}"
                except httpx.HTTPError as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                elapsed = time.perf_counter() - began
                with lock:
                    latencies.append(elapsed)
                    if problem:
                        errors.append(problem)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    lat = np.asarray(latencies)
    return {
        "requests": len(lat),
        "seconds": wall,
        "rps": len(lat) / wall,
        "p50_ms": float(np.percentile(lat, 50) * 1000) if len(lat) else float("nan"),
        "p99_ms": float(np.percentile(lat, 99) * 1000) if len(lat) else float("nan"),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


def _median_seconds(function, budget_seconds: float = 2.0, max_repeats: int = 50) -> float:
    """Median time of ``function()`` over repeats filling about ``budget_seconds`` (at least 3)."""
    times = []
    began = time.perf_counter()
    while len(times) < 3 or (len(times) < max_repeats and time.perf_counter() - began < budget_seconds):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


# ---------------------------------------------------------------------- cases
def tree_case(folder: Path):
    import lightgbm
    from sklearn.datasets import make_classification

    from pellucid.explainers.tabular import TabularExplainer

    X, y = make_classification(n_samples=5000, n_features=20, n_informative=10, random_state=0)
    model = lightgbm.LGBMClassifier(n_estimators=200, num_leaves=31, verbose=-1, random_state=0).fit(X, y)
    explainer = TabularExplainer(model, X[:500])
    scoring = explainer.create_scoring_explainer()
    scoring.save(folder)

    import shap

    peer_explainer = shap.TreeExplainer(model)  # built once, like the service's scoring explainer
    booster = model.booster_
    peers = {
        "shap": lambda rows: peer_explainer.shap_values(rows),
        "lightgbm pred_contrib": lambda rows: booster.predict(rows, pred_contrib=True),
    }
    return "tree (LightGBM 200 trees, 20 features)", scoring, X, peers


def kernel_case(folder: Path):
    from sklearn.datasets import make_classification
    from sklearn.neural_network import MLPClassifier

    from pellucid.explainers.kernel import KernelExplainer

    X, y = make_classification(n_samples=2000, n_features=6, n_informative=4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MLPClassifier((16,), max_iter=300, random_state=0).fit(X, y)
    explainer = KernelExplainer(model, X, nclusters=10)
    scoring = explainer.create_scoring_explainer()
    scoring.save(folder)
    background = scoring.background

    import shap
    from shap.utils._legacy import DenseData

    data = DenseData(background.values, [str(i) for i in range(X.shape[1])], None, background.row_weights())
    peer_explainer = shap.KernelExplainer(model.predict_proba, data)  # the same weighted background

    peers = {"shap": lambda rows: peer_explainer.shap_values(rows, silent=True)}
    return "kernel (MLP, 6 features, 10 background rows)", scoring, X, peers


def run_case(build, args, workdir: Path) -> list[str]:
    folder = workdir / build.__name__
    name, scoring, X, peers = build(folder)
    lines = [f"== {name}: {scoring!r}"]
    rng = np.random.default_rng(0)
    server = Server(folder, workdir / f"{build.__name__}.log")
    try:
        for rows_per_request, max_requests in ((1, args.requests), (100, max(50, args.requests // 4))):
            index = rng.integers(0, len(X), size=(64, rows_per_request))
            bodies = [json.dumps({"data": X[i].tolist()}).encode() for i in index]
            result = load_test(server.url, bodies, max_requests=max_requests, max_seconds=args.seconds,
                               clients=args.clients)
            batch = X[index[0]]
            ours = _median_seconds(lambda batch=batch: scoring.explain_local(batch))
            lines.append(
                f"  {rows_per_request:3d} rows/request: {result['requests']:5d} requests in {result['seconds']:5.1f} s"
                f" -> {result['rps']:7.1f} req/s ({result['rps'] * rows_per_request:8.1f} rows/s), "
                f"p50 {result['p50_ms']:7.1f} ms, p99 {result['p99_ms']:7.1f} ms, errors {result['errors']}"
            )
            lines.append(f"      in-process explain of one {rows_per_request}-row batch: pellucid {ours * 1000:8.2f} ms; "
                         f"service p50 / in-process = {result['p50_ms'] / (ours * 1000):6.2f}x")
            for peer_name, peer in peers.items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    theirs = _median_seconds(lambda batch=batch, peer=peer: peer(batch))
                lines.append(f"      {peer_name:22s} {theirs * 1000:8.2f} ms ({peer_name} / pellucid = "
                             f"{theirs / ours:6.2f}x)")
            if result["errors"]:
                lines.append(f"      first error: {result['first_error']}")
    finally:
        server.stop()
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="1-row requests per case (100-row: a quarter)")
    parser.add_argument("--seconds", type=float, default=30.0, help="time bound of each load run")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (threads)")
    parser.add_argument("--cases", default="tree,kernel", help="comma-separated: tree, kernel")
    args = parser.parse_args()
    cases = {"tree": tree_case, "kernel": kernel_case}
    failed = False
    with tempfile.TemporaryDirectory() as workdir:
        for case in args.cases.split(","):
            for line in run_case(cases[case.strip()], args, Path(workdir)):
                print(line, flush=True)
                failed = failed or ("errors " in line and not line.rstrip().endswith("errors 0"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
