"""Static chart export with matplotlib: files exist and are valid PNG/SVG."""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from pellucid.dashboard import ExplanationDashboard, export_static
from pellucid.errors import ArgumentError

from .conftest import global_only_explanation, linear_iris_explanation, raw_categorical_explanation

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _check_png(path: Path) -> None:
    raw = path.read_bytes()
    assert raw[:8] == PNG_SIGNATURE and raw[12:16] == b"IHDR"
    width, height = struct.unpack(">II", raw[16:24])
    pixels = imread(path)
    assert pixels.shape[:2] == (height, width) and width > 200 and height > 100
    assert pixels.std() > 0.01  # something was drawn, not a blank canvas


def test_png_export_writes_every_chart(tmp_path: Path):
    explanation, _, _, _ = linear_iris_explanation()
    written = ExplanationDashboard(explanation).export_static(tmp_path / "charts", fmt="png")
    names = sorted(p.name for p in written)
    top = explanation.features[int(np.argmax(explanation.global_values[:, 0]))]  # class 0 of 3
    dependence = "dependence_" + re.sub(r"\W+", "_", top) + ".png"  # 'petal length (cm)' -> petal_length_cm_
    assert names == sorted(["global_importance.png", "summary.png", dependence, "local_row0.png"])
    for path in written:
        assert path.is_file()
        _check_png(path)


def test_svg_export_is_valid_svg(tmp_path: Path):
    written = export_static(raw_categorical_explanation(), tmp_path, fmt="svg", row=3, top_k=2)
    assert [p.name for p in written][-1] == "local_row3.svg" and len(written) == 4
    for path in written:
        root = ElementTree.parse(path).getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert len(root.findall(".//{http://www.w3.org/2000/svg}path")) > 3
    # The local chart of row 3 names its two top features with their values.
    explanation = raw_categorical_explanation()
    text = (tmp_path / "local_row3.svg").read_text()
    top = np.argsort(-np.abs(explanation.local_values[3, :, 1]), kind="stable")[:2]
    for j in top:
        assert f"{explanation.features[j]} = " in text


def test_global_only_export_writes_the_global_chart_only(tmp_path: Path):
    written = export_static(global_only_explanation(), tmp_path, fmt="png")
    assert [p.name for p in written] == ["global_importance.png"]
    _check_png(written[0])


def test_export_rejects_unknown_formats(tmp_path: Path):
    with pytest.raises(ArgumentError, match=r"fmt must be one of \('png', 'svg', 'pdf'\); found 'gif'"):
        export_static(global_only_explanation(), tmp_path, fmt="gif")
