"""The raw <- engineered feature map; it lives in the core, :mod:`pellucid.feature_map`, and is re-exported here."""

from pellucid.feature_map import FeatureMap, SharedOutput, as_feature_map

__all__ = ["FeatureMap", "SharedOutput", "as_feature_map"]
