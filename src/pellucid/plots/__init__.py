"""Matplotlib plots of an :class:`~pellucid.explanation.Explanation` (needs ``pip install "pellucid[plots]"``).

Every plot takes ``ax=`` (a new figure when omitted) and returns the Axes it drew on; each draws the
explanation's own arrays, for one output (``output=`` a class label) of a classifier or regressor, in whatever
features the explanation holds (raw or engineered). The same functions are methods of Explanation
(``explanation.plot_bar()`` ...). matplotlib is imported when a plot is drawn, never at import.
"""

from __future__ import annotations

from pellucid.plots._dependence import plot_dependence, plot_interactions, strongest_interaction
from pellucid.plots._global import plot_bar, plot_beeswarm, plot_heatmap
from pellucid.plots._local import plot_force, plot_waterfall

__all__ = [
    "plot_bar",
    "plot_beeswarm",
    "plot_dependence",
    "plot_force",
    "plot_heatmap",
    "plot_interactions",
    "plot_waterfall",
    "strongest_interaction",
]
