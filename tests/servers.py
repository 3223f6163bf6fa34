"""A `trialkb serve` subprocess whose process and log the test can see (to kill its workers, to read its log)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from conftest import ROOT, free_port


@contextmanager
def server_process(home: Path, **env: str) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    """`trialkb serve` for ``home`` on a free port, every worker up: its base URL, its process, its log file."""
    port = free_port()
    environment = dict(os.environ, TRIALKB_HOME=str(home), HF_HUB_OFFLINE="1", **env)
    command = [
        sys.executable,
        "-m",
        "kb",
        "--home",
        str(home),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with tempfile.TemporaryDirectory() as folder:
        log_path = Path(folder) / "server.log"
        with log_path.open("wb") as log:  # a file, not a pipe: a chatty server must never block on a full one
            process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log, stderr=log)
            base = f"http://127.0.0.1:{port}"
            try:
                wait_ready(base, process, log_path)
                yield base, process, log_path
            finally:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def readiness(base: str) -> tuple[int, dict[str, object]]:
    """/readyz's status code and body."""
    response = httpx.get(base + "/readyz", timeout=5)
    return response.status_code, response.json()


def wait_ready(base: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    """Until /readyz says 200 with every wanted worker up."""
    started = time.monotonic()
    while True:
        assert process.poll() is None, log.read_text(errors="replace")[-2000:]
        try:
            status, body = readiness(base)
            if status == 200 and body["workers_ready"] == body["workers_wanted"]:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() - started < timeout, "the server never became ready"
        time.sleep(0.1)
