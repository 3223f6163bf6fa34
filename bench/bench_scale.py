"""Queries at scale (issue 15 part 5, issue 16 item 4): ask, search, SPARQL and /api/ask on KBs of 10^3 and 10^4 abstracts.

    python bench/medline_corpus.py /tmp/medline10k --count 10000          # the articles, once
    python -m kb -q --home /tmp/kb10k ingest --batch-size 500 /tmp/medline10k/*.xml
    python -m kb -q --home /tmp/kb1k ingest --batch-size 500 /tmp/medline10k/medline-000000-000999.xml
    python bench/bench_scale.py --kb 1k=/tmp/kb1k --kb 10k=/tmp/kb10k [--json OUT]

For each KB (opened read-only; the add-one-document cost runs on a copy): its size per part (triples, N-Quads
bytes, passages and FAISS bytes, BM25 bytes, sources); the cold open in a fresh process, split into manifest,
snapshot read, parse into the store, QA context and search index, with RSS after each; warm in-process
`ask` (the facade's) for questions naming one trial (one question per trial, so no answer is a repeat) and
for questions over all trials ("Which trials tested PD-1 inhibitors?"), median and p90; the cold CLI
process (`python -m kb ask`, wall time); search; a SPARQL point lookup (`SELECT ?p ?o WHERE { <trial> ?p
?o }`) through the facade and through `/sparql` of a real `trialkb serve`; `/api/ask` throughput with
concurrent keep-alive clients, each request a different question (the answer cache off, so every request
is answered by a query worker); the RSS of the server and of each query worker; and the cost of adding
one article to a copy of the KB. Prints a table with the ratio of each figure to the first KB's and
to the issue's targets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

NAMED = (
    "What was the hazard ratio in {trial}?",
    "How many patients were enrolled in {trial}?",
    "What drugs were used in {trial}?",
    "What is the NCT ID of {trial}?",
    "Who funded {trial}?",
    "Where was {trial} published?",
    "What was the objective response rate in {trial}?",
    "What was the primary end point of {trial}?",
)
"""Questions naming one trial; each trial is asked one of them, so every question is new to the KB."""
OVER_ALL = (
    "Which trials tested PD-1 inhibitors?",
    "Which trials tested BTK inhibitors?",
    "Which trials tested PARP inhibitors?",
    "Which trials tested CDK4/6 inhibitors?",
    "Which trials tested EGFR inhibitors?",
    "Which trials tested proteasome inhibitors?",
    "How many trials tested ALK inhibitors?",
    "How many trials tested BCL-2 inhibitors?",
    "Which trials studied multiple myeloma?",
    "Which trials studied follicular lymphoma?",
    "Which trials used pembrolizumab?",
    "Which trials used olaparib?",
)
"""Questions over every trial, each asked once (so none is answered from a cache)."""
SEARCHES = (
    "hazard ratio for overall survival with pembrolizumab",
    "objective response rate in relapsed multiple myeloma",
    "randomly assigned patients to ibrutinib or placebo",
    "median duration of response",
    "PARP inhibitor in ovarian cancer",
    "progression-free survival of venetoclax",
    "complete response rate CAR T-cell therapy",
    "single-arm phase 2 study of dasatinib",
    "funded by Novartis",
    "median follow-up months event-free survival",
)
TARGETS = {
    "ask named p50 ms": 50.0,
    "ask over all p50 ms": 200.0,
    "search p50 ms": 20.0,
    "SPARQL point p50 ms (facade)": 5.0,
    "SPARQL point p50 ms (HTTP)": 5.0,
    "/api/ask req/s": 50.0,
    "cold open s": 0.5,
    "cold CLI ask s": 0.5,
}
"""Issue 15's targets (the cold ones from its "How it is judged"); a lower figure passes except for req/s."""


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def timed_ms(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def rss_mib(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def du(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


# ---------------------------------------------------------------- sizes


def sizes(home: Path) -> dict[str, float]:
    manifest = json.loads((home / "manifest.json").read_text(encoding="utf-8"))
    index = home / "index"
    index_manifest = json.loads((index / "manifest.json").read_text(encoding="utf-8"))
    return {
        "documents": manifest["documents"]
        if isinstance(manifest["documents"], int)
        else len(manifest["documents"]),
        "triples": manifest["triples"],
        "passages (vectors)": index_manifest["count"],
        "N-Quads MB": du(home / manifest["snapshot"]) / 1e6,
        "FAISS MB": du(index / "vectors.faiss") / 1e6,
        "BM25 MB": du(index / "keyword") / 1e6,
        "passage records MB": du(index / "records.jsonl") / 1e6,
        "sources MB": du(home / "sources") / 1e6,
        "manifest MB": du(home / "manifest.json") / 1e6,
        "disk total MB": du(home) / 1e6,
    }


# ---------------------------------------------------------------- cold open, in a fresh process

COLD_OPEN = """
import json, sys, time
started = time.perf_counter()
from bench_scale import rss_mib
from kb.facade import KnowledgeBase
from kb.triplestore import TripleStore
out = {"imports s": time.perf_counter() - started}
def mark(name, since):
    now = time.perf_counter()
    out[name + " s"] = now - since
    out[name + " RSS MiB"] = rss_mib()
    return now
kb = KnowledgeBase(sys.argv[1])
t = time.perf_counter()
manifest = kb.directory.read_manifest(); t = mark("manifest", t)
data = kb.directory.read_snapshot(manifest); t = mark("snapshot read", t)
store = TripleStore.from_nquads(data); t = mark("snapshot parse", t)
from kb.facade import _Loaded
kb._loaded = _Loaded(manifest, store)
del data
from kb.qa.context import load_context
load_context(kb); t = mark("QA context", t)
kb.search("overall survival", k=5); t = mark("search index load + first search", t)
out["total s"] = time.perf_counter() - started
print(json.dumps(out))
"""


def cold_open(home: Path) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'bench'}")
    done = subprocess.run([sys.executable, "-c", COLD_OPEN, str(home)], capture_output=True, text=True, env=env,
                          check=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def cold_cli(home: Path, question: str, runs: int) -> list[float]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    walls = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "kb", "--home", str(home), "ask", question], capture_output=True,
                       env=env, check=True)  # fmt: skip
        walls.append(time.perf_counter() - started)
    return walls


# ---------------------------------------------------------------- warm, in process


def trial_names(kb: Any, count: int, seed: int = 3) -> list[tuple[str, str]]:
    """(IRI, name) of ``count`` trials drawn at random from the KB's trials that have a short name."""
    from kb.qa.context import load_context

    trials = [(t.iri, t.name) for t in load_context(kb).trials.values() if t.name]
    trials.sort()
    return random.Random(seed).sample(trials, min(count, len(trials)))


def named_questions(names: list[tuple[str, str]]) -> list[str]:
    return [NAMED[i % len(NAMED)].format(trial=name) for i, (_, name) in enumerate(names)]


def warm(home: Path, samples: int) -> tuple[dict[str, list[float]], dict[str, Any]]:
    from kb.facade import KnowledgeBase

    kb = KnowledgeBase(home)
    kb.ask("What was the hazard ratio?")  # opens the store, the QA context and the index
    kb.search("overall survival")
    names = trial_names(kb, samples)
    times: dict[str, list[float]] = {}
    notes: dict[str, Any] = {}
    named = named_questions(names)
    answers = []
    times["ask named"] = []
    for question in named:
        started = time.perf_counter()
        answers.append(kb.ask(question))
        times["ask named"].append((time.perf_counter() - started) * 1000)
    notes["ask named abstained"] = sum(a.abstained for a in answers)
    times["ask over all"] = []
    answers = []
    for question in OVER_ALL:
        started = time.perf_counter()
        answers.append(kb.ask(question))
        times["ask over all"].append((time.perf_counter() - started) * 1000)
    notes["ask over all abstained"] = sum(a.abstained for a in answers)
    times["search"] = [timed_ms(lambda q=q: kb.search(q, k=5)) for q in SEARCHES for _ in range(3)]
    times["SPARQL point (facade)"] = [
        timed_ms(lambda iri=iri: kb.select(f"SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }}")) for iri, _ in names
    ]
    notes["in-process RSS MiB"] = rss_mib()
    return times, notes


# ---------------------------------------------------------------- a real server


@contextmanager
def serve(home: Path, env: dict[str, str]) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """``trialkb serve`` on ``home`` (a large KB takes minutes to load: up to 10 of them), its port and process."""
    from bench_http import free_port, process

    port = free_port()
    command = [sys.executable, "-m", "kb", "--home", str(home), "serve", "--port", str(port)]
    ready = f"http://127.0.0.1:{port}/readyz"
    with process(command, ready, {"PYTHONPATH": str(ROOT), **env}, timeout=600) as child:
        yield port, child


def descendants_of(pid: int) -> list[int]:
    """Every process below ``pid`` (the query workers are started through a fork server)."""
    parents: dict[int, int] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("PPid:"):
                parents[int(status.parent.name)] = int(line.split()[1])
    found: list[int] = []
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, of in parents.items() if of == parent]
        found += children
        frontier += children
    return found


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


