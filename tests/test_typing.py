"""Names imported from ``pellucid`` (loaded lazily at run time) carry their real signatures for type checkers.

mypy checks a small example: the revealed types must be the real classes (not ``Any``, which is what the lazy
``__getattr__`` alone gives), and wrong arguments must be reported.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pellucid

EXAMPLE = '''\
from pellucid import Explanation, TabularExplainer, TreeExplainer

explainer = TabularExplainer(object(), [[1.0]], features=["a"])
reveal_type(explainer)
reveal_type(TreeExplainer)
explanation: Explanation = explainer.explain_global([[1.0]], progress=False)
reveal_type(explanation.plot_bar)
TabularExplainer(object(), [[1.0]], features="a")
explainer.explain_global([[1.0]], batch_size="ten")
'''


def test_mypy_sees_the_real_signatures(tmp_path):
    (tmp_path / "example.py").write_text(EXAMPLE, encoding="utf-8")
    source_root = Path(pellucid.__file__).resolve().parents[1]
    environment = dict(os.environ, MYPYPATH=str(source_root))
    completed = subprocess.run(
        [sys.executable, "-m", "mypy", "--follow-imports=silent", "--ignore-missing-imports", "--no-error-summary",
         "--cache-dir", str(tmp_path / "cache"), "example.py"],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=600,
    )
    lines = completed.stdout.splitlines()
    assert 'example.py:4: note: Revealed type is "pellucid.explainers.tabular.TabularExplainer"' in lines, lines
    assert any(line.startswith('example.py:5: note: Revealed type is "def (model: Any') for line in lines), lines
    assert any(line.startswith("example.py:7: note: Revealed type is") and "-> Any" in line for line in lines), lines
    errors = [line for line in lines if ": error:" in line]
    assert len(errors) == 2, lines
    assert errors[0].startswith('example.py:8: error: Argument "features" to "TabularExplainer" has incompatible type')
    assert errors[1].startswith('example.py:9: error: Argument "batch_size"')
    assert completed.returncode == 1
