"""The served dashboard: the HTTP server in-process, and ``pellucid dashboard`` as a real subprocess in Chromium."""

from __future__ import annotations

import gzip
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pellucid.dashboard import make_server
from pellucid.dashboard.__main__ import main
from pellucid.errors import ArgumentError, DataShapeError

from .conftest import bar_chart, linear_regression_explanation, open_dashboard, shown_points, top_k_by_abs

SRC = Path(__file__).resolve().parents[2] / "src"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture()
def saved(tmp_path: Path) -> tuple[Path, Path]:
    """A saved explanation without its rows, and the rows (+ a target column) in a CSV file."""
    explanation, _, X, y = linear_regression_explanation()
    path = explanation.replace(eval_data=None).save(tmp_path / "explanation.json")
    frame = pd.DataFrame(X, columns=explanation.features).iloc[:, ::-1]  # columns in another order
    frame["target"] = y
    frame.to_csv(tmp_path / "rows.csv", index=False)
    return path, tmp_path / "rows.csv"


def _get(url: str, gzip_ok: bool = False) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} if gzip_ok else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_server_serves_the_page_plain_and_gzipped(saved):
    path, rows = saved
    server = make_server(path, rows, target="target").start()
    url = server.url
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", server.url)
        status, headers, body = _get(server.url)
        assert status == 200 and headers["Content-Type"].startswith("text/html") and body == server.page.encode()
        status, headers, body = _get(server.url, gzip_ok=True)
        assert headers.get("Content-Encoding") == "gzip" and gzip.decompress(body) == server.page.encode()
        assert _get(server.url + "healthz")[2] == b"ok"
        assert _get(server.url + "../etc/passwd")[0] == 404
        # The rows come from the CSV (matched by name), the targets from its target column.
        assert '"true_y":{"type":"num"' in server.page
    finally:
        server.stop()
    with pytest.raises(urllib.error.URLError):  # stopped: the port is closed
        urllib.request.urlopen(url, timeout=2)


def test_data_files_are_checked(saved, tmp_path):
    path, rows = saved
    with pytest.raises(ArgumentError, match="target column 'label' is not in rows.csv"):
        make_server(path, rows, target="label")
    pd.DataFrame({"a": [1.0], "b": [2.0]}).to_csv(tmp_path / "narrow.csv", index=False)
    with pytest.raises(DataShapeError, match="lacks"):
        make_server(path, tmp_path / "narrow.csv")


def test_command_writes_a_page_and_reports_errors(saved, tmp_path, capsys):
    path, rows = saved
    assert main([str(path), "--data", str(rows), "--target", "target", "--output", str(tmp_path / "page.html")]) == 0
    assert (tmp_path / "page.html").read_text().startswith("<!DOCTYPE html>")
    assert main([str(tmp_path / "missing.json")]) == 1
    assert "missing.json" in capsys.readouterr().err


def test_served_page_in_chromium_from_the_command(saved, browser, screenshot_dir):
    path, rows = saved
    explanation, model, X, _ = linear_regression_explanation()
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    process = subprocess.Popen(
        [sys.executable, "-m", "pellucid.dashboard", str(path), "--data", str(rows), "--target", "target",
         "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        line = process.stdout.readline()
        assert line.strip() == f"pellucid dashboard: serving http://127.0.0.1:{port}/ (Ctrl+C to stop)", (
            line + process.stderr.read() if process.poll() is not None else line)
        open_dashboard(browser, f"http://127.0.0.1:{port}/")
        assert shown_points(browser, "chart-data") == 442
        assert shown_points(browser, "chart-summary") == 442 * 10
        local = bar_chart(browser, "chart-local")
        top = top_k_by_abs(explanation.local_values[0, :, 0], 10)
        np.testing.assert_allclose(local["x"], explanation.local_values[0, top, 0], rtol=1e-3)
        # The rows came from the CSV (columns matched by name): each label shows row 0's value of its feature.
        for j, label in zip(top, local["ticks"]):
            name, value = label.rsplit(" = ", 1)
            assert name == explanation.features[j] and float(value) == pytest.approx(X[0, j], rel=1e-3)
        options = browser.execute_script("return Array.from(document.getElementById('data-y').options).map(o => o.value)")
        assert "true" in options
        browser.save_screenshot(str(screenshot_dir / "served.png"))
    finally:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        process.stdout.close()
        process.stderr.close()
    assert process.returncode == 0
    time.sleep(0.1)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the port is still open after the server stopped"
