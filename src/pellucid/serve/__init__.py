"""The explanation web service (``pip install "pellucid[serve]"``).

``create_app(folder_or_scoring_explainer)`` builds a FastAPI app; ``pellucid serve --scoring-explainer DIR`` runs
it under uvicorn; :mod:`pellucid.serve.entry` offers ``init()``/``run(raw_data)`` for score.py-style hosts.
FastAPI is imported only when an app is built.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "create_app_from_env"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from pellucid.serve import app

        return getattr(app, name)
    raise AttributeError(f"module 'pellucid.serve' has no attribute {name!r}")
