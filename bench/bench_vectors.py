"""Vector store benchmark: FAISS files (the default) against Milvus Lite, side by side, through the same
`PassageVectors` interface that `PassageIndex` uses.

Run: ``HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_vectors.py [--sizes 10000 100000] [--queries 50]``.

Vectors are random 384-dimensional unit vectors (the dimension of all-MiniLM-L6-v2) drawn around random
centres, 50 vectors to a centre (``--uniform``: no centres), as sentence embeddings gather by topic; each query is a stored
vector with Gaussian noise, re-normalised, so that it has true near neighbours as a real query does.
Uniform random vectors are the worst case of a graph index: FAISS HNSW finds a third of the true top 10. For each size: build throughput (vectors stored per second, until searchable and durable: FAISS
in memory as `PassageIndex` builds it, Milvus Lite upserted in batches of 1,000 and flushed), median and
p95 latency of one query (k=10, no filter, warm), and recall@10 against exact search (numpy). FAISS is
exact below 20,000 vectors and HNSW above (`TRIALKB_EXACT_INDEX_LIMIT`); the Milvus collection is HNSW
with the same graph parameters (M 32, efConstruction 80, ef 64).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from search.milvus_index import MilvusPassageVectors  # noqa: E402
from search.vector_index import FaissPassageVectors, PassageVectors  # noqa: E402

DIMENSION = 384
K = 10
QUERY_NOISE = 0.6
PER_CENTRE = 50
SPREAD = 0.8  # noise norm around a centre: cosine to it about 0.78, between neighbours about 0.6


def unit(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def dataset(
    count: int, queries: int, seed: int, uniform: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vectors, query vectors, exact top-k positions of each query)."""
    rng = np.random.default_rng(seed)
    data = rng.standard_normal((count, DIMENSION))
    if not uniform:
        centres = unit(rng.standard_normal((max(1, count // PER_CENTRE), DIMENSION)))
        data = centres[rng.integers(0, len(centres), count)] + data * SPREAD / np.sqrt(DIMENSION)
    data = unit(data)
    picked = rng.choice(count, size=queries, replace=False)
    noise = rng.standard_normal((queries, DIMENSION)) * QUERY_NOISE / np.sqrt(DIMENSION)
    query_vectors = unit(data[picked] + noise)
    exact = np.argsort(-(query_vectors @ data.T), axis=1, kind="stable")[:, :K]
    return data, query_vectors, exact


def measure(
    name: str,
    store: PassageVectors,
    data: np.ndarray,
    queries: np.ndarray,
    exact: np.ndarray,
    finish: Callable[[], None],
) -> dict[str, float | str]:
    ids = [f"p{i}" for i in range(len(data))]
    documents = [f"d{i // 20}" for i in range(len(data))]
    started = time.perf_counter()
    for start in range(0, len(data), 1_000):
        store.upsert(
            ids[start : start + 1_000], data[start : start + 1_000], documents[start : start + 1_000]
        )
    finish()
    build = time.perf_counter() - started
    store.search(queries[:1], K)  # warm: a first search may load or prepare the index
    latencies, found = [], []
    for query in queries:
        began = time.perf_counter()
        hits = store.search(query[None, :], K)[0]
        latencies.append((time.perf_counter() - began) * 1000)
        found.append({int(i[1:]) for i, _ in hits})
    recall = float(np.mean([len(f & set(e.tolist())) / K for f, e in zip(found, exact, strict=True)]))
    latencies.sort()
    return {
        "store": f"{name} ({store.kind})",
        "build_per_s": len(data) / build,
        "median_ms": statistics.median(latencies),
        "p95_ms": latencies[int(0.95 * (len(latencies) - 1))],
        "recall": recall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--uniform", action="store_true", help="Uniform random vectors, no centres.")
    arguments = parser.parse_args()
    print(
        f"{'vectors':>8} | {'store':<22} | {'build vec/s':>11} | {'median ms':>9} | {'p95 ms':>7} | recall@10"
    )
    for size in arguments.sizes:
        data, queries, exact = dataset(size, arguments.queries, seed=size, uniform=arguments.uniform)
        faiss_store = FaissPassageVectors(DIMENSION)
        faiss = measure("FAISS", faiss_store, data, queries, exact, lambda: None)
        with tempfile.TemporaryDirectory(prefix="bench-vectors-") as directory:
            milvus_store = MilvusPassageVectors(str(Path(directory) / "v.db"), "bench", DIMENSION)
            try:
                milvus = measure(
                    "Milvus Lite",
                    milvus_store,
                    data,
                    queries,
                    exact,
                    lambda store=milvus_store, where=Path(directory): store.persist(where, "bench"),
                )
            finally:
                milvus_store.close()
        for row in (faiss, milvus):
            print(
                f"{size:>8,} | {row['store']:<22} | {row['build_per_s']:>11,.0f} | {row['median_ms']:>9.2f} "
                f"| {row['p95_ms']:>7.2f} | {row['recall']:.3f}"
            )
        print(
            f"{'':>8} | {'ratio Milvus/FAISS':<22} | {float(milvus['build_per_s']) / float(faiss['build_per_s']):>11.3f} "
            f"| {float(milvus['median_ms']) / float(faiss['median_ms']):>9.1f} "
            f"| {float(milvus['p95_ms']) / float(faiss['p95_ms']):>7.1f} |"
        )


if __name__ == "__main__":
    main()
