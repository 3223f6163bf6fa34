"""Distributed ingestion (issue 16 item 3) on a real Dask ``LocalCluster`` (2 worker processes) started for the
tests: `trialkb ingest --cluster ADDRESS` gives the KB an in-process ingest gives (same N-Quads), a second run
doubles nothing, a worker killed mid-run loses nothing, and a cluster killed mid-run leaves the committed
batches, which a rerun completes into a KB that validates. Also the task's plain results: N-Triples bytes that
load into the store as the rdflib graph did, and passage vectors the index update reuses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from support import DATA, ROOT

CORPUS = sorted((DATA / "corpus").glob("*.txt"))
MEDLINE = [DATA / "medline" / "several.xml.gz", DATA / "medline" / "keynote189.xml"]
SOURCES = [*map(str, CORPUS), *map(str, MEDLINE)]
CLUSTER = """
import sys
from distributed import LocalCluster
cluster = LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None)
print(cluster.scheduler_address, flush=True)
sys.stdin.read()  # until the test closes stdin (or kills this process group)
"""


class Cluster:
    """A LocalCluster in its own process group, so that a test can kill all of it at once."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-c", CLUSTER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        self.address = self.process.stdout.readline().strip()
        assert self.address.startswith("tcp://"), "the LocalCluster did not start"

    def worker_pids(self) -> list[int]:
        from distributed import Client

        with Client(self.address, timeout="10s") as client:
            return sorted(client.run(os.getpid).values())

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    started = Cluster()
    try:
        yield started
    finally:
        started.close()


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Path:
    """A cache holding the ONNX export (made once for the test session), so that workers embed."""
    from test_search_support import onnx_export_dir

    root = tmp_path_factory.mktemp("cache")
    (root / "onnx").mkdir()
    (root / "onnx" / "all-MiniLM-L6-v2").symlink_to(onnx_export_dir(pytestconfig))
    return root


def trialkb(
    cache: Path, home: Path, *args: str, wait: bool = True
) -> subprocess.CompletedProcess[str] | subprocess.Popen[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRIALKB_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    env.pop("TRIALKB_CLUSTER", None)
    command = [sys.executable, "-m", "kb", "-q", "--home", str(home), *args]
    if not wait:
        return subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
        )
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)


def ingest(cache: Path, home: Path, *options: str) -> dict[str, object]:
    result = trialkb(cache, home, "ingest", "--json", "--batch-size", "4", *options, *SOURCES)
    assert isinstance(result, subprocess.CompletedProcess)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def nquads(cache: Path, home: Path) -> str:
    result = trialkb(cache, home, "export", "--format", "nq")
    assert isinstance(result, subprocess.CompletedProcess) and result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def local_kb(tmp_path_factory: pytest.TempPathFactory, cache: Path) -> tuple[str, dict[str, object]]:
    """The same sources ingested in one process, without any cluster: what every cluster run must equal (its
    N-Quads export and its report)."""
    home = tmp_path_factory.mktemp("local") / "kb"
    report = ingest(cache, home, "--workers", "1")
    return nquads(cache, home), report


def test_cluster_ingest_equals_local_and_twice_doubles_nothing(
    tmp_path: Path, cluster: Cluster, cache: Path, local_kb: tuple[str, dict[str, object]]
) -> None:
    home = tmp_path / "kb"
    first = ingest(cache, home, "--cluster", cluster.address)
    expected, local = local_kb
    assert first["ingested"] == local["ingested"] and first["documents"] == local["documents"]
    assert first["triples"] == local["triples"] and not first["failed"]
    assert nquads(cache, home) == expected
    again = ingest(cache, home, "--cluster", cluster.address)
    assert again["ingested"] == 0 and again["unchanged"] == first["ingested"]
    assert again["triples"] == first["triples"]
    assert nquads(cache, home) == expected
    # The passage index was built from the vectors the workers computed: search works on it.
    found = trialkb(cache, home, "search", "complete remission rate", "--json")
    assert isinstance(found, subprocess.CompletedProcess) and found.returncode == 0, found.stderr
    assert json.loads(found.stdout)


