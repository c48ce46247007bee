"""Start the real service in a subprocess on a free 127.0.0.1 port, wait for /health, stop it by PID."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import pellucid

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

STARTUP_SECONDS = 120  # the machine running the suite may be busy


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def subprocess_env(extra=None) -> dict:
    """The environment of a server subprocess: this checkout's pellucid first on the path."""
    env = dict(os.environ)
    source = str(Path(pellucid.__file__).resolve().parents[1])
    env["PYTHONPATH"] = source + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra or {})
    return env


class Server:
    """A service process; ``url`` is its base address."""

    def __init__(self, command, env, log_path):
        self.port = free_port()
        command = [part.replace("{port}", str(self.port)) for part in command]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(command, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_healthy(self):
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"the server did not answer /health within {STARTUP_SECONDS} s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return Path(self.log_path).read_text(errors="replace")

    def stop(self):
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=20)
        self._log.close()


def cli_command(folder, *options):
    """``pellucid serve`` run as ``python -m pellucid.serve.cli`` (the same add_parser/run the CLI uses)."""
    return [sys.executable, "-m", "pellucid.serve.cli", "--scoring-explainer", str(folder), "--port", "{port}",
            "--log-level", "warning", *options]


@pytest.fixture(scope="module")
def start_server(tmp_path_factory):
    started = []

    def start(command, env=None):
        log_path = tmp_path_factory.mktemp("server") / "server.log"
        server = Server(command, subprocess_env(env), log_path)
        started.append(server)
        return server.wait_healthy()

    yield start
    for server in started:
        server.stop()
