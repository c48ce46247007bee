"""How much memory a request may use, checked before anything large is allocated.

One helper for every explainer: :func:`check_memory` compares an estimate of a request's peak memory with
what the machine (or its cgroup, in a container) has available, and raises :class:`ResourceLimitError`
saying what was asked, what it needs and what to lower, instead of letting numpy try to allocate it.
"""

from __future__ import annotations

import os
from pathlib import Path

from pellucid.errors import ResourceLimitError

__all__ = ["available_bytes", "check_memory", "format_bytes"]

#: Environment variable that caps the memory one request may use, in bytes (e.g. "2e9").
LIMIT_VARIABLE = "PELLUCID_MEMORY_LIMIT"


def format_bytes(n_bytes: float) -> str:
    """``1536`` -> ``"1.5 KiB"``."""
    value = float(n_bytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PiB"


def available_bytes() -> int:
    """Memory a request may use now: the least of MemAvailable, the cgroup's headroom and PELLUCID_MEMORY_LIMIT."""
    candidates = []
    limit = os.environ.get(LIMIT_VARIABLE)
    if limit:
        try:
            candidates.append(int(float(limit)))
        except ValueError:
            pass
    meminfo = _read("/proc/meminfo")
    for line in (meminfo or "").splitlines():
        if line.startswith("MemAvailable:"):
            candidates.append(int(line.split()[1]) * 1024)
    cgroup_max, cgroup_now = _read("/sys/fs/cgroup/memory.max"), _read("/sys/fs/cgroup/memory.current")
    if cgroup_max and cgroup_now and cgroup_max.strip().isdigit() and cgroup_now.strip().isdigit():
        candidates.append(max(0, int(cgroup_max) - int(cgroup_now)))
    if not candidates:
        try:
            candidates.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):  # not a POSIX system: no bound known
            return 2**62
    return int(min(candidates))


def check_memory(n_bytes: float, what: str, advice: str) -> None:
    """Raise :class:`ResourceLimitError` when ``n_bytes`` exceed the memory available.

    Parameters
    ----------
    n_bytes : float
        Estimated peak memory of the request.
    what : str
        The request, e.g. ``"KernelExplainer with nsamples=10**12 on 40 features"``.
    advice : str
        What to lower to make it fit.
    """
    available = available_bytes()
    if n_bytes > available:
        raise ResourceLimitError(
            f"{what} needs about {format_bytes(n_bytes)} of memory; about {format_bytes(available)} is "
            f"available, so nothing was computed. {advice}"
        )


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None
