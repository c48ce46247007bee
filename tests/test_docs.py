"""Every code block of the documentation and every script in examples/ runs, so no example rots.

A page's ```python and ```bash blocks run in order, in one namespace, in a fresh subprocess whose working
folder is a temporary one (bash blocks find ``pellucid`` and ``python`` on the PATH, both this
checkout's). A ```text block
right after a code block is that block's printed output: the test compares them line by line. A code block
preceded by the comment ``<!-- norun -->`` is shown but not run (kept for what cannot run here, such as a
server that runs until stopped, or ``make test`` itself).

Every ``examples/*.py`` script runs in its own subprocess and temporary folder and must exit with status 0.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import json
import os
import re
import subprocess
import sys
import textwrap
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"
SRC = ROOT / "src"
RUNNABLE = ("python", "bash")
NORUN = "<!-- norun -->"
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,})(?P<info>[^`]*)$")
PAGE_TIMEOUT_S = 300
EXAMPLE_TIMEOUT_S = 120


@dataclass
class Block:
    """One fenced code block of a page."""

    lang: str
    code: str
    line: int
    run: bool = True
    output: str | None = None


def extract_blocks(text: str) -> list[Block]:
    """The fenced blocks of a Markdown page, with each runnable block's expected output attached.

    Parameters
    ----------
    text : str
        The page's Markdown.

    Returns
    -------
    list of Block
        Runnable blocks (python, bash) in page order; a ``text`` block directly after one (only blank lines
        between) becomes its ``output``.
    """
    lines = text.splitlines()
    blocks: list[Block] = []
    previous_kind = None  # "code" right after a runnable block closed, until a non-blank line
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if match is None:
            if lines[index].strip():
                previous_kind = None
            index += 1
            continue
        indent, fence = match.group("indent"), match.group("fence")
        lang = match.group("info").strip().split(" ")[0].split("{")[0].lower()
        start = index
        body = []
        index += 1
        while index < len(lines) and not (
            lines[index].strip().startswith(fence) and lines[index].strip().strip("`") == ""
        ):
            line = lines[index]
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
            index += 1
        index += 1  # the closing fence
        code = "\n".join(body) + "\n"
        if lang in RUNNABLE:
            marker = _previous_nonblank(lines, start)
            blocks.append(Block(lang=lang, code=code, line=start + 1, run=marker != NORUN))
            previous_kind = "code"
            continue
        if lang == "text" and previous_kind == "code" and blocks[-1].run and blocks[-1].output is None:
            blocks[-1].output = code
        previous_kind = None
    return blocks


def _previous_nonblank(lines: list[str], index: int) -> str:
    for line in reversed(lines[:index]):
        if line.strip():
            return line.strip()
    return ""


def docs_pages() -> list[Path]:
    """Every Markdown page under docs/."""
    return sorted(DOCS.rglob("*.md"))


def example_scripts() -> list[Path]:
    """Every runnable example script."""
    return sorted(EXAMPLES.glob("*.py"))


def subprocess_env(bin_dir: Path | None = None) -> dict[str, str]:
    """The environment of the subprocesses: this checkout's src first, a headless matplotlib, one BLAS thread."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [env.get("PYTHONPATH")])])
    env["MPLBACKEND"] = "Agg"
    env["PYTHONHASHSEED"] = "0"
    env.setdefault("OMP_NUM_THREADS", "1")
    for name in [name for name in env if name.startswith("MLFLOW_")]:  # a page starts from MLflow's defaults
        env.pop(name)
    if bin_dir is not None:
        env["PATH"] = os.pathsep.join([str(bin_dir), env.get("PATH", "")])
    return env


def run_page(page: Path, workdir: Path) -> subprocess.CompletedProcess:
    """Run a page's blocks in a subprocess in ``workdir``; the result's returncode is 0 when all passed."""
    blocks = [asdict(block) for block in extract_blocks(page.read_text(encoding="utf-8"))]
    spec = workdir / ".pellucid-doc-blocks.json"
    spec.write_text(json.dumps({"page": str(page.relative_to(ROOT) if page.is_relative_to(ROOT) else page),
                                "blocks": blocks}), encoding="utf-8")
    bin_dir = workdir / ".bin"
    bin_dir.mkdir(exist_ok=True)
    for name, command in (("pellucid", f'"{sys.executable}" -m pellucid.cli'), ("python", f'"{sys.executable}"')):
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec {command} "$@"\n', encoding="utf-8")
        shim.chmod(0o755)
    return subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--run-blocks", str(spec)],
        cwd=workdir, env=subprocess_env(bin_dir), capture_output=True, text=True, timeout=PAGE_TIMEOUT_S,
    )


