"""Scoring explainers: small, saved, fast explainers for inference.

Build one from a fitted explainer with :func:`create_scoring_explainer` (or the explainer's own
``create_scoring_explainer()`` method), call ``explain(data)`` and ``predict(data)`` on batches of rows, and
``save(folder)`` / :meth:`ScoringExplainer.load` it: a JSON manifest with SHA-256 checksums, numeric arrays in
``.npz`` read without pickle, and the model in its own safe format (LightGBM text, XGBoost JSON, CatBoost cbm,
scikit-learn through skops with a computed trust list, PyTorch weights as arrays). Serve it with
``pellucid serve --scoring-explainer FOLDER`` (see :mod:`pellucid.serve`).

Kinds: :class:`LinearScoringExplainer` (coefficients and a reference mean), :class:`TreeScoringExplainer`
(the trees, scored by TreeSHAP), :class:`KernelScoringExplainer` (model, weighted background, options) and
:class:`DeepScoringExplainer` (a PyTorch network, its background and DeepExplainer's configuration).

Examples
--------
The classic example (the breast-cancer SVC explained by TabularExplainer, which chose Kernel SHAP), in four lines:

>>> scoring = explainer.create_scoring_explainer(x_train)         # doctest: +SKIP
>>> scoring.save("scoring_explainer", exist_ok=True)               # doctest: +SKIP
>>> scoring = ScoringExplainer.load("scoring_explainer")           # doctest: +SKIP
>>> scoring.predict(x_test[:3]), scoring.explain(x_test[:3])       # doctest: +SKIP
"""

from __future__ import annotations

from pellucid.scoring._factory import create_scoring_explainer
from pellucid.scoring._model_files import load_model_file
from pellucid.scoring.base import KINDS, ScoringExplainer, load, save
from pellucid.scoring.deep import DeepScoringExplainer
from pellucid.scoring.kernel import KernelScoringExplainer
from pellucid.scoring.linear import LinearScoringExplainer
from pellucid.scoring.tree import TreeScoringExplainer

__all__ = [
    "ScoringExplainer",
    "LinearScoringExplainer",
    "TreeScoringExplainer",
    "KernelScoringExplainer",
    "DeepScoringExplainer",
    "create_scoring_explainer",
    "save",
    "load",
    "load_model_file",
    "KINDS",
]
