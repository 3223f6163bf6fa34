"""Passage vectors in Milvus (a real Milvus Lite file in a temporary directory) against the FAISS default:
same passages, idempotent upserts, deletions, stale collections rebuilt, bad URIs in one line."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from support import BUNDLED_HOME, CORPUS, ROOT, SEED, run_cli

from kb.facade import KnowledgeBase
from kb.passage_search import load_index, vector_collection
from kb.settings import Settings
from search.milvus_index import MilvusPassageVectors
from search.passage_index import PassageIndex
from search.vector_index import FaissPassageVectors, VectorStoreUnavailable

DIMENSION = 384
QUERIES = [
    "CD22 antibody-drug conjugate",
    "complete remission rate",
    "How many patients were enrolled?",
    "older adults with newly diagnosed B-cell ALL",
    "blinatumomab bispecific T-cell engager",
    "event-free survival at one year",
    "Who funded the trial?",
    "Journal of Clinical Oncology publication",
    "minimal residual disease negativity",
    "side effects and toxicity",
    "Alliance for Clinical Trials in Oncology",
    "median age of participants",
]


def open_store(uri: Path | str, collection: str = "vectors_test", **options: object) -> MilvusPassageVectors:
    return MilvusPassageVectors(str(uri), collection, DIMENSION, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def lite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Milvus Lite file that starts here, or the module is skipped saying why."""
    uri = tmp_path_factory.mktemp("lite") / "probe.db"
    try:
        store = open_store(uri)
    except VectorStoreUnavailable as error:
        pytest.skip(f"Milvus Lite cannot start on this platform: {error}")
    store.close()
    return uri


def unit_vectors(count: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, DIMENSION)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def recall_at(expected: list[list[str]], found: list[list[str]], k: int) -> float:
    return float(np.mean([len(set(e[:k]) & set(f[:k])) / k for e, f in zip(expected, found, strict=True)]))


def test_milvus_finds_what_exact_faiss_finds(lite: Path, tmp_path: Path) -> None:
    """5,000 random vectors: Milvus's HNSW against FAISS's exact search, recall@10 >= 0.95."""
    data, queries = unit_vectors(5_000, 1), unit_vectors(40, 2)
    ids = [f"p{i}" for i in range(len(data))]
    documents = [f"d{i // 50}" for i in range(len(data))]
    exact = FaissPassageVectors(DIMENSION)
    exact.upsert(ids, data, documents)
    assert exact.kind == "flat"
    store = open_store(tmp_path / "random.db")
    try:
        store.upsert(ids, data, documents)
        assert len(store) == len(data)
        expected = [[i for i, _ in row] for row in exact.search(queries, 10)]
        found = [[i for i, _ in row] for row in store.search(queries, 10)]
        recall = recall_at(expected, found, 10)
        print(f"\nMilvus Lite HNSW recall@10 against exact FAISS, 5,000 vectors: {recall:.3f}")
        assert recall >= 0.95
        # A filter keeps only the allowed passages, and among them the same best ones.
        allowed = ids[:300]
        filtered_exact = exact.search(queries[:5], 5, allowed)
        filtered = store.search(queries[:5], 5, allowed)
        for want, got in zip(filtered_exact, filtered, strict=True):
            assert {i for i, _ in got} <= set(allowed)
            assert [i for i, _ in got] == [i for i, _ in want]
            np.testing.assert_allclose([s for _, s in got], [s for _, s in want], atol=1e-4)
        np.testing.assert_allclose(store.fetch(["p7", "p3"]), data[[7, 3]], atol=1e-6)
        np.testing.assert_allclose(
            store.similarities(queries[0], ["p3", "p7"]), data[[3, 7]] @ queries[0], atol=1e-5
        )
        # A retried batch doubles nothing; a deletion removes.
        store.upsert(ids[:1000], data[:1000], documents[:1000])
        assert len(store) == len(data)
        store.delete(ids[:100])
        assert len(store) == len(data) - 100
        assert all(i not in ids[:100] for row in store.search(queries, 10) for i, _ in row)
    finally:
        store.close()


@pytest.fixture(scope="module")
def seed_home(tmp_path_factory: pytest.TempPathFactory, lite: Path) -> Path:
    """The seed KB built with FAISS (the default)."""
    home = tmp_path_factory.mktemp("seed") / "kb"
    shutil.copytree(BUNDLED_HOME / "sources", home / "sources")
    KnowledgeBase(home).build()
    return home


