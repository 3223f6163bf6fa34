"""Single-query FAISS search on one OpenMP thread (what `search.vector_index` does) against all threads.

Prints median and p95 ms per query for an exact 10,000-vector index, optionally with the cores kept busy
by other processes (`--load N` starts N busy loops), as on the shared machines this runs on.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time

import numpy as np

import search.vector_index as vector_index


def _busy(stop: float) -> None:
    while time.time() < stop:
        pass


def _timings(index: vector_index.FlatIndex, queries: np.ndarray) -> list[float]:
    times = []
    for row in range(len(queries)):
        start = time.perf_counter()
        index.search(queries[row : row + 1], 5)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vectors", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--load", type=int, default=2, help="busy processes running beside the bench")
    arguments = parser.parse_args()
    rng = np.random.default_rng(0)
    data = rng.standard_normal((arguments.vectors, 384)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    index = vector_index.FlatIndex(384)
    index.add(data)
    queries = data[: arguments.queries] + 0.01
    stop = time.time() + 3600
    busy = [multiprocessing.Process(target=_busy, args=(stop,), daemon=True) for _ in range(arguments.load)]
    for process in busy:
        process.start()
    try:
        results: dict[str, list[float]] = {"one thread (shipped)": [], "all threads (baseline)": []}
        for _round in range(3):  # interleaved, so both see the same machine
            vector_index.SINGLE_THREAD_QUERIES = 4
            results["one thread (shipped)"] += _timings(index, queries)
            vector_index.SINGLE_THREAD_QUERIES = 0
            results["all threads (baseline)"] += _timings(index, queries)
    finally:
        for process in busy:
            process.kill()
    print(f"exact search, {arguments.vectors:,} vectors, k=5, {arguments.load} busy processes beside it")
    medians = {}
    for name, times in results.items():
        medians[name] = statistics.median(times)
        p95 = sorted(times)[int(len(times) * 0.95)]
        print(f"  {name:24} median {medians[name]:7.2f} ms   p95 {p95:7.2f} ms")
    ratio = medians["all threads (baseline)"] / medians["one thread (shipped)"]
    print(f"  baseline / shipped: {ratio:.1f}x")


if __name__ == "__main__":
    main()