# ---------------------------------------------------------------------- the runner (in the subprocess)
def _run_blocks(spec_path: str) -> int:
    # This file runs as a script: its folder (tests/, with packages named like libraries, e.g. tests/distributed)
    # must not shadow the libraries the blocks import.
    here = Path(__file__).resolve().parent
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != here]
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    page = spec["page"]
    namespace: dict = {"__name__": "__main__"}
    for number, block in enumerate(spec["blocks"], start=1):
        if not block["run"]:
            continue
        where = f"{page}, block {number} ({block['lang']}, line {block['line']})"
        if block["lang"] == "python":
            captured = io.StringIO()
            try:
                with contextlib.redirect_stdout(captured):
                    exec(compile(block["code"], where, "exec"), namespace)
            except BaseException:  # report any failure, SystemExit included
                print(f"FAILED: {where}\n{captured.getvalue()}{traceback.format_exc()}", file=sys.stderr)
                return 1
            printed = captured.getvalue()
        else:
            done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block["code"]],
                                  capture_output=True, text=True)
            printed = done.stdout
            if done.returncode != 0:
                print(f"FAILED: {where}: exit status {done.returncode}\n{done.stdout}{done.stderr}", file=sys.stderr)
                return 1
        if block["output"] is not None and _lines(printed) != _lines(block["output"]):
            diff = "\n".join(difflib.unified_diff(_lines(block["output"]), _lines(printed), "documented output",
                                                  "printed output", lineterm=""))
            print(f"FAILED: {where}: the printed output differs from the page's\n{diff}", file=sys.stderr)
            return 1
        print(f"ok: {where}")
    return 0


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


# ---------------------------------------------------------------------- the tests
def _ids(paths: list[Path], base: Path) -> list[str]:
    return [str(path.relative_to(base)) for path in paths]


@pytest.mark.parametrize("page", docs_pages(), ids=_ids(docs_pages(), DOCS))
def test_docs_page_blocks_run_and_print_what_the_page_shows(page: Path, tmp_path: Path) -> None:
    done = run_page(page, tmp_path)
    assert done.returncode == 0, (
        f"{page.name}:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}\n(if the new output is right, refresh the "
        f"page's output blocks: PYTHONPATH=src python docs/refresh_outputs.py {page.relative_to(ROOT)})"
    )


@pytest.mark.parametrize("script", example_scripts(), ids=_ids(example_scripts(), EXAMPLES))
def test_example_script_runs(script: Path, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=subprocess_env(),
                          capture_output=True, text=True, timeout=EXAMPLE_TIMEOUT_S)
    assert done.returncode == 0, f"{script.name}:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"


def test_there_are_pages_and_examples() -> None:
    assert len(docs_pages()) >= 10 and len(example_scripts()) >= 4
    assert sum(len(extract_blocks(page.read_text(encoding="utf-8"))) for page in docs_pages()) >= 40


def test_extract_blocks_reads_outputs_norun_and_indented_blocks() -> None:
    page = textwrap.dedent("""\
        Text.

        ```python
        print(1)
        ```

        ```text
        1
        ```

        <!-- norun -->
        ```bash
        make test
        ```

        ```text
        not an output: the block before it does not run
        ```

        !!! note
            ```python
            x = 2
            ```
        """)
    blocks = extract_blocks(page)
    assert [(b.lang, b.run, b.output) for b in blocks] == [
        ("python", True, "1\n"), ("bash", False, None), ("python", True, None),
    ]
    assert blocks[2].code == "x = 2\n" and blocks[0].line == 3


@pytest.mark.parametrize("body, message", [
    ("```python\nraise ValueError('broken example')\n```\n", "broken example"),
    ("```python\nprint(2 + 2)\n```\n\n```text\n5\n```\n", "differs from the page's"),
    ("```bash\nfalse\n```\n", "exit status 1"),
    ("```python\nvalue = 1\n```\n\n```python\nassert value == 2, 'state carried over'\n```\n", "state carried"),
])
def test_a_failing_block_fails_the_page(tmp_path: Path, body: str, message: str) -> None:
    page = tmp_path / "page.md"
    page.write_text(body, encoding="utf-8")
    workdir = tmp_path / "work"
    workdir.mkdir()
    done = run_page(page, workdir)
    assert done.returncode == 1 and message in done.stderr


def test_blocks_share_state_run_in_the_temporary_folder_and_find_the_cli(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(textwrap.dedent("""\
        ```python
        from pathlib import Path
        Path("made.txt").write_text("hello\\n")
        ```

        ```bash
        cat made.txt
        pellucid --version | cut -d" " -f1
        ```

        ```text
        hello
        pellucid
        ```
        """), encoding="utf-8")
    workdir = tmp_path / "work"
    workdir.mkdir()
    done = run_page(page, workdir)
    assert done.returncode == 0, done.stderr
    assert (workdir / "made.txt").read_text() == "hello\n"


def test_site_builds_with_no_warning(tmp_path: Path) -> None:
    """``mkdocs build --strict`` (what ``make docs`` runs): every page in the nav, every link and docstring valid."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", str(ROOT / "mkdocs.yml"),
         "-d", str(tmp_path / "site")],
        cwd=ROOT, env={**subprocess_env(), "NO_MKDOCS_2_WARNING": "1"}, capture_output=True, text=True,
        timeout=PAGE_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    assert (tmp_path / "site" / "index.html").exists() and (tmp_path / "site" / "migration" / "index.html").exists()


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--run-blocks":
    sys.exit(_run_blocks(sys.argv[2]))
