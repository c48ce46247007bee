"""The CI rule of tests/conftest.py: a skip not on the allow-list fails the run when CI=true."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFTEST = Path(__file__).with_name("conftest.py").read_text().replace('pytest_plugins = ["pytester"]', "")

SKIPPING = """
import pytest

def test_passes():
    assert True

def test_skips():
    pytest.skip("optional thing missing")
"""


@pytest.fixture()
def suite(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_inner=SKIPPING)
    return pytester


@pytest.mark.parametrize("ci", ["true", ""])
def test_an_unlisted_skip_fails_only_in_ci(suite, monkeypatch, ci):
    monkeypatch.setenv("CI", ci)
    result = suite.runpytest_subprocess()
    result.assert_outcomes(passed=1, skipped=1)
    assert result.ret == (1 if ci else 0)
    result.stdout.fnmatch_lines(["*skips not on tests/allowed_skips.txt*", "*test_inner.py::test_skips*"])


def test_a_listed_skip_passes_in_ci(suite, monkeypatch):
    monkeypatch.setenv("CI", "true")
    (suite.path / "allowed_skips.txt").write_text("# comment\n*test_inner.py::test_skips | optional thing\n")
    assert suite.runpytest_subprocess().ret == 0
    (suite.path / "allowed_skips.txt").write_text("*test_inner.py::test_skips | another reason\n")
    assert suite.runpytest_subprocess().ret == 1


def test_a_module_level_importorskip_fails_in_ci(pytester, monkeypatch):
    monkeypatch.setenv("CI", "true")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_gone="import pytest\npytest.importorskip('no_such_module_anywhere')\n")
    result = pytester.runpytest_subprocess()
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*test_gone.py*no_such_module_anywhere*"])
