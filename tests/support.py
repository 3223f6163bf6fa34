"""Paths and helpers shared by the tests (plain functions; fixtures live in the test modules)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SEED = ROOT / "kb" / "data" / "kb" / "sources" / "000_ddb5accd812ab49c.txt"
CORPUS = sorted((DATA / "corpus").glob("*.txt"))
BUNDLED_HOME = ROOT / "kb" / "data" / "kb"

sys.path.insert(0, str(ROOT / "bench"))


def run_cli(
    *args: str, home: Path | None = None, input_text: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run `python -m kb` in a subprocess, as a user would."""
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    command = [sys.executable, "-m", "kb"]
    if home is not None:
        command += ["--home", str(home)]
    return subprocess.run(
        command + list(args),
        capture_output=True,
        text=True,
        input=input_text,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )
