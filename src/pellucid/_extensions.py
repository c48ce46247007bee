"""Doors from the explainers up to the layers above them, wired by the top package.

``explain_local(..., backend="dask")`` runs on :mod:`pellucid.distributed` and
``explainer.create_scoring_explainer()`` builds a :mod:`pellucid.scoring` explainer, yet both packages sit *above*
:mod:`pellucid.explainers.base` in the import layers (they import the explainers). So the base class does not
import them: it asks this registry for them by role, and the top package ``pellucid/__init__.py`` (imported by
Python before any ``pellucid.*`` module, and allowed to import every layer) registers one loader per role. A
loader imports its module on first use, so optional dependencies (dask) are needed only by callers who use them.

Roles: ``"backend:<name>"`` (a module with ``explain_local``, ``explain_global`` and ``sample_rows``) and
``"scoring"`` (a module with ``create_scoring_explainer``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["provide", "obtain", "provided"]

_LOADERS: dict[str, Callable[[], Any]] = {}


def provide(role: str, loader: Callable[[], Any]) -> None:
    """Register the loader of the module that fills ``role`` (a later call replaces an earlier one).

    Parameters
    ----------
    role : str
        E.g. ``"backend:dask"`` or ``"scoring"``.
    loader : callable
        Called with no arguments on each :func:`obtain`; returns the module (Python caches the import).
    """
    _LOADERS[role] = loader


def provided(prefix: str = "") -> list[str]:
    """The registered roles starting with ``prefix``, sorted."""
    return sorted(role for role in _LOADERS if role.startswith(prefix))


def obtain(role: str) -> Any:
    """The module registered for ``role``.

    Raises
    ------
    KeyError
        When nothing is registered for ``role``.
    """
    return _LOADERS[role]()
