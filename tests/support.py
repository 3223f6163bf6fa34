"""Paths and helpers shared by the tests (plain functions; fixtures live in the test modules)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SEED = ROOT / "kb" / "data" / "kb" / "sources" / "000_ddb5accd812ab49c.txt"
CORPUS = sorted((DATA / "corpus").glob("*.txt"))
BUNDLED_HOME = ROOT / "kb" / "data" / "kb"
UNSEEN = DATA / "unseen"
"""Articles written after the code, to find what breaks on documents nobody tuned for."""

sys.path.insert(0, str(ROOT / "bench"))

from kb.facade import KnowledgeBase  # noqa: E402
from kb.models import Entity, Extraction  # noqa: E402


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


SHARED_RECORD = DATA / "ctgov" / "NCT03739814.json"


def seed_kb(home: Path) -> KnowledgeBase:
    """A fresh KB built from the bundled sources only (no registry record): the seed article."""
    shutil.copytree(BUNDLED_HOME / "sources", home / "sources")
    kb = KnowledgeBase(home)
    kb.build()
    return kb


def corpus_kb(home: Path) -> KnowledgeBase:
    """A KB of the seed and the three corpus documents."""
    kb = KnowledgeBase(home)
    report = kb.ingest([SEED, *CORPUS])
    assert not report.failed, report
    return kb


def linked_copy(kb: KnowledgeBase, home: Path) -> KnowledgeBase:
    """A copy of ``kb`` with the shared ClinicalTrials.gov record (NCT03739814) linked."""
    shutil.copytree(kb.home, home)
    linked = KnowledgeBase(home)
    linked.link(["NCT03739814"], SHARED_RECORD)
    return linked


def ingested_kb(home: Path, paths: list[Path]) -> KnowledgeBase:
    """A new KB at ``home`` holding ``paths``, every one ingested."""
    kb = KnowledgeBase(home)
    report = kb.ingest(paths)
    assert not report.failed, report
    return kb


def objects(extraction: Extraction, predicate: str, subject: str | None = None) -> set[str]:
    """The labels or values an extraction states for ``predicate`` (of ``subject``, by label or key)."""
    out: set[str] = set()
    for fact in extraction.facts:
        if fact.predicate == predicate and subject in (None, fact.subject.label, fact.subject.key):
            out.add(fact.object.label if isinstance(fact.object, Entity) else str(fact.object.value))
    return out


@contextmanager
def canary_listener(poll: float = 0.1) -> Iterator[tuple[int, list[str]]]:
    """A listening TCP socket on 127.0.0.1 (an SSRF canary): its port, and the first bytes of every
    connection made to it, recorded by a thread until the block ends."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    connections: list[str] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(poll)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            with connection:
                connection.settimeout(2)
                try:
                    connections.append(connection.recv(200).decode("latin-1"))
                except OSError:
                    connections.append("")

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], connections
    finally:
        stop.set()
        thread.join(2)
        listener.close()
