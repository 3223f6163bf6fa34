"""Search benchmark: warm query latency, exact vs HNSW (with recall@10), index build throughput.

Run: ``HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_search.py [--passages 100000] [--onnx-dir DIR]``.

The 100,000-passage collection is synthetic: varied trial sentences are generated from templates; a
sample of them is embedded for real, and the 100,000 vectors are those embeddings plus small Gaussian
noise (re-normalised), because embedding 100,000 sentences on two CPU cores takes many minutes. BM25
indexes all 100,000 generated texts. Query vectors are real embeddings of held-out generated sentences.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from search.embedder import Embedder, default_embedder, export_onnx, onnx_export_problem  # noqa: E402
from search.passage_index import PassageIndex, PassageRecord  # noqa: E402
from search.vector_index import FlatIndex, HNSWIndex  # noqa: E402

SEED = ROOT / "kb" / "data" / "kb" / "sources" / "000_ddb5accd812ab49c.txt"
CORPUS = sorted((ROOT / "tests" / "data" / "corpus").glob("*.txt"))

DRUGS = [
    "blinatumomab",
    "inotuzumab ozogamicin",
    "brexucabtagene autoleucel",
    "tisagenlecleucel",
    "ponatinib",
    "dasatinib",
    "imatinib",
    "rituximab",
    "venetoclax",
    "obecabtagene autoleucel",
    "daratumumab",
    "pembrolizumab",
]
DISEASES = [
    "B-cell acute lymphoblastic leukemia",
    "multiple myeloma",
    "diffuse large B-cell lymphoma",
    "chronic lymphocytic leukemia",
    "breast cancer",
    "acute myeloid leukemia",
    "follicular lymphoma",
]
ENDPOINTS = [
    "complete remission",
    "overall survival",
    "event-free survival",
    "MRD negativity",
    "progression-free survival",
    "overall response",
    "disease-free survival",
]
GROUPS = ["ECOG-ACRIN", "Alliance", "GIMEMA", "SWOG", "Children's Oncology Group", "EORTC", "NCRI", "GRAALL"]
TEMPLATES = [
    "The {phase} trial {nct} enrolled {n} patients with {disease} aged {a} to {b} years.",
    "The {endpoint} rate was {p}% after {c} cycles of {drug} in {disease}.",
    "At a median follow-up of {m} months, {endpoint} was {p}% with {drug} and {q}% with chemotherapy.",
    "{drug} was given at {d} micrograms per day for {c} cycles in the {group} study.",
    "The hazard ratio for death was 0.{h} in favour of {drug} ({nct}).",
    "Adverse events of grade 3 or higher occurred in {p}% of patients receiving {drug}.",
    "The {group} {phase} study of {drug} in {disease} was funded by the National Cancer Institute.",
    "Median age was {a} years; {p}% of patients had {disease} with {marker} expression.",
]
MARKERS = ["CD19", "CD22", "CD20", "CD33", "CD38", "BCMA", "HER2", "CD3"]


def synthetic_sentences(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    sentences = []
    for _ in range(count):
        sentences.append(
            rng.choice(TEMPLATES).format(
                phase=rng.choice(["phase 1", "phase 2", "phase 3", "phase 1/2"]),
                nct=f"NCT{rng.randrange(10**7, 10**8):08d}",
                n=rng.randrange(20, 2000),
                disease=rng.choice(DISEASES),
                a=rng.randrange(18, 60),
                b=rng.randrange(60, 90),
                endpoint=rng.choice(ENDPOINTS),
                p=rng.randrange(5, 99),
                q=rng.randrange(5, 99),
                c=rng.randrange(1, 8),
                drug=rng.choice(DRUGS),
                m=rng.randrange(6, 72),
                d=rng.randrange(5, 60),
                group=rng.choice(GROUPS),
                h=rng.randrange(20, 99),
                marker=rng.choice(MARKERS),
            )
        )
    return sentences


def seed_records() -> list[PassageRecord]:
    try:
        from kb.ingest import read_document
    except ImportError:
        read_document = None
    records = []
    for path in [SEED, *CORPUS]:
        if read_document is not None:
            document = read_document(path)
            records += [PassageRecord(p.id, p.text, {"document": path.name}) for p in document.passages]
        else:
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
                if line.strip():
                    records.append(
                        PassageRecord(f"{path.stem}-{number}", line.strip(), {"document": path.name})
                    )
    return records


def timed(function: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return times


def summary(times: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def perturbed_vectors(base: np.ndarray, count: int, noise: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = base[rng.integers(0, len(base), size=count)]
    vectors = rows + rng.normal(scale=noise, size=rows.shape).astype(np.float32)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def recall_at_10(exact: np.ndarray, approximate: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approximate, exact, strict=True)]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument(
        "--embedded-sample", type=int, default=2_000, help="real embeddings behind the vectors"
    )
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--onnx-dir", type=Path, default=Path.home() / ".cache" / "trialkb" / "onnx" / "all-MiniLM-L6-v2"
    )
    arguments = parser.parse_args()

    if onnx_export_problem(arguments.onnx_dir) is not None:
        print(f"exporting the model to ONNX in {arguments.onnx_dir} ...")
        export_onnx(arguments.onnx_dir)
    embedder: Embedder = default_embedder(arguments.onnx_dir)
    print(
        f"embedder: {type(embedder).__name__} ({embedder.name}, {embedder.dimension} dimensions), "
        f"{os.cpu_count()} CPUs"
    )

    rows: list[tuple[str, ...]] = []

    # 1. The seed KB (seed + corpus documents), real embeddings, fused search end to end.
    records = seed_records()
    start = time.perf_counter()
    seed_index = PassageIndex.build(records, embedder)
    build_seconds = time.perf_counter() - start
    questions = [
        "What was the complete remission rate?",
        "NCT03739814",
        "blinatumumab target",
        "Who funded the study?",
        "median overall survival in ZUMA-3",
        "CD22",
        "How many patients were enrolled?",
    ]
    seed_index.search(questions[0])  # warm up
    for mode in ("fused", "dense", "bm25"):
        times = timed(lambda m=mode: [seed_index.search(q, k=5, mode=m) for q in questions], 30)  # type: ignore[misc]
        median, p95 = summary([t / len(questions) for t in times])
        rows.append(
            (
                f"seed KB ({len(records)} passages)",
                f"{mode} query, exact",
                f"{median:.2f}",
                f"{p95:.2f}",
                "1.000",
            )
        )

    # 2. Build throughput with real embedding.
    sample = synthetic_sentences(arguments.embedded_sample, seed=1)
    start = time.perf_counter()
    sample_vectors = embedder.encode(sample)
    embed_seconds = time.perf_counter() - start
    throughput = len(sample) / embed_seconds

    # 3. 100k synthetic passages: vectors = perturbed real embeddings.
    n = arguments.passages
    vectors = perturbed_vectors(sample_vectors, n, noise=0.03, seed=2)
    query_texts = synthetic_sentences(arguments.queries, seed=99)
    query_vectors = embedder.encode(query_texts)
    flat = FlatIndex(embedder.dimension)
    start = time.perf_counter()
    flat.add(vectors)
    flat_build = time.perf_counter() - start
    hnsw = HNSWIndex(embedder.dimension)
    start = time.perf_counter()
    hnsw.add(vectors)
    hnsw_build = time.perf_counter() - start
    _, exact = flat.search(query_vectors, 10)
    flat_times = [t for q in query_vectors for t in timed(lambda q=q: flat.search(q[None, :], 5), 1)]
    rows.append(
        (
            f"synthetic {n:,}",
            "vector search, exact (flat)",
            *[f"{v:.2f}" for v in summary(flat_times)],
            "1.000",
        )
    )
    for ef_search in (16, 32, 64, 128):
        hnsw.ef_search = ef_search
        _, approximate = hnsw.search(query_vectors, 10)
        times = [t for q in query_vectors for t in timed(lambda q=q: hnsw.search(q[None, :], 5), 1)]
        median, p95 = summary(times)
        recall = recall_at_10(exact, approximate)
        rows.append(
            (
                f"synthetic {n:,}",
                f"vector search, HNSW efSearch={ef_search}",
                f"{median:.2f}",
                f"{p95:.2f}",
                f"{recall:.3f}",
            )
        )

    # 4. End to end on 100k: query embedding + HNSW + BM25 + fusion, through PassageIndex.
    texts = synthetic_sentences(n, seed=3)
    big = PassageIndex(embedder)
    start = time.perf_counter()
    big._records = [PassageRecord(f"s{i}", text, {"document": f"d{i // 20}"}) for i, text in enumerate(texts)]
    big._positions = {record.id: position for position, record in enumerate(big._records)}
    big._vectors = hnsw
    big._keyword = None  # built from the texts below
    hnsw.ef_search = 64
    big._keyword_index()
    keyword_build = time.perf_counter() - start
    big.search("warm up")
    # "fused" is score fusion (the default); "fused, rank" the reciprocal rank fusion it replaced.
    for mode, fusion in (("fused", "score"), ("fused", "rank"), ("dense", "score"), ("bm25", "score")):
        big.fusion = fusion  # type: ignore[assignment]
        times = [
            t for q in query_texts[:100] for t in timed(lambda q=q, m=mode: big.search(q, k=5, mode=m), 1)
        ]  # type: ignore[misc]
        median, p95 = summary(times)
        label = f"{mode}{', rank' if fusion == 'rank' else ''} query end to end, HNSW ef=64"
        rows.append((f"synthetic {n:,}", label, f"{median:.2f}", f"{p95:.2f}", "-"))
    big.fusion = "score"
    with tempfile.TemporaryDirectory() as directory:
        start = time.perf_counter()
        big.save(Path(directory) / "index", "bench")
        save_seconds = time.perf_counter() - start
        start = time.perf_counter()
        PassageIndex.load(Path(directory) / "index", embedder, "bench")
        load_seconds = time.perf_counter() - start

    print()
    print(f"{'collection':<26}{'operation':<42}{'median ms':>10}{'p95 ms':>10}{'recall@10':>11}")
    for row in rows:
        print(f"{row[0]:<26}{row[1]:<42}{row[2]:>10}{row[3]:>10}{row[4]:>11}")
    print()
    print(
        f"build, seed KB: {len(records)} passages in {build_seconds:.2f} s ({len(records) / build_seconds:.0f} passages/s)"
    )
    print(
        f"embedding throughput: {throughput:.0f} passages/s ({len(sample)} synthetic sentences, {type(embedder).__name__})"
    )
    print(
        f"index build at {n:,}: flat {flat_build:.2f} s, HNSW {hnsw_build:.1f} s ({n / hnsw_build:.0f} vectors/s), "
        f"BM25 {keyword_build:.1f} s; estimated full build with embedding {n / throughput + hnsw_build + keyword_build:.0f} s"
    )
    print(
        f"save (atomic, checksummed) {save_seconds:.2f} s, verified load {load_seconds:.2f} s at {n:,} passages"
    )
    print(
        f"note: the {n:,} vectors are {len(sample):,} real embeddings plus Gaussian noise (sigma 0.03 per dimension,"
        " re-normalised); queries are real embeddings of held-out synthetic sentences"
    )


if __name__ == "__main__":
    main()
