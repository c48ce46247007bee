"""pellucid's explainers: direct ones (one method per module) and the meta explainer TabularExplainer."""
