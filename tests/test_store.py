"""The on-disk KB: atomic commits, checksums, concurrent writers, and a writer killed midway."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import CORPUS, ROOT, SEED, run_cli
from synthetic_docs import write_corpus

from kb.errors import KBCorrupt, KBNotFound
from kb.facade import KnowledgeBase
from kb.store import KBDirectory, Manifest


def _commit(home: Path, text: str) -> Manifest:
    data = text.encode()
    return KBDirectory(home).commit(data, Manifest(snapshot="", sha256="", triples=text.count("\n")))


def test_commit_is_atomic_and_verified(tmp_path: Path) -> None:
    line = '<http://a> <http://b> "c" <http://g> .\n'
    manifest = _commit(tmp_path, line)
    directory = KBDirectory(tmp_path)
    assert directory.read_snapshot(directory.read_manifest()) == line.encode()
    second = _commit(tmp_path, line + '<http://a> <http://b> "d" <http://g> .\n')
    assert second.snapshot != manifest.snapshot
    assert not (tmp_path / manifest.snapshot).exists(), "superseded snapshots are removed"
    assert [p.name for p in tmp_path.glob(".*.tmp")] == []


def test_altered_snapshot_is_reported_not_served(tmp_path: Path) -> None:
    manifest = _commit(tmp_path, '<http://a> <http://b> "c" <http://g> .\n')
    (tmp_path / manifest.snapshot).write_text('<http://a> <http://b> "evil" <http://g> .\n')
    with pytest.raises(KBCorrupt, match="checksum"):
        KnowledgeBase(tmp_path).store  # noqa: B018


def test_missing_kb_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KBNotFound, match="no knowledge base"):
        KnowledgeBase(tmp_path / "empty").manifest  # noqa: B018


def test_damaged_manifest_is_reported(tmp_path: Path) -> None:
    _commit(tmp_path, '<http://a> <http://b> "c" <http://g> .\n')
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(KBCorrupt, match="damaged"):
        KnowledgeBase(tmp_path).manifest  # noqa: B018


def test_two_concurrent_ingests_both_land(tmp_path: Path) -> None:
    home = tmp_path / "kb"
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    commands = [
        [sys.executable, "-m", "kb", "-q", "--home", str(home), "ingest", str(path)]
        for path in (SEED, CORPUS[0])
    ]
    processes = [
        subprocess.Popen(c, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for c in commands
    ]
    for process in processes:
        _, err = process.communicate(timeout=600)
        assert process.returncode == 0, err.decode()
    manifest = KBDirectory(home).read_manifest()
    assert {d.path for d in manifest.documents} == {SEED.name, CORPUS[0].name}


def test_ingest_killed_midway_leaves_last_good_kb(tmp_path: Path) -> None:
    home = tmp_path / "kb"
    assert run_cli("-q", "ingest", str(SEED), home=home).returncode == 0
    good = json.loads((home / "manifest.json").read_text())
    sources = write_corpus(tmp_path / "docs", 40)
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    for delay in (0.5, 1.5, 3.0):
        process = subprocess.Popen(
            [sys.executable, "-m", "kb", "-q", "--home", str(home), "ingest", *map(str, sources)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        kb = KnowledgeBase(home)
        manifest = kb.manifest  # readable, checksum verified
        assert manifest.triples == len(kb.store)
        assert {d.path for d in manifest.documents} >= {d["path"] for d in good["documents"]}
        assert kb.validate().conforms
