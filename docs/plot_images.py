"""Draw the pictures of docs/plots.md (docs/img/plots-*.png) by running the page's own code blocks.

The page's python blocks run in order, in one namespace, in a temporary folder (as tests/test_docs.py runs them);
each saves its figure as ``plots-<name>.png`` there. The PNGs are then reduced to 64 colours (small files) and
copied to docs/img. Run from the repository root::

    PYTHONPATH=src python docs/plot_images.py
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

from PIL import Image

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS))

from refresh_outputs import fenced_blocks  # noqa: E402

PAGE = DOCS / "plots.md"
IMAGES = DOCS / "img"


def main() -> int:
    lines = PAGE.read_text(encoding="utf-8").splitlines()
    work = Path(tempfile.mkdtemp(prefix="pellucid-plots-"))
    os.environ.setdefault("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": "__main__"}
    with contextlib.chdir(work):
        for block in fenced_blocks(lines):
            if block["lang"] == "python" and block["run"]:
                code = "\n".join(line[len(block["indent"]):] for line in lines[block["start"] + 1 : block["end"]])
                exec(compile(code, f"{PAGE.name}:{block['start'] + 1}", "exec"), namespace)
    IMAGES.mkdir(exist_ok=True)
    for png in sorted(work.glob("plots-*.png")):
        image = Image.open(png).convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT)
        target = IMAGES / png.name
        image.save(target, optimize=True)
        print(f"{target.relative_to(DOCS.parent)}: {target.stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
