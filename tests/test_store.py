"""The on-disk KB: atomic commits, checksums, concurrent writers, and a writer killed midway."""

from __future__ import annotations

import errno
import hashlib
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

from kb.errors import KBCorrupt, KBNotFound, KBWriteError
from kb.facade import KnowledgeBase
from kb.store import DocumentEntry, KBDirectory, Manifest, staged_name


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


def _tree(home: Path) -> list[str]:
    return sorted(path.relative_to(home).as_posix() for path in home.rglob("*"))


def test_next_open_rolls_committed_sources_forward_and_removes_leftovers(tmp_path: Path) -> None:
    """What a crash leaves, by phase: staged sources (listed or not), temporaries, an unreferenced
    snapshot, an index staging folder. The first open finishes the commit and clears the rest."""
    text = b"A source text.\n"
    entry = DocumentEntry("a", "a.txt", hashlib.sha256(text).hexdigest(), None, "https://g/a", 1)
    line = b'<http://a> <http://b> "c" <http://g> .\n'
    directory = KBDirectory(tmp_path)
    manifest = directory.commit(line, Manifest("", "", 1, documents=(entry,)), {"a.txt": text})
    sources = tmp_path / "sources"
    assert (sources / "a.txt").read_bytes() == text
    # Killed after the manifest, before the rename: the source is still staged.
    (sources / "a.txt").rename(sources / staged_name("a.txt", entry.sha256))
    # Killed before the manifest: a staged source no manifest lists, one whose content is not what its
    # name says, a half-written temporary, a snapshot and an index staging folder nothing refers to.
    (sources / staged_name("b.txt", hashlib.sha256(b"b").hexdigest())).write_bytes(b"b")
    (sources / staged_name("a.txt", hashlib.sha256(b"other").hexdigest())).write_bytes(b"other")
    (tmp_path / ".manifest.json.x1y2.tmp").write_text("{")
    (tmp_path / "kb-0123456789abcdef.nq").write_bytes(b"")
    (tmp_path / ".index.tmp-abc").mkdir()
    (tmp_path / ".index.tmp-abc" / "vectors.faiss").write_bytes(b"partial")

    assert KBDirectory(tmp_path).read_manifest() == manifest
    assert _tree(tmp_path) == [".lock", manifest.snapshot, "manifest.json", "sources", "sources/a.txt"]
    assert (sources / "a.txt").read_bytes() == text


def test_a_reader_leaves_a_running_writers_files_alone(tmp_path: Path) -> None:
    manifest = _commit(tmp_path, '<http://a> <http://b> "c" <http://g> .\n')
    writer = KBDirectory(tmp_path)
    with writer.write_lock(5):
        in_flight = tmp_path / f".{manifest.snapshot}.abcd.tmp"
        in_flight.write_bytes(b"being written")
        KBDirectory(tmp_path).read_manifest()
        assert in_flight.exists(), "a reader must not remove what a writer holding the lock is writing"
    KBDirectory(tmp_path).read_manifest()
    assert not in_flight.exists()


def test_a_failed_write_commits_nothing_and_leaves_nothing(tmp_path: Path) -> None:
    first = _commit(tmp_path, '<http://a> <http://b> "c" <http://g> .\n')
    before = (tmp_path / "manifest.json").read_bytes()

    def disk_full(_content_hash: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(KBWriteError, match=r"disk full or file too large.*previous version"):
        KBDirectory(tmp_path).commit(
            b'<http://a> <http://b> "d" <http://g> .\n',
            Manifest("", "", 1),
            {"b.txt": b"text"},
            before_manifest=disk_full,
        )
    assert (tmp_path / "manifest.json").read_bytes() == before
    assert _tree(tmp_path) == [first.snapshot, "manifest.json", "sources"]


@pytest.mark.parametrize("name", ["../outside.nq", "/etc/passwd", ""])
def test_a_manifest_naming_files_outside_the_kb_is_damaged(tmp_path: Path, name: str) -> None:
    manifest = _commit(tmp_path, '<http://a> <http://b> "c" <http://g> .\n')
    data = json.loads((tmp_path / "manifest.json").read_text())
    (tmp_path / "manifest.json").write_text(json.dumps({**data, "snapshot": name}))
    with pytest.raises(KBCorrupt, match="damaged"):
        KBDirectory(tmp_path).read_manifest()
    assert (tmp_path / manifest.snapshot).exists(), "a damaged manifest's snapshot is kept for a restore"


def test_a_reader_racing_a_commit_reads_the_newer_snapshot(tmp_path: Path) -> None:
    """A commit between a reader's manifest read and its snapshot read removes the old snapshot: the
    reader must follow the newer manifest, not report the KB as damaged."""
    from kb.facade import KnowledgeBase
    from kb.store import KBDirectory, Manifest

    directory = KBDirectory(tmp_path)
    quad = b'<https://example.org/s> <https://example.org/p> "o" <https://example.org/g> .\n'
    directory.commit(quad, Manifest(snapshot="", sha256="", triples=1))
    stale = directory.read_manifest()
    directory.commit(quad + quad.replace(b'"o"', b'"p"'), Manifest(snapshot="", sha256="", triples=2))
    assert not (tmp_path / stale.snapshot).exists()

    kb = KnowledgeBase(tmp_path)
    manifests = iter([stale])
    original = kb.directory.read_manifest
    kb.directory.read_manifest = lambda: next(manifests, None) or original()  # type: ignore[method-assign]
    assert kb.manifest.triples == 2
