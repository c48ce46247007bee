"""Constants under the old SDK's path ``interpret_community.common.constants``.

Examples
--------
>>> from pellucid.common.constants import ShapValuesOutput
>>> ShapValuesOutput.PROBABILITY == "probability"
True
"""

from __future__ import annotations

from enum import Enum

__all__ = ["ShapValuesOutput"]


class ShapValuesOutput(str, Enum):
    """The units of the values ``TreeExplainer`` and ``MimicExplainer`` return (the SDK's ``shap_values_output``).

    ``DEFAULT`` keeps the explainer's native output space (``meta["output_space"]``). ``PROBABILITY`` rescales a
    classifier's log-odds / margin values so that each class's base value plus the row's values equals the
    explained model's predicted probability of that class. ``TEACHER_PROBABILITY`` (MimicExplainer) rescales the
    surrogate's values so that they add up to the teacher model's probabilities (its predictions for a
    regressor).
    """

    DEFAULT = "default"
    PROBABILITY = "probability"
    TEACHER_PROBABILITY = "teacher_probability"