def load(
    port: int, paths: list[str], clients: int, seconds: float
) -> tuple[float, float, float, dict[int, int]]:
    """(median ms, p90 ms, requests/s, statuses) for ``clients`` keep-alive connections taking GET paths in turn
    (each path once, until the paths or the seconds run out)."""

    async def run() -> tuple[float, float, float, dict[int, int]]:
        queue = list(reversed(paths))
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        stop = time.perf_counter() + seconds

        async def client() -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                while queue and time.perf_counter() < stop:
                    path = queue.pop()
                    started = time.perf_counter()
                    writer.write(
                        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n".encode()
                    )
                    status = await _read_response(reader)
                    latencies.append((time.perf_counter() - started) * 1000)
                    statuses[status] = statuses.get(status, 0) + 1
            finally:
                writer.close()

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
        return statistics.median(latencies), percentile(latencies, 0.9), len(latencies) / elapsed, statuses

    return asyncio.run(run())


def http(home: Path, names: list[tuple[str, str]], clients: int, seconds: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    # No answer or result cache: every request is answered by a query worker, as a new question is.
    # The workers' address-space cap (2 GiB by default) is lifted: a worker holds the whole KB in memory today.
    with serve(home, {"TRIALKB_RESULT_CACHE_MB": "0", "TRIALKB_QUERY_MEMORY_LIMIT_MB": "0"}) as (port, child):
        warmups = ["/api/ask?q=" + quote("What was the hazard ratio?")] * 4
        load(port, warmups, 2, 120)
        points = ["/sparql?query=" + quote(f"SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }}") for iri, _ in names]
        median, p90, _, statuses = load(port, points, 1, seconds)
        out["SPARQL point (HTTP)"] = (median, p90, statuses)
        questions = named_questions(names)
        paths = ["/api/ask?q=" + quote(q) for q in questions]
        median, p90, rate, statuses = load(port, paths, clients, seconds)
        out["/api/ask named"] = (median, p90, rate, statuses)
        paths = ["/api/ask?q=" + quote(q) for q in OVER_ALL]  # each once: no cache answers
        median, p90, rate, statuses = load(port, paths, clients, seconds)
        out["/api/ask over all"] = (median, p90, rate, statuses)
        paths = [f"/api/search?q={quote(q)}&k=5" for q in SEARCHES] * 10
        median, p90, rate, statuses = load(port, paths, clients, seconds)
        out["/api/search"] = (median, p90, rate, statuses)
        out["server RSS MiB"] = rss_mib(child.pid)
        out["worker RSS MiB"] = [rss_mib(pid) for pid in descendants_of(child.pid)]
    return out


# ---------------------------------------------------------------- adding one document


def add_one(home: Path, article: int) -> float:
    """Seconds to ingest one new article (`python -m kb ingest`, one worker) into a copy of ``home``."""
    from medline_corpus import write_corpus

    with tempfile.TemporaryDirectory(prefix="trialkb-scale-") as work:
        copy = Path(work) / "kb"
        shutil.copytree(home, copy)
        (path,) = write_corpus(Path(work) / "new", 1, 1, start=article)
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "kb", "-q", "--home", str(copy), "ingest", "--workers", "1", str(path)],
                       check=True, capture_output=True, env=env)  # fmt: skip
        return time.perf_counter() - started


