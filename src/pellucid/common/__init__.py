"""The old SDK's ``common`` package paths (``...common.constants``)."""
