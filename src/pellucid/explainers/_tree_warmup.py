"""Have pellucid's numba TreeSHAP kernels ready without making the first call wait for their compilation.

With numba's on-disk cache warm, loading the kernels takes a fraction of a second; with it empty (a fresh
install, a container, a CI job, a new worker with its own cache directory), compiling them takes tens of
seconds. The first time a kind of kernel is needed in a process, :func:`ready` tries to load it from the cache
in the calling thread, aborting at the first function that would have to be compiled. If that succeeds, the
kernels are used at once, exactly as before. If not, it starts compiling them in a background thread and
returns False until they are done; meanwhile the engines explain rows with the numpy functions of
:mod:`._tree_numpy` (the same values, up to floating-point rounding), switching over between row chunks.

Setting the environment variable ``PELLUCID_TREESHAP_COLD=wait`` makes every call wait for the kernels
instead (deterministic results bit for bit, at the cost of the compile time on the first call).

Kinds: ``"predict"`` (the ensemble's own prediction), ``"path"`` (path-dependent SHAP values),
``"interventional"``. The build runs the kernels on a tiny ensemble with the array types of every real one,
so it compiles the signatures the engines call. After ``fork`` a child restarts builds that were running.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import numpy as np

__all__ = ["ready", "wait", "use_numpy_while_compiling", "KINDS"]

logger = logging.getLogger(__name__)

KINDS = ("predict", "path", "interventional")

_lock = threading.RLock()
_done: dict[str, threading.Event] = {}


class _CacheMiss(Exception):
    """A kernel was not in numba's cache (raised to abort its compilation in the probing thread)."""


def use_numpy_while_compiling() -> bool:
    """False when ``PELLUCID_TREESHAP_COLD=wait`` asks calls to wait for the compiled kernels."""
    return os.environ.get("PELLUCID_TREESHAP_COLD", "numpy").strip().lower() != "wait"


def _tiny_ensemble():
    """Two small trees (one adding to every output, one to output 1) with the dtypes of every ensemble."""
    from pellucid.explainers._tree_ensemble import concat_trees

    def tree(feature_root: int, feature_child: int) -> dict[str, np.ndarray]:
        return {
            "children_left": np.array([1, 3, -1, -1, -1]), "children_right": np.array([2, 4, -1, -1, -1]),
            "feature": np.array([feature_root, feature_child, -1, -1, -1]),
            "threshold": np.array([0.0, 0.5, 0.0, 0.0, 0.0]), "flags": np.zeros(5),
            "value": np.arange(10.0).reshape(5, 2) / 10.0, "cover": np.array([10.0, 6.0, 4.0, 3.0, 3.0]),
        }

    return concat_trees([tree(0, 1), tree(1, 0)], n_features=2, n_outputs=2, tree_output=[-1, 1],
                        input_dtype="float64", family="warmup")


def _build(kind: str) -> None:
    """Run one kind's compiled kernels on the tiny ensemble (compiling them, or loading them from the cache)."""
    ensemble = _tiny_ensemble()
    rows = np.random.default_rng(0).normal(size=(64, 2))
    if kind == "predict":
        ensemble.compiled_predict(rows)
    elif kind == "path":
        from pellucid.explainers._tree_engine import PathDependentEngine

        PathDependentEngine(ensemble).compiled_shap_values(rows)
    else:
        from pellucid.explainers._tree_interventional import InterventionalEngine

        InterventionalEngine(ensemble, rows[:8], np.full(8, 1 / 8)).compiled_shap_values(rows)


def _load_from_cache(kind: str) -> bool:
    """Try to load ``kind``'s kernels from numba's cache in this thread, compiling nothing; True on success."""
    from numba.core import event

    thread = threading.get_ident()

    class AbortCompile(event.Listener):
        def on_start(self, ev: event.Event) -> None:
            if threading.get_ident() == thread:
                raise _CacheMiss(ev.data["dispatcher"].py_func.__name__)

        def on_end(self, ev: event.Event) -> None:
            pass

    listener = AbortCompile()
    event.register("numba:compile", listener)
    try:
        _build(kind)
        return True
    except _CacheMiss as miss:
        logger.info("pellucid's %s TreeSHAP kernels are not in numba's cache (%s): compiling them in the "
                    "background; numpy answers meanwhile", kind, miss)
        return False
    except Exception:  # noqa: BLE001 (the background build logs it; the first compiled call raises it)
        logger.debug("loading pellucid's %s TreeSHAP kernels failed", kind, exc_info=True)
        return False
    finally:
        event.unregister("numba:compile", listener)


def _compile(kind: str, done: threading.Event) -> None:
    started = time.perf_counter()
    try:
        _build(kind)
        logger.info("pellucid's %s TreeSHAP kernels compiled in %.1f s", kind, time.perf_counter() - started)
    except Exception:  # noqa: BLE001 (the next foreground call compiles them itself and raises the real error)
        logger.exception("compiling pellucid's %s TreeSHAP kernels in the background failed", kind)
    finally:
        done.set()


def _event(kind: str) -> threading.Event:
    """The kind's done event: set when its kernels are loaded; first use probes the cache or starts a build."""
    event = _done.get(kind)
    if event is not None:
        return event
    with _lock:
        event = _done.get(kind)
        if event is not None:
            return event
        event = threading.Event()
        # while another build compiles, loading would queue behind numba's compiler lock: build this one too
        building = any(not other.is_set() for other in _done.values())
        _done[kind] = event  # before probing: the probe's own engines then see "not ready" and build nothing early
        if not use_numpy_while_compiling() or (not building and _load_from_cache(kind)):
            event.set()
        else:
            threading.Thread(target=_compile, args=(kind, event), name=f"pellucid-treeshap-{kind}",
                             daemon=True).start()
        return event


def ready(kind: str) -> bool:
    """True when ``kind``'s compiled kernels can be called without waiting for a compilation.

    Always True under ``PELLUCID_TREESHAP_COLD=wait`` (the kernels then compile on their first call).
    """
    return _event(kind).is_set()


def wait(kind: str, timeout: float | None = None) -> bool:
    """Block until ``kind``'s kernels are ready (or ``timeout`` seconds pass); True when they are."""
    return _event(kind).wait(timeout)


# ---------------------------------------------------------------------------------------------- fork
_held_for_fork: list = []


def _before_fork() -> None:
    # a fork while a build thread holds numba's compiler lock would leave the child a lock nobody can
    # release (any compilation there would hang): wait for the function being compiled first
    if any(not event.is_set() for event in _done.values()):
        from numba.core.compiler_lock import global_compiler_lock

        global_compiler_lock.acquire()
        _held_for_fork.append(global_compiler_lock)


def _after_fork_in_parent() -> None:
    while _held_for_fork:
        _held_for_fork.pop().release()


def _after_fork_in_child() -> None:
    global _lock
    _after_fork_in_parent()
    _lock = threading.RLock()
    for kind in [kind for kind, event in _done.items() if not event.is_set()]:
        del _done[kind]  # its build thread stayed in the parent: the next use starts over


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                        after_in_child=_after_fork_in_child)
