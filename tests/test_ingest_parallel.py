"""Ingest throughput (issue 15 part 3): extraction in worker processes gives the same KB as in-process
extraction, a document whose extraction raises in a worker is that document's failure, and the ONNX
encoder's batching and de-duplication leave every vector as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from support import DATA, ROOT

from kb.facade import KnowledgeBase
from kb.models import Document
from kb.settings import Settings

CORPUS = sorted((DATA / "corpus").glob("*.txt"))


class WithoutIndex(KnowledgeBase):
    """The real KB without its search index: the snapshot is what is compared, and embedding would take most of
    the time."""

    def _update_index(self, rebuild: bool = False) -> None:
        pass


class FailsOnE1910(WithoutIndex):
    """Extraction that raises for one document, as a bug in an extractor would (defined at module level, so a
    forked worker runs it)."""

    def _extract(self, document: Document, force: bool) -> object:  # type: ignore[override]
        if "e1910" in document.path:
            raise ValueError("extractor bug")
        return super()._extract(document, force)


def snapshot(home: Path) -> bytes:
    manifest = json.loads((home / "manifest.json").read_text(encoding="utf-8"))
    return (home / manifest["snapshot"]).read_bytes()


def ingest(tmp_path: Path, name: str, workers: int, kind: type[KnowledgeBase] = WithoutIndex) -> Path:
    home = tmp_path / name
    report = kind(home, Settings(cache_dir=tmp_path / "cache")).ingest(CORPUS, workers=workers, batch_size=4)
    assert report.documents > 0
    return home


def test_workers_give_the_same_snapshot_bytes_as_in_process(tmp_path: Path) -> None:
    assert len(CORPUS) >= 4
    serial = ingest(tmp_path, "serial", 1)
    parallel = ingest(tmp_path, "parallel", 2)
    assert snapshot(parallel) == snapshot(serial)
    documents = [json.loads((home / "manifest.json").read_text())["documents"] for home in (serial, parallel)]
    assert documents[0] == documents[1]


def test_an_extraction_error_in_a_worker_fails_that_document_only(tmp_path: Path) -> None:
    home = tmp_path / "kb"
    report = FailsOnE1910(home, Settings(cache_dir=tmp_path / "cache")).ingest(CORPUS, workers=2)
    failed = [outcome for outcome in report.outcomes if outcome.status == "failed"]
    assert [Path(outcome.path).name for outcome in failed] == ["e1910-news.txt"]
    assert "ValueError: extractor bug" in failed[0].message
    added = [outcome for outcome in report.outcomes if outcome.status == "added"]
    assert len(added) == len(CORPUS) - 1
    assert report.documents == len(CORPUS) - 1


def test_cli_ingest_with_workers(tmp_path: Path) -> None:
    home = tmp_path / "kb"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRIALKB_CACHE_DIR": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "kb", "-q", "--home", str(home), "ingest", "--json", "--workers", "2"]
    result = subprocess.run(
        [*command, *map(str, CORPUS[:3])], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ingested"] == 3
    bad = subprocess.run(
        [*command[:-1], "0", str(CORPUS[0])], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert bad.returncode != 0 and "Traceback" not in bad.stderr


def test_batch_size_and_deduplication_keep_the_vectors() -> None:
    from test_search_support import onnx_export_dir

    from kb.ingest import read_document
    from search.embedder import OnnxEmbedder

    texts = [passage.text for path in CORPUS[:3] for passage in read_document(path).passages]
    repeated = texts + texts[:5] + ["complete remission", "complete remission"]
    one_by_one = OnnxEmbedder(onnx_export_dir(), batch_size=1)
    reference = np.vstack([one_by_one.encode([text]) for text in repeated])
    for batch_size in (8, 64):
        vectors = OnnxEmbedder(onnx_export_dir(), batch_size=batch_size).encode(repeated)
        assert vectors.shape == reference.shape and vectors.dtype == np.float32
        assert float(np.sum(vectors * reference, axis=1).min()) >= 0.9999
    assert np.array_equal(vectors[len(texts) : len(texts) + 5], vectors[:5])


def test_a_bulk_load_updates_the_index_in_memory_batch_after_batch(
    tmp_path: Path, pytestconfig: object
) -> None:
    """Batches after the first update the index this process saved (not read back from disk), and the index
    ends as a fresh process reads it: every passage of the KB, searchable."""
    from test_search_support import onnx_export_dir

    import search.passage_index as passage_index
    from kb.passage_search import load_index, passage_records

    cache = tmp_path / "cache"
    (cache / "onnx").mkdir(parents=True)
    (cache / "onnx" / "all-MiniLM-L6-v2").symlink_to(onnx_export_dir(pytestconfig))  # type: ignore[arg-type]
    loads: list[Path] = []
    original = passage_index.PassageIndex.load.__func__  # type: ignore[attr-defined]

    def counted(cls: type, directory: Path, *args: object, **options: object) -> object:
        loads.append(directory)
        return original(cls, directory, *args, **options)

    home = tmp_path / "kb"
    try:
        passage_index.PassageIndex.load = classmethod(counted)  # type: ignore[assignment, method-assign]
        report = KnowledgeBase(home, Settings(cache_dir=cache)).ingest(CORPUS, batch_size=2)
    finally:
        passage_index.PassageIndex.load = classmethod(original)  # type: ignore[method-assign]
    assert report.documents == len(CORPUS) and len(loads) <= 1  # the first batch finds no index to load
    fresh = KnowledgeBase(home, Settings(cache_dir=cache))
    index = load_index(fresh)
    assert sorted(record.id for record in index.records) == sorted(r.id for r in passage_records(fresh))
    assert fresh.search("complete remission", 3)
