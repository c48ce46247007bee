"""Rewrite the ```text output blocks of docs pages with what their code blocks print now.

tests/test_docs.py fails when a page's code prints something other than the ```text block after it. When the
change is intended (a library change moved a figure), run this on the page, read the diff, and commit it:

    PYTHONPATH=src python docs/refresh_outputs.py docs/explainers/kernel.md [more pages ...]

Blocks run as the test runs them: in order, in one namespace, in a fresh temporary folder, with ``pellucid`` and
``python`` on the PATH; blocks after ``<!-- norun -->`` are skipped. Only ```text blocks that directly follow a
code block (blank lines between) are rewritten; nothing else on the page changes.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,})(?P<info>[^`]*)$")
NORUN = "<!-- norun -->"


def fenced_blocks(lines: list[str]) -> list[dict]:
    """Start/end line, language, indentation and run flag of every fenced block."""
    blocks, index = [], 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        indent, fence = match.group("indent"), match.group("fence")
        start = index
        index += 1
        while index < len(lines) and not (lines[index].strip().startswith(fence) and not lines[index].strip("` \t")):
            index += 1
        previous = next((line.strip() for line in reversed(lines[:start]) if line.strip()), "")
        blocks.append({"lang": match.group("info").strip().split(" ")[0].lower(), "start": start, "end": index,
                       "indent": indent, "run": previous != NORUN})
        index += 1
    return blocks


def refresh(page: Path) -> int:
    """Run the page's blocks and rewrite its output blocks; returns how many were rewritten."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks = fenced_blocks(lines)
    work = Path(tempfile.mkdtemp(prefix="pellucid-docs-"))
    bin_dir = work / ".bin"
    bin_dir.mkdir()
    for name, command in (("pellucid", f'"{sys.executable}" -m pellucid.cli'), ("python", f'"{sys.executable}"')):
        (bin_dir / name).write_text(f'#!/bin/sh\nexec {command} "$@"\n', encoding="utf-8")
        (bin_dir / name).chmod(0o755)
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.chdir(work)
    namespace: dict = {"__name__": "__main__"}
    replacements = {}
    for number, block in enumerate(blocks):
        if block["lang"] not in ("python", "bash") or not block["run"]:
            continue
        code = "\n".join(line[len(block["indent"]):] for line in lines[block["start"] + 1 : block["end"]]) + "\n"
        if block["lang"] == "python":
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(compile(code, f"{page.name}, block {number + 1}", "exec"), namespace)
            output = printed.getvalue()
        else:
            done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", code], capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"{page.name}, block {number + 1} failed:\n{done.stdout}{done.stderr}")
            output = done.stdout
        following = blocks[number + 1] if number + 1 < len(blocks) else None
        if following and following["lang"] == "text" and not any(
            line.strip() for line in lines[block["end"] + 1 : following["start"]]
        ):
            indent = following["indent"]
            replacements[following["start"]] = (following["end"], [
                indent + line.rstrip() if line.strip() else "" for line in output.strip("\n").splitlines()
            ])
    for start in sorted(replacements, reverse=True):
        end, new = replacements[start]
        lines[start + 1 : end] = new
    page.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(replacements)


def main(paths: list[str]) -> None:
    pages = [Path(path).resolve() for path in paths]
    here = os.getcwd()
    for page in pages:
        count = refresh(page)
        os.chdir(here)
        print(f"{page}: {count} output blocks refreshed")


if __name__ == "__main__":  # the guard matters: Dask worker processes re-import this script
    main(sys.argv[1:])