def test_same_passages_from_faiss_and_milvus_on_the_seed(seed_home: Path, tmp_path: Path) -> None:
    faiss_index = load_index(KnowledgeBase(seed_home))
    assert faiss_index.index_kind == "flat"
    assert (seed_home / "index" / "vectors.faiss").is_file()
    store = open_store(tmp_path / "seed.db")
    try:
        milvus_index = PassageIndex.build(faiss_index.records, faiss_index.embedder, vector_store=store)
        assert milvus_index.index_kind == "milvus" and len(store) == len(faiss_index)
        dense_faiss = faiss_index.search_many(QUERIES, 10, "dense")
        dense_milvus = milvus_index.search_many(QUERIES, 10, "dense")
        recall = recall_at(
            [[h.id for h in hits] for hits in dense_faiss],
            [[h.id for h in hits] for hits in dense_milvus],
            10,
        )
        print(f"\nseed KB, {len(QUERIES)} queries: Milvus recall@10 against FAISS {recall:.3f}")
        assert recall >= 0.95
        for want, got in zip(dense_faiss, dense_milvus, strict=True):
            assert got[0].id == want[0].id
            assert got[0].score == pytest.approx(want[0].score, abs=1e-4)
        # Fused search (dense from Milvus, BM25 local) ranks the same passages first.
        for query in QUERIES:
            assert [h.id for h in milvus_index.search(query, 3)] == [
                h.id for h in faiss_index.search(query, 3)
            ]
    finally:
        store.close()


def passage_count(home: Path) -> int:
    return json.loads((home / "index" / "manifest.json").read_text(encoding="utf-8"))["count"]


