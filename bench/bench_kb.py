"""Benchmark of issue 2: ingestion and build throughput, and competency-query latency on two stores.

Prints: documents/s and triples for the seed and for N synthetic documents; the median latency of every
competency query, bound to one trial (or drug, or target) as users ask them, on the seed KB and the
N-document KB, Oxigraph (the KB's store) beside rdflib's memory store on the same data, with the ratio. Usage: ``python bench/bench_kb.py [--documents 1000] [--repeat 20]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from synthetic_docs import write_corpus  # noqa: E402

from kb import queries  # noqa: E402
from kb.facade import KnowledgeBase  # noqa: E402


def median_ms(function: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


WORKERS = 1  # extraction processes for every timed ingest (--workers)


def ingest(home: Path, paths: list[Path]) -> tuple[float, KnowledgeBase]:
    kb = KnowledgeBase(home)
    start = time.perf_counter()
    report = kb.ingest(paths, workers=WORKERS) if WORKERS > 1 else kb.ingest(paths)
    elapsed = time.perf_counter() - start
    failed = [o for o in report.outcomes if o.status == "failed"]
    if failed:
        print(f"  ({len(failed)} documents failed: {failed[0].message})")
    return elapsed, kb


PARAMETERS = """
SELECT ?trial ?drug ?target WHERE {
  ?trial a tkb:ClinicalTrial ; tkb:intervention ?drug . ?drug tkb:target ?target .
} ORDER BY ?trial ?drug ?target LIMIT 1"""


def bindings_for(kb: KnowledgeBase) -> dict[str, dict[str, str]]:
    """One trial, drug and target of the KB, bound into each query as a user would ask about one."""
    row = kb.select(PARAMETERS)[0]
    return {
        name: {"drug": row["drug"]}
        if name == "drugs"
        else {"target": row["target"]}
        if name == "trials_by_target"
        else {"trial": row["trial"]}
        for name in queries.names()
    }


def query_table(kb: KnowledgeBase, repeat: int, memory_repeat: int) -> list[tuple[str, float, float, int]]:
    from rdflib import Dataset

    memory = Dataset(default_union=True)
    memory.parse(data=kb.store.to_nquads().decode("utf-8"), format="nquads")
    rows = []
    native = kb.store.native
    for name, binding in bindings_for(kb).items():
        text = queries.load(name, bindings=binding)
        count = len(list(native.query(text)))  # type: ignore[arg-type]
        ox_ms = median_ms(lambda t=text: list(native.query(t)), repeat)  # type: ignore[misc]
        mem_ms = median_ms(lambda t=text: list(memory.query(t)), memory_repeat)  # type: ignore[misc]
        rows.append((name, ox_ms, mem_ms, count))
    return rows


def print_queries(title: str, rows: list[tuple[str, float, float, int]]) -> None:
    print(f"\n{title}")
    print(f"  {'query':22} {'rows':>6} {'oxigraph ms':>12} {'rdflib mem ms':>14} {'ratio':>8}")
    for name, ox_ms, mem_ms, count in rows:
        print(f"  {name:22} {count:6d} {ox_ms:12.2f} {mem_ms:14.2f} {mem_ms / max(ox_ms, 1e-6):7.0f}x")
    worst = max(r[1] for r in rows)
    ratio = statistics.median(r[2] / max(r[1], 1e-6) for r in rows)
    print(f"  slowest Oxigraph median: {worst:.2f} ms; median speed-up over the memory store: {ratio:.0f}x")


def _timed(function: object) -> float:
    start = time.perf_counter()
    function()  # type: ignore[operator]
    return time.perf_counter() - start


def ingest_only(work: Path, documents: int) -> None:
    """Ingestion throughput alone: the seed with the corpus, then ``documents`` synthetic documents."""
    real = sorted((ROOT / "kb" / "data" / "kb" / "sources").glob("*.txt"))
    real += sorted((ROOT / "tests" / "data" / "corpus").glob("*.txt"))
    seconds, real_kb = ingest(work / "real", real)
    print(
        f"seed and corpus: {len(real)} documents in {seconds:.2f} s (model load and index included), "
        f"{real_kb.manifest.triples} triples"
    )
    paths = write_corpus(work / "docs", documents)
    from kb.extract import extract
    from kb.ingest import read_document
    from kb.lexicon import load_lexicon

    lexicon = load_lexicon()
    parsed = [read_document(p) for p in real + paths]
    best = min(_timed(lambda: [extract(d, lexicon) for d in parsed]) for _ in range(3))
    print(
        f"extraction alone (best of 3): {len(parsed)} documents in {best:.2f} s = {len(parsed) / best:.0f} documents/s"
    )
    seconds, big_kb = ingest(work / "synthetic", paths)
    print(
        f"synthetic: {documents} documents in {seconds:.1f} s = {documents / seconds:.1f} documents/s, "
        f"{big_kb.manifest.triples} triples, workers {WORKERS}"
    )
    print(
        f"peak RSS: {peak_rss_mib():.0f} MiB in this process, {peak_rss_mib(children=True):.0f} MiB in a worker"
    )


def peak_rss_mib(children: bool = False) -> float:
    """The peak resident memory of this process (or of its largest finished child), in MiB (Linux: KiB)."""
    import resource

    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--memory-repeat", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true", help="re-ingest the synthetic KB even if cached")
    parser.add_argument(
        "--ingest-only", action="store_true", help="time ingestion only (seed, corpus, N synthetic documents)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="extraction processes per ingest (1: in-process, as before)"
    )
    args = parser.parse_args()
    global WORKERS
    WORKERS = max(1, args.workers)
    work = Path(tempfile.mkdtemp(prefix="trialkb-bench-"))
    if args.ingest_only:
        try:
            ingest_only(work, args.documents)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return
    try:
        seed_sources = sorted((ROOT / "kb" / "data" / "kb" / "sources").glob("*.txt"))
        seconds, seed_kb = ingest(work / "seed", seed_sources)
        print(
            f"seed: {len(seed_sources)} document in {seconds:.2f} s (with index), {seed_kb.manifest.triples} triples"
        )
        cached = ROOT / "bench" / "out" / f"kb-{args.documents}"
        if (cached / "manifest.json").exists() and not args.rebuild:
            big_kb = KnowledgeBase(cached)
            print(
                f"synthetic: reusing {cached} ({big_kb.manifest.triples} triples); --rebuild to time ingestion"
            )
        else:
            shutil.rmtree(cached, ignore_errors=True)
            paths = write_corpus(work / "docs", args.documents)
            seconds, big_kb = ingest(cached, paths)
            print(
                f"synthetic: {args.documents} documents in {seconds:.1f} s = {args.documents / seconds:.1f} documents/s "
                f"(extraction, RDF, atomic commit, embedding index), {big_kb.manifest.triples} triples"
            )
        print_queries(
            "competency queries, seed KB (median ms)", query_table(seed_kb, args.repeat, args.repeat)
        )
        print_queries(
            f"competency queries, {args.documents}-document KB (median ms)",
            query_table(big_kb, args.repeat, args.memory_repeat),
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
