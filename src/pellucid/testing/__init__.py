"""Small models and data shared by pellucid's tests and benchmarks (never imported by the library itself)."""
