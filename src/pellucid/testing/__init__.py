"""Helpers for pellucid's own tests and for users testing explainers: independent reference values.

:mod:`pellucid.testing.oracles` computes exact Shapley values by enumerating every coalition, with no code
shared with the explainers it checks.
"""

from pellucid.testing.oracles import exact_expected_value, exact_shapley_values

__all__ = ["exact_shapley_values", "exact_expected_value"]
