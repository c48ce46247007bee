"""Benchmark: DeepExplainer (DeepLiftShap) against shap's DeepExplainer and Kernel SHAP on one MLP.

Model: a PyTorch MLP with 30 inputs, two hidden layers of 64 (ReLU) and 2 classes (logits), trained briefly on
synthetic data. Figures are seconds per 1,000 explained rows, all measured in this run with one CPU thread:

* pellucid DeepExplainer, method="deeplift_shap", 100 background rows;
* shap.DeepExplainer (PyTorch, the same DeepLIFT rescale rule), same 100 background rows;
* captum's DeepLiftShap (one call per class), same background, on fewer rows and scaled;
* shap.KernelExplainer on the same model (softmax-free logits), background summarised to 10 rows
  (shap.kmeans), explained on fewer rows and scaled to 1,000;
* pellucid's KernelExplainer likewise, when pellucid.explainers.kernel exists.

Run: ``PYTHONPATH=src python bench/bench_deep.py [--rows 1000] [--kernel-rows 20]``
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch

from pellucid.data import as_dataset, summarize
from pellucid.explainers.deep import DeepExplainer


def make_model(n_features: int = 30, seed: int = 0) -> tuple[torch.nn.Module, np.ndarray]:
    """A briefly trained 30-64-64-2 ReLU MLP and 5,000 synthetic rows."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(5000, n_features)).astype(np.float32)
    labels = (rows[:, 0] + rows[:, 1] * rows[:, 2] - np.abs(rows[:, 3]) > 0).astype(np.int64)
    model = torch.nn.Sequential(
        torch.nn.Linear(n_features, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 2),
    )
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    inputs, targets = torch.tensor(rows), torch.tensor(labels)
    for _ in range(100):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(model(inputs), targets).backward()
        optimiser.step()
    return model.eval(), rows


def timed(function) -> tuple[float, object]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000, help="rows explained by the DeepLIFT methods")
    parser.add_argument("--kernel-rows", type=int, default=20, help="rows explained by Kernel SHAP (scaled)")
    parser.add_argument("--background", type=int, default=100)
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")

    model, data = make_model()
    background = data[: args.background]
    explained = data[1000 : 1000 + args.rows]
    figures: dict[str, float] = {}

    seconds, explanation = timed(lambda: DeepExplainer(model, background).explain_local(explained))
    figures["pellucid DeepExplainer (deeplift_shap)"] = seconds / args.rows * 1000
    print(f"pellucid additivity error: {explanation.meta['convergence_delta']:.2e}")

    import shap

    def run_shap_deep():
        deep = shap.DeepExplainer(model, torch.tensor(background))
        return deep.shap_values(torch.tensor(explained), check_additivity=False)

    seconds, shap_values = timed(run_shap_deep)
    figures["shap.DeepExplainer"] = seconds / args.rows * 1000
    shap_values = np.asarray(shap_values)
    print(f"max |pellucid - shap.DeepExplainer|: {np.abs(shap_values - explanation.local_values).max():.2e}")

    try:
        from captum.attr import DeepLiftShap
    except ImportError:
        print("captum: not installed, skipped")
    else:
        captum_rows = explained[: args.kernel_rows * 10]

        def run_captum():
            method = DeepLiftShap(model)
            inputs, baselines = torch.tensor(captum_rows), torch.tensor(background)
            return [method.attribute(inputs, baselines=baselines, target=t) for t in range(2)]

        seconds, _ = timed(run_captum)
        figures["captum DeepLiftShap (2 targets)"] = seconds / len(captum_rows) * 1000

    def logits(values: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.tensor(values, dtype=torch.float32)).numpy()

    summary = shap.kmeans(background, 10)
    kernel_rows = explained[: args.kernel_rows]
    seconds, _ = timed(lambda: shap.KernelExplainer(logits, summary).shap_values(kernel_rows, silent=True))
    figures["shap.KernelExplainer (10-row summary)"] = seconds / args.kernel_rows * 1000

    try:
        from pellucid.explainers.kernel import KernelExplainer
    except ImportError:
        print("pellucid KernelExplainer: not on this branch yet, skipped")
    else:
        pellucid_summary = summarize(as_dataset(background.astype(np.float64)), 10)
        seconds, _ = timed(
            lambda: KernelExplainer(logits, pellucid_summary, model_task="classification").explain_local(kernel_rows)
        )
        figures["pellucid KernelExplainer (10-row summary)"] = seconds / args.kernel_rows * 1000

    reference = figures["pellucid DeepExplainer (deeplift_shap)"]
    print(f"\nseconds per 1,000 rows (MLP 30-64-64-2, {args.background} background rows, 1 thread)")
    for name, value in figures.items():
        print(f"  {name:45s} {value:9.3f} s   x{value / reference:8.1f} pellucid DeepLiftShap")


if __name__ == "__main__":
    main()
