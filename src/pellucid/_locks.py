"""Objects that hold a lock and still pickle (explainers travel to Dask workers).

A lock cannot be pickled; an object guarding lazy state with one drops it when pickled and gets a new one when
unpickled. Subclasses name their lock attributes and lock types in ``_PICKLE_LOCKS``.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

__all__ = ["LockedPickling"]


class LockedPickling:
    """Mixin: ``__getstate__`` leaves out the locks named in ``_PICKLE_LOCKS``; ``__setstate__`` makes new ones."""

    _PICKLE_LOCKS: ClassVar[dict[str, Any]] = {"_lock": threading.Lock}

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        for name in self._PICKLE_LOCKS:
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        for name, make_lock in self._PICKLE_LOCKS.items():
            setattr(self, name, make_lock())
