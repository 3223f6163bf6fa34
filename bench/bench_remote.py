"""Ask, search and SPARQL point-lookup latencies: the embedded store against a remote `oxigraph serve`.

One small KB (the test documents) is ingested twice, once embedded and once with ``--store`` pointing at
an `oxigraph serve` started here on a free port; then the same questions, passage searches and SPARQL
point lookups run on both, warm (each is run once before timing), and the medians are printed side by
side with their ratio (remote / embedded).

    PYTHONPATH=. HF_HUB_OFFLINE=1 python bench/bench_remote.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from kb.facade import KnowledgeBase
from kb.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [
    ROOT / "tests/data/corpus/e1910-news.txt",
    ROOT / "tests/data/corpus/zuma3-abstract.txt",
    ROOT / "tests/data/corpus/lal2317-abstract.txt",
    ROOT / "tests/data/evidence/dapahf-abstract.txt",
    ROOT / "tests/data/evidence/fourier-summary.txt",
]
SEARCHES = ["blinatumomab consolidation survival", "hazard ratio worsening heart failure", "adverse events"]
LOOKUP = "PREFIX tkb: <https://w3id.org/trialkb/ontology#> SELECT ?p ?o WHERE {{ <{trial}> ?p ?o }}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_oxigraph(location: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    binary = Path(sys.executable).parent / "oxigraph"
    command = [str(binary), "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            httpx.get(f"{base}/query", params={"query": "ASK {}"}, timeout=1)
            return process, base
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("oxigraph serve did not start")


def median_ms(run: Callable[[], object], repeat: int) -> float:
    run()  # warm
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def questions() -> list[str]:
    names = {path.name for path in DOCUMENTS}
    rows = []
    for path in (
        ROOT / "tests/data/corpus/corpus_dev_qa.jsonl",
        ROOT / "tests/data/evidence/evidence_qa.jsonl",
    ):
        rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [row["q"] for row in rows if row["doc"] in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        process, base = start_oxigraph(work / "oxigraph")
        try:
            embedded = KnowledgeBase(work / "embedded")
            embedded.ingest(DOCUMENTS, workers=1)
            remote = KnowledgeBase(
                work / "remote",
                Settings(store=f"{base}/query", store_update=f"{base}/update", store_graphs=f"{base}/store"),
            )
            started = time.perf_counter()
            remote.ingest(DOCUMENTS, workers=1)
            print(f"remote ingest of {len(DOCUMENTS)} documents: {time.perf_counter() - started:.1f} s")
            asked = questions()
            trials = [iri for iri, _ in embedded.store.trials()]
            workloads: dict[str, Callable[[KnowledgeBase], Callable[[], object]]] = {
                f"ask ({len(asked)} questions, per question)": lambda kb: lambda: [kb.ask(q) for q in asked],
                f"search ({len(SEARCHES)} texts, per text)": lambda kb: (
                    lambda: [kb.search(t) for t in SEARCHES]
                ),
                f"SPARQL point lookup ({len(trials)} trials, per query)": lambda kb: (
                    lambda: [kb.query(LOOKUP.format(trial=t)) for t in trials]
                ),
            }
            per = {0: len(asked), 1: len(SEARCHES), 2: len(trials)}
            print(f"{'workload':48} {'embedded ms':>12} {'remote ms':>10} {'ratio':>7}")
            for number, (label, workload) in enumerate(workloads.items()):
                local = median_ms(workload(embedded), args.repeat) / per[number]
                far = median_ms(workload(remote), args.repeat) / per[number]
                print(f"{label:48} {local:12.2f} {far:10.2f} {far / local:7.1f}")
        finally:
            process.terminate()
            process.wait(10)


if __name__ == "__main__":
    main()