def test_cli_ingest_and_search_through_milvus_lite(lite: Path, tmp_path: Path) -> None:
    home = tmp_path / "kb"
    uri = home / "v.db"
    first = run_cli("--vectors", str(uri), "ingest", str(SEED), str(CORPUS[0]), home=home)
    assert first.returncode == 0, first.stderr
    manifest = json.loads((home / "index" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["index_kind"] == "milvus" and not (home / "index" / "vectors.faiss").exists()
    found = run_cli(
        "--vectors", str(uri), "search", "CD22 antibody-drug conjugate", "-k", "3", "--json", home=home
    )
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert hits[0]["id"].endswith("-p006") and "dense" in hits[0]["retrievers"]
    dense = run_cli(
        "--vectors", str(uri), "search", "complete remission", "--mode", "dense", "--json", home=home
    )
    assert dense.returncode == 0 and json.loads(dense.stdout), dense.stderr

    # The same files again, and a rebuild from the sources: the collection still holds one row a passage.
    again = run_cli("--vectors", str(uri), "ingest", str(SEED), str(CORPUS[0]), home=home)
    assert again.returncode == 0 and "unchanged" in again.stdout, again.stderr
    rebuilt = run_cli("--vectors", str(uri), "build", home=home)
    assert rebuilt.returncode == 0, rebuilt.stderr
    # A changed document replaces its passages: the old ones' vectors go.
    changed = tmp_path / CORPUS[0].name
    text = CORPUS[0].read_text(encoding="utf-8")
    changed.write_text(text[: len(text) // 2], encoding="utf-8")
    replaced = run_cli("--vectors", str(uri), "ingest", str(changed), home=home)
    assert replaced.returncode == 0 and "updated" in replaced.stdout, replaced.stderr

    content = json.loads((home / "manifest.json").read_text(encoding="utf-8"))["sha256"]
    store = open_store(uri, vector_collection(home))
    try:
        assert len(store) == passage_count(home)
        assert store.stored_content_hash() == content
        documents = store._client.query(store.collection, filter="", output_fields=["document"], limit=10_000)
        assert len(documents) == passage_count(home)
        records = [json.loads(line) for line in (home / "index" / "records.jsonl").open(encoding="utf-8")]
        assert sorted(row["id"] for row in documents) == sorted(record["id"] for record in records)
    finally:
        store.close()

    # Without --vectors the default comes back: FAISS files, rebuilt from the KB, the same best passage.
    plain = run_cli("search", "CD22 antibody-drug conjugate", "-k", "3", "--json", home=home)
    assert plain.returncode == 0, plain.stderr
    assert json.loads(plain.stdout)[0]["id"] == hits[0]["id"]
    assert (home / "index" / "vectors.faiss").is_file()


def test_stale_collection_is_rebuilt(
    seed_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "kb"
    shutil.copytree(seed_home, home, ignore=shutil.ignore_patterns("index"))
    settings = Settings(vectors=str(tmp_path / "v.db"))
    kb = KnowledgeBase(home, settings)
    kb.build()
    content = kb.manifest.sha256
    store = open_store(tmp_path / "v.db", vector_collection(home))
    try:
        assert store.stored_content_hash() == content and len(store) == passage_count(home)

        def search_again() -> str:
            fresh = KnowledgeBase(home, settings)
            assert fresh.search("complete remission rate", 3)
            return capsys.readouterr().err

        assert "rebuilt" not in search_again()  # up to date: used as it is
        store._set_content_hash("0" * 64)  # written for other content
        assert "rebuilt" in search_again()
        assert store.stored_content_hash() == content
        # A vector missing (deleted behind TrialKB's back, the recorded hash left as it was).
        store._client.delete(store.collection, ids=[store.search(unit_vectors(1, 3), 1)[0][0][0]])
        assert "rebuilt" in search_again()
        assert len(store) == passage_count(home)
        store._client.drop_collection(store.collection)  # the collection gone
        assert "rebuilt" in search_again()
    finally:
        store.close()
    assert open_store(tmp_path / "v.db", vector_collection(home)).stored_content_hash() == content


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_bad_vector_database_uri_is_one_line(seed_home: Path, tmp_path: Path) -> None:
    home = tmp_path / "kb"
    shutil.copytree(seed_home, home)
    assert "bad vector database URI" in one_line_error(
        run_cli("--vectors", "ftp://nowhere/v", "search", "remission", home=home)
    )
    unreachable = one_line_error(run_cli("--vectors", "http://127.0.0.1:9", "search", "remission", home=home))
    assert "127.0.0.1:9" in unreachable
    # The environment variable picks it too; a failed ingest leaves the KB as it was.
    before = (home / "manifest.json").read_bytes()
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRIALKB_VECTORS="http://127.0.0.1:9")
    failed = subprocess.run(
        [sys.executable, "-m", "kb", "--home", str(home), "ingest", str(CORPUS[1])],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert "127.0.0.1:9" in one_line_error(failed)
    assert (home / "manifest.json").read_bytes() == before


def test_missing_milvus_lite_is_one_line(seed_home: Path, tmp_path: Path) -> None:
    # A process where milvus-lite cannot be imported, as where it is not installed.
    code = (
        "import sys; sys.modules['milvus_lite'] = None; "
        f"sys.argv = ['trialkb', '--home', {str(seed_home)!r}, '--vectors', {str(tmp_path / 'v.db')!r}, "
        "'search', 'remission']; from kb.cli import main; main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env=dict(os.environ, HF_HUB_OFFLINE="1"),
    )
    assert "milvus-lite" in one_line_error(result)


def test_milvus_module_imports_nothing_heavy_or_foreign() -> None:
    code = (
        "import sys, search.milvus_index;"
        "bad = [m for m in ('pymilvus', 'milvus_lite', 'rdflib', 'kb', 'ontology') if m in sys.modules];"
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == ""


@pytest.fixture
def no_vectors_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("TRIALKB_VECTORS", raising=False)
    yield


def test_default_is_faiss(no_vectors_env: None) -> None:
    assert Settings().vectors is None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def milvus_server(lite: Path, tmp_path: Path) -> Iterator[str]:
    """A Milvus gRPC server in its own process (`milvus-lite server`): the protocol a Milvus cluster speaks."""
    port = free_port()
    log = (tmp_path / "milvus.log").open("wb")
    command = [
        str(Path(sys.executable).parent / "milvus-lite"),
        "server",
        "--data-dir",
        str(tmp_path / "data"),
    ]
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"milvus-lite server did not start: {(tmp_path / 'milvus.log').read_text()[-2000:]}"
                )
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_cli_through_a_milvus_server(milvus_server: str, tmp_path: Path) -> None:
    """A server URI: several processes (each CLI run, and this test) use the same collection at once."""
    home = tmp_path / "kb"
    first = run_cli("--vectors", milvus_server, "ingest", str(SEED), home=home)
    assert first.returncode == 0, first.stderr
    store = open_store(milvus_server, vector_collection(home))  # held open while the CLI runs again
    try:
        found = run_cli(
            "--vectors", milvus_server, "search", "CD22 antibody-drug conjugate", "--json", home=home
        )
        assert found.returncode == 0, found.stderr
        assert json.loads(found.stdout)[0]["id"].endswith("-p006")
        again = run_cli("--vectors", milvus_server, "ingest", str(SEED), str(CORPUS[0]), home=home)
        assert again.returncode == 0, again.stderr
        assert len(store) == passage_count(home)
        content = json.loads((home / "manifest.json").read_text(encoding="utf-8"))["sha256"]
        assert store.stored_content_hash() == content
    finally:
        store.close()
