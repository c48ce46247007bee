"""Suite-wide hooks: in CI (``CI=true``), a skip that is not on tests/allowed_skips.txt fails the run.

A skipped test checks nothing, and ``pytest.importorskip`` turns a broken import into a green run; so in CI
every skip must be listed, with its reason, in ``tests/allowed_skips.txt``. Outside CI skips only show.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ALLOWED_SKIPS = Path(__file__).with_name("allowed_skips.txt")
_unexpected: list[tuple[str, str]] = []


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _allowed() -> list[tuple[str, str]]:
    entries = []
    if ALLOWED_SKIPS.exists():
        for line in ALLOWED_SKIPS.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                pattern, _, reason = line.partition(" | ")
                entries.append((pattern.strip(), reason.strip()))
    return entries


def _reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def _record(report: pytest.TestReport | pytest.CollectReport) -> None:
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = _reason(report)
    for pattern, text in _allowed():
        if fnmatch.fnmatchcase(report.nodeid, pattern.replace("[", "[[]")) and text in reason:
            return
    _unexpected.append((report.nodeid, reason))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _record(report)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    _record(report)  # a module-level skip (importorskip at import) is a skipped collection


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int) -> None:
    if not _unexpected:
        return
    verdict = "fail the run (CI=true)" if _in_ci() else "would fail the run in CI"
    terminalreporter.section(f"skips not on tests/allowed_skips.txt {verdict}", sep="=", red=_in_ci())
    for nodeid, reason in _unexpected:
        terminalreporter.line(f"{nodeid}: {reason}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _unexpected and _in_ci() and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _mlflow_state_stays_in_its_test():
    """MLflow keeps a tracking URI, an active experiment id and active runs per process; a test that set them
    (the compat notebooks do, as the notebooks did) must not point the next test at a store it never created."""
    yield
    mlflow = sys.modules.get("mlflow")
    if mlflow is None:
        return
    while mlflow.active_run() is not None:
        mlflow.end_run()
    from mlflow.tracking import _tracking_service, fluent

    fluent._active_experiment_id = None
    _tracking_service.utils._tracking_uri = None