# ---------------------------------------------------------------- the report


def bench(home: Path, args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"sizes": sizes(home)}
    print(f"{home}: {result['sizes']}", flush=True)
    result["cold open"] = cold_open(home)
    print(f"  cold open: {result['cold open']}", flush=True)
    times, notes = warm(home, args.samples)
    result["warm"] = {name: (statistics.median(v), percentile(v, 0.9)) for name, v in times.items()}
    result["notes"] = notes
    print(f"  warm: {result['warm']} {notes}", flush=True)
    if args.cold:
        walls = cold_cli(home, "Which trials tested PD-1 inhibitors?", args.cold)
        result["cold CLI ask s"] = statistics.median(walls)
        print(f"  cold CLI: {walls}", flush=True)
    if args.clients:
        from kb.facade import KnowledgeBase

        names = trial_names(KnowledgeBase(home), args.http_samples)
        result["http"] = http(home, names, args.clients, args.seconds)
        print(f"  http: {result['http']}", flush=True)
    if args.add:
        result["add one document s"] = add_one(home, 900_000)
        print(f"  add one: {result['add one document s']:.2f} s", flush=True)
    return result


def rows_of(result: dict[str, Any]) -> dict[str, float]:
    """The table's figures of one KB, by row name."""
    rows: dict[str, float] = {}
    rows.update(result["sizes"])
    cold = result["cold open"]
    for name in ("imports", "manifest", "snapshot read", "snapshot parse", "QA context",
                 "search index load + first search"):  # fmt: skip
        rows[f"cold open: {name} s"] = cold[f"{name} s"]
    rows["cold open s"] = cold["total s"]
    rows["RSS after open MiB"] = cold["search index load + first search RSS MiB"]
    for name, (median, p90) in result["warm"].items():
        rows[f"{name} p50 ms"] = median
        rows[f"{name} p90 ms"] = p90
    for name in ("ask named abstained", "ask over all abstained"):
        rows[name] = result["notes"][name]
    if "cold CLI ask s" in result:
        rows["cold CLI ask s"] = result["cold CLI ask s"]
    if "http" in result:
        h = result["http"]
        rows["SPARQL point p50 ms (HTTP)"] = h["SPARQL point (HTTP)"][0]
        for name in ("/api/ask named", "/api/ask over all", "/api/search"):
            rows[f"{name} p50 ms"] = h[name][0]
            rows[f"{name} req/s"] = h[name][2]
            rows[f"{name} non-200"] = sum(n for s, n in h[name][3].items() if int(s) != 200)
        rows["/api/ask req/s"] = h["/api/ask named"][2]
        rows["server RSS MiB"] = h["server RSS MiB"]
        rows["query worker RSS MiB (each)"] = max(h["worker RSS MiB"] or [0.0])
    if "add one document s" in result:
        rows["add one document s"] = result["add one document s"]
    return rows