def wait_for_first_commit(home: Path, run: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 300
    while not (home / "manifest.json").exists():
        assert run.poll() is None, f"the ingest ended before its first commit: {run.communicate()[1]}"
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_a_worker_killed_mid_run_loses_nothing(
    tmp_path: Path, cluster: Cluster, cache: Path, local_kb: tuple[str, dict[str, object]]
) -> None:
    home = tmp_path / "kb"
    pids = cluster.worker_pids()
    command = ("ingest", "--json", "--batch-size", "2", "--cluster", cluster.address, *SOURCES)
    run = trialkb(cache, home, *command, wait=False)
    assert isinstance(run, subprocess.Popen)
    wait_for_first_commit(home, run)
    os.kill(pids[0], signal.SIGKILL)  # Dask runs its tasks again on the other worker; the nanny restarts it
    stdout, stderr = run.communicate(timeout=600)
    assert run.returncode == 0, stderr
    report = json.loads(stdout)
    assert not report["failed"] and report["documents"] == local_kb[1]["documents"]
    assert nquads(cache, home) == local_kb[0]


def test_a_cluster_killed_mid_run_keeps_its_batches_and_a_rerun_completes(
    tmp_path: Path, cluster: Cluster, cache: Path, local_kb: tuple[str, dict[str, object]]
) -> None:
    home = tmp_path / "kb"
    doomed = Cluster()
    try:
        run = trialkb(
            cache, home, "ingest", "--batch-size", "2", "--cluster", doomed.address, *SOURCES, wait=False
        )
        assert isinstance(run, subprocess.Popen)
        wait_for_first_commit(home, run)
        doomed.kill()
        _, stderr = run.communicate(timeout=600)
    finally:
        doomed.kill()
    assert run.returncode == 1
    assert "Traceback" not in stderr and "Dask cluster" in stderr.strip().splitlines()[-1]
    committed = json.loads((home / "manifest.json").read_text())["documents"]
    assert 0 < len(committed) < local_kb[1]["documents"]  # type: ignore[operator]
    rerun = ingest(cache, home, "--cluster", cluster.address)  # another cluster: the one still up
    assert rerun["unchanged"] == len(committed) and not rerun["failed"]
    assert nquads(cache, home) == local_kb[0]
    valid = trialkb(cache, home, "validate")
    assert isinstance(valid, subprocess.CompletedProcess) and valid.returncode == 0, valid.stdout


def test_a_bad_address_is_one_line_and_exit_1(tmp_path: Path, cache: Path) -> None:
    for address in ("not-an-address", "tcp://127.0.0.1:9"):  # no port; nothing listening
        result = trialkb(cache, tmp_path / "kb", "ingest", "--cluster", address, SOURCES[0])
        assert isinstance(result, subprocess.CompletedProcess)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert result.stderr.strip().splitlines() == [result.stderr.strip()]
        assert "Dask scheduler" in result.stderr
    assert not (tmp_path / "kb").exists()
    both = trialkb(
        cache, tmp_path / "kb", "ingest", "--cluster", "tcp://127.0.0.1:9", "--workers", "2", SOURCES[0]
    )
    assert isinstance(both, subprocess.CompletedProcess) and both.returncode == 1
    assert "exclude each other" in both.stderr


def test_task_results_are_plain_data_that_load_as_the_graph_did(cache: Path) -> None:
    from kb.facade import KnowledgeBase
    from kb.ingest import read_document
    from kb.ingest_task import ExtractedDocument, TaskOptions, extract_chunk, text_key
    from kb.triplestore import TripleStore

    documents = [read_document(path) for path in CORPUS[:3]]
    options = TaskOptions(onnx_dir=str(cache / "onnx" / "all-MiniLM-L6-v2"))
    results = extract_chunk(documents, options)
    for document, item in zip(documents, results, strict=True):
        assert isinstance(item, ExtractedDocument) and item.ntriples is not None
        assert isinstance(item.ntriples, bytes) and item.vectors is not None
        assert item.vectors.dtype == np.float32 and item.vectors.shape == (len(item.text_keys), 384)
        assert set(item.text_keys) == {text_key(passage.text) for passage in document.passages}
        # The bytes hold what the rdflib graph held: the store gets the same triples either way.
        from kb.build import document_graph
        from kb.extract import extract
        from kb.lexicon import load_lexicon
        from kb.sources.rdf import add_article_record

        graph = document_graph(extract(document, load_lexicon()), load_lexicon())
        if any(p.heading for p in document.passages):
            add_article_record(graph, extract(document, load_lexicon()))
        by_graph, by_bytes = TripleStore(), TripleStore()
        by_graph.replace_graph(graph)
        by_bytes.replace_graph_data(item.graph, item.ntriples)
        assert by_bytes.to_nquads() == by_graph.to_nquads() and len(by_bytes) == item.triples
    refused = extract_chunk([documents[0]], TaskOptions())[0]
    assert isinstance(refused, ExtractedDocument) and refused.vectors is None  # no export named: no embedding
    assert KnowledgeBase  # the facade's own path is covered by the CLI tests above


def test_the_index_update_embeds_only_what_workers_did_not() -> None:
    from search.embedder import PrecomputedEmbedder

    class Counting:
        name, dimension = "counting", 3
        seen: list[str] = []

        def encode(self, texts: list[str]) -> np.ndarray:
            self.seen.extend(texts)
            return np.ones((len(texts), 3), dtype=np.float32)

    base = Counting()
    given = {"A": np.array([1, 0, 0], dtype=np.float32), "B": np.array([0, 1, 0], dtype=np.float32)}
    embedder = PrecomputedEmbedder(base, given, key=str.upper)  # type: ignore[arg-type]
    vectors = embedder.encode(["a", "c", "b", "a"])
    assert base.seen == ["c"] and embedder.reused == 3
    assert vectors.tolist() == [[1, 0, 0], [1, 1, 1], [0, 1, 0], [1, 0, 0]]
