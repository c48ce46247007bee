"""Run code in interpret-community's own virtual environment (it pins its own shap), for side-by-side benches.

The environment is created on first use in ``bench/.venv-interpret-community`` (pip install interpret-community
lightgbm) unless ``PELLUCID_IC_PYTHON`` points to a Python that already has it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

VENV = Path(__file__).resolve().parent / ".venv-interpret-community"


def interpret_community_python() -> str | None:
    """Path of a Python with interpret-community installed, creating its venv if needed; None if it fails."""
    configured = os.environ.get("PELLUCID_IC_PYTHON")
    if configured:
        return configured
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {VENV} with interpret-community (first run only) ...", file=sys.stderr)
        try:
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", "interpret-community", "lightgbm"], check=True)
        except subprocess.CalledProcessError as exc:
            print(f"interpret-community did not install ({exc}); skipping it", file=sys.stderr)
            return None
    return str(python)


def run_peer(code: str, timeout: float = 1800) -> dict | None:
    """Run ``code`` in interpret-community's Python; it must print one JSON object as its last line."""
    python = interpret_community_python()
    if python is None:
        return None
    completed = subprocess.run(
        [python, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if completed.returncode != 0:
        print(completed.stderr[-2000:], file=sys.stderr)
        return None
    return json.loads(completed.stdout.strip().splitlines()[-1])
