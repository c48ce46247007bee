"""One progress bar for every explain call: shown when the call is expected to take more than about 2 s.

:func:`explain_in_blocks` explains a first small block of rows, estimates the whole call's duration from it,
and, when that estimate passes :data:`THRESHOLD_S` (or when asked with ``progress=True``), explains the rest in
blocks under a ``tqdm.auto`` bar (a widget in Jupyter, text on a terminal). ``progress=None`` (the default)
shows it only where someone can see it: stderr is a terminal, or the code runs in a notebook kernel.
``progress=False`` never shows it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

from pellucid.errors import ArgumentError

__all__ = ["explain_in_blocks", "visible", "check_progress", "THRESHOLD_S"]

#: Calls expected to take longer than this many seconds show a bar.
THRESHOLD_S = 2.0
#: Blocks a long call is cut into (the bar's steps).
N_BLOCKS = 50

T = TypeVar("T")


def check_progress(progress: Any) -> bool | None:
    """``progress`` validated: True, False or None."""
    if progress is not None and not isinstance(progress, bool):
        raise ArgumentError(f"progress must be True, False or None (automatic); found {progress!r}")
    return progress


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None or "ipykernel" not in sys.modules:
        return False
    try:
        ipython = shell.get_ipython()
    except AttributeError:
        return False
    return ipython is not None and "IPKernelApp" in getattr(ipython, "config", {})


def visible(progress: bool | None) -> bool:
    """Whether a bar may be shown: forced, or by default where someone can see it."""
    if progress is not None:
        return progress
    try:
        terminal = sys.stderr.isatty()
    except (AttributeError, ValueError):
        terminal = False
    return terminal or _in_notebook()


def _bar(total: int, desc: str, unit: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=False, file=sys.stderr, dynamic_ncols=True)


def explain_in_blocks(
    n_rows: int,
    explain: Callable[[int, int], T],
    *,
    progress: bool | None = None,
    splittable: bool = True,
    granularity: int = 1,
    block_rows: int | None = None,
    desc: str = "explaining",
    unit: str = "row",
    threshold_s: float | None = None,
) -> list[T]:
    """Explain rows ``[0, n_rows)`` as ``explain(start, stop)`` calls, with a progress bar on long runs.

    The first block is timed; the bar opens when the whole call is then expected to take more than
    ``threshold_s`` (or at once with ``progress=True``). Without a bar and without ``block_rows`` the rest is
    explained in one call.

    Parameters
    ----------
    n_rows : int
    explain : callable (start, stop) -> result
        Explains rows ``start:stop``; must give the same values whatever the blocks (row-independent).
    progress : bool, optional
        True: always show the bar; False: never; None: when visible and the call is expected to be slow.
    splittable : bool, default True
        False for explainers whose values depend on how rows are grouped: one call, and the bar (if shown)
        steps once at the end.
    granularity : int, default 1
        Blocks start at multiples of this many rows (explainers whose values are exact only at such splits).
    block_rows : int, optional
        Always explain blocks of this many rows (bounded memory); default about 1/50 of the rows.
    desc : str
        The bar's label.
    unit : str, default "row"
        What the bar counts.
    threshold_s : float, optional
        Expected duration above which the bar is shown; default :data:`THRESHOLD_S`.

    Returns
    -------
    list
        The results of the calls, in row order.
    """
    check_progress(progress)
    threshold_s = THRESHOLD_S if threshold_s is None else threshold_s
    show = visible(progress)
    if n_rows <= 0 or (block_rows is None and not show):
        return [explain(0, n_rows)]
    if not splittable:
        bar = _bar(n_rows, desc, unit) if show else None
        try:
            result = explain(0, n_rows)
            if bar is not None:
                bar.update(n_rows)
        finally:
            if bar is not None:
                bar.close()
        return [result]
    granularity = max(1, int(granularity))
    block = block_rows or max(granularity, n_rows // N_BLOCKS // granularity * granularity)
    started = time.perf_counter()
    done = min(block, n_rows)
    results = [explain(0, done)]
    expected = (time.perf_counter() - started) / done * n_rows
    bar = _bar(n_rows, desc, unit) if show and (progress or expected > threshold_s) else None
    if bar is None and block_rows is None:
        if done < n_rows:
            results.append(explain(done, n_rows))
        return results
    try:
        if bar is not None:
            bar.update(done)
        while done < n_rows:
            stop = min(done + block, n_rows)
            results.append(explain(done, stop))
            if bar is not None:
                bar.update(stop - done)
            done = stop
    finally:
        if bar is not None:
            bar.close()
    return results
