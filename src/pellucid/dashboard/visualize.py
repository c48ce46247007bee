"""interpret's ``visualize()`` bar chart; it lives in :mod:`pellucid._visualize`, below the explanation it draws."""

from pellucid._visualize import TOP_N, visualize

__all__ = ["visualize", "TOP_N"]
