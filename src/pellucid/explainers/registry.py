"""The one list of pellucid's direct explainers, declared once.

Each explainer class says what it is (``BaseExplainer.name``, ``capabilities``, ``scoring_kind``); this module
only lists them. ``pellucid explain --method NAME`` takes a key of :data:`EXPLAINERS`, and TabularExplainer
tries the explainers of :data:`AUTO_ORDER` in turn. Scoring explainers are registered by kind in
``pellucid.scoring.KINDS`` and found from ``explainer.scoring_kind``.

Examples
--------
>>> sorted(EXPLAINERS)
['deep', 'kernel', 'lime', 'linear', 'mimic', 'pfi', 'tree']
>>> [cls.name for cls in AUTO_ORDER]
['tree', 'deep', 'linear', 'kernel']
>>> EXPLAINERS["pfi"].is_global_only()
True
"""

from __future__ import annotations

from pellucid.explainers.base import BaseExplainer
from pellucid.explainers.deep import DeepExplainer
from pellucid.explainers.kernel import KernelExplainer
from pellucid.explainers.lime import LIMEExplainer
from pellucid.explainers.linear import LinearExplainer
from pellucid.explainers.mimic import MimicExplainer
from pellucid.explainers.pfi import PFIExplainer
from pellucid.explainers.tree import TreeExplainer

__all__ = ["EXPLAINERS", "AUTO_ORDER"]

#: name -> class of every direct explainer.
EXPLAINERS: dict[str, type[BaseExplainer]] = {
    cls.name: cls
    for cls in (TreeExplainer, DeepExplainer, LinearExplainer, KernelExplainer, LIMEExplainer, PFIExplainer,
                MimicExplainer)
}

#: The explainers TabularExplainer tries, in order: the first whose ``supports(model)`` says yes is used.
AUTO_ORDER: tuple[type[BaseExplainer], ...] = (TreeExplainer, DeepExplainer, LinearExplainer, KernelExplainer)