def print_table(labels: list[str], results: list[dict[str, Any]]) -> None:
    tables = [rows_of(r) for r in results]
    rename = {"SPARQL point (facade) p50 ms": "SPARQL point p50 ms (facade)"}
    tables = [{rename.get(k, k): v for k, v in t.items()} for t in tables]
    names = list(dict.fromkeys(name for table in tables for name in table))
    header = ["figure", *labels, *(f"{label}/{labels[0]}" for label in labels[1:]), "target", "meets"]
    lines = [header]
    for name in names:
        values = [table.get(name) for table in tables]
        cells = [name, *("" if v is None else f"{v:,.4g}" for v in values)]
        base = values[0]
        cells += ["" if not base or v is None else f"{v / base:.2f}" for v in values[1:]]
        target = TARGETS.get(name)
        last = values[-1]
        if target is None or last is None:
            cells += ["", ""]
        else:
            meets = last >= target if name.endswith("req/s") else last <= target
            cells += [f"{'≥' if name.endswith('req/s') else '≤'} {target:g}", "yes" if meets else "NO"]
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for number, line in enumerate(lines):
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
        if number == 0:
            print("  ".join("-" * width for width in widths))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kb", action="append", default=[], help="LABEL=DIR, smallest first")
    parser.add_argument(
        "--report",
        nargs="+",
        help="print the table of earlier --json files, [LABEL=]FILE (smallest KB first)",
    )
    parser.add_argument("--samples", type=int, default=60, help="trials asked about in process")
    parser.add_argument("--http-samples", type=int, default=600, help="trials asked about over HTTP")
    parser.add_argument("--cold", type=int, default=3, help="cold CLI runs (0: none)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients (0: no server)")
    parser.add_argument("--seconds", type=float, default=10.0, help="time cap per HTTP cell")
    parser.add_argument("--no-add", dest="add", action="store_false", help="skip adding one document")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.report:
        pairs = []
        for item in args.report:
            label, _, path = item.rpartition("=")
            for saved_label, result in json.loads(Path(path).read_text()).items():
                pairs.append((label or saved_label, result))
        print_table([label for label, _ in pairs], [result for _, result in pairs])
        return
    if not args.kb:
        parser.error("give --kb LABEL=DIR (or --report FILES)")
    labels, results = [], []
    for item in args.kb:
        label, _, directory = item.partition("=")
        labels.append(label)
        results.append(bench(Path(directory).resolve(), args))
    load_average = os.getloadavg()
    print(f"\n{os.cpu_count()} cores, load average {load_average[0]:.2f} (the machine is shared)")
    print_table(labels, results)
    if args.json:
        args.json.write_text(json.dumps(dict(zip(labels, results, strict=True)), indent=1, default=str))


if __name__ == "__main__":
    main()
