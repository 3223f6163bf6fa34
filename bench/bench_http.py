"""Benchmark of issue 5: TrialKB's ``/sparql`` beside ``oxigraph serve`` on the same data and queries.

For the seed KB and the 1,000-document KB (``bench/out/kb-1000``, or ``--kb DIR``; opened read-only), loads
the KB's N-Quads snapshot into an Oxigraph store with the default graph materialised as the merge of the
named graphs (as TrialKB holds it), serves it with ``oxigraph serve-read-only``, starts ``trialkb serve`` on
the same KB twice (as configured, with its result cache; and with ``TRIALKB_RESULT_CACHE_MB=0``, so every
request runs in a worker process), and drives all three over loopback with a bounded keep-alive load generator (asyncio sockets, 1 and 8
concurrent clients, each cell capped in requests and seconds). Queries: a point query, every competency
query bound to one trial (or drug, or target) and a CONSTRUCT. Prints median latency and requests/s per
query, the ratios, the worker hop (``/healthz`` vs ``ASK {}``) and ``/api/ask``.

Usage: ``python bench/bench_http.py [--kb DIR] [--clients 1 8] [--seconds 3] [--requests 2000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
BIN = Path(sys.executable).parent
QUESTION = "What was the complete remission rate?"
LARGE_KB = ROOT / "bench" / "out" / "kb-1000"  # the 1,000-document KB of bench_kb.py, used read-only


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, timeout: float = 120, child: subprocess.Popen[bytes] | None = None) -> None:
    """Until ``url`` answers 200; a ``child`` that exits meanwhile is an error at once, not a timeout."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if child is not None and child.poll() is not None:
            raise RuntimeError(f"the process serving {url} exited with {child.returncode}")
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def process(
    command: list[str], ready_url: str, env: dict[str, str] | None = None, timeout: float = 120
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process started with ``command``, ready when ``ready_url`` answers; stopped on exit. Its output
    goes to a temporary file, whose tail is in the error when it does not come up."""
    log = tempfile.TemporaryFile()
    child = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=log, env=dict(os.environ, **(env or {})))
    try:
        try:
            wait_for(ready_url, timeout, child)
        except RuntimeError as error:
            log.seek(0)
            raise RuntimeError(f"{error}: {log.read().decode(errors='replace')[-2000:]}") from None
        yield child
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
        log.close()


# ---------------------------------------------------------------- load generator


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length, chunked = None, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def _client(
    port: int, request: bytes, stop: float, budget: list[int], latencies: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while budget[0] > 0 and time.perf_counter() < stop:
            budget[0] -= 1
            started = time.perf_counter()
            writer.write(request)
            status = await _read_response(reader)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors.append(status)
    finally:
        writer.close()


def load(
    port: int, path: str, accept: str, clients: int, seconds: float, requests: int
) -> tuple[float, float, int]:
    """(median ms, requests/s, non-200 count) for ``clients`` keep-alive connections sending GET ``path``."""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: {accept}\r\n\r\n".encode()

    async def run() -> tuple[float, float, int]:
        warm: list[float] = []
        await _client(port, request, time.perf_counter() + 2, [5], warm, [])
        latencies: list[float] = []
        errors: list[int] = []
        budget = [requests]
        started = time.perf_counter()
        stop = started + seconds
        await asyncio.gather(
            *(_client(port, request, stop, budget, latencies, errors) for _ in range(clients))
        )
        elapsed = time.perf_counter() - started
        return statistics.median(latencies) * 1000, len(latencies) / elapsed, len(errors)

    return asyncio.run(run())


# ---------------------------------------------------------------- the KBs and queries


def synthetic_kb(count: int, cache: Path) -> Path:
    """A KB of ``count`` synthetic documents, built once and kept in ``cache``."""
    home = cache / f"synthetic-{count}"
    if (home / "manifest.json").is_file():
        return home
    from synthetic_docs import write_corpus

    from kb.facade import KnowledgeBase

    print(f"building the {count}-document KB in {home} (once; kept for later runs)...", flush=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as sources:
        KnowledgeBase(home).ingest(write_corpus(Path(sources), count))
    print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)
    return home


def question_for(home: Path) -> str:
    """The question `/api/ask` is timed with: about the trial the queries are bound to (an unscoped question
    on a large KB answers for every trial, and is timed by bench_ask.py, not here)."""
    from bench_kb import bindings_for

    from kb.facade import KnowledgeBase

    kb = KnowledgeBase(home)
    trial = next(iter(b["trial"] for b in bindings_for(kb).values() if "trial" in b))
    rows = kb.select(f"SELECT ?label WHERE {{ <{trial}> rdfs:label ?label }} ORDER BY ?label LIMIT 1")
    return f"{QUESTION[:-1]} of {rows[0]['label']}?" if rows else QUESTION


def workload(home: Path) -> list[tuple[str, str, str]]:
    """(name, query text, Accept): a point query, every competency query bound to one trial (or drug, or
    target) as users ask them (`bench_kb.bindings_for`), and a CONSTRUCT of the trial's triples."""
    from bench_kb import bindings_for

    from kb import queries
    from kb.facade import KnowledgeBase

    kb = KnowledgeBase(home)
    bindings = bindings_for(kb)
    trial = next(iter(b["trial"] for b in bindings.values() if "trial" in b))
    json = "application/sparql-results+json"
    items = [("point", f"SELECT ?label WHERE {{ <{trial}> rdfs:label ?label }}", json)]
    items += [
        (name, queries.load(name, with_prefixes=False, bindings=bindings[name]), json)
        for name in queries.names()
    ]
    items.append(
        (
            "describe (CONSTRUCT)",
            f"CONSTRUCT {{ <{trial}> ?p ?o }} WHERE {{ <{trial}> ?p ?o }}",
            "text/turtle",
        )
    )
    from ontology import sparql_prefixes

    return [(name, sparql_prefixes() + text, accept) for name, text, accept in items]


def oxigraph_store(snapshot: Path, location: Path) -> None:
    """The KB's N-Quads in an Oxigraph store, with the default graph materialised as the merge of the named
    graphs, as TrialKB's store holds it (``--union-default-graph`` would repeat a triple once per graph)."""
    oxigraph = str(BIN / "oxigraph")
    subprocess.run([oxigraph, "load", "--location", str(location), "--file", str(snapshot)],
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run([oxigraph, "update", "--location", str(location),
                    "--update", "INSERT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }"],
                   check=True, capture_output=True)  # fmt: skip


def bench_kb(label: str, home: Path, args: argparse.Namespace) -> list[tuple[str, ...]]:
    from kb.facade import KnowledgeBase

    kb = KnowledgeBase(home)
    snapshot = home / kb.manifest.snapshot
    work = Path(tempfile.mkdtemp(prefix="trialkb-bench-http-"))
    rows: list[tuple[str, ...]] = []
    try:
        oxigraph_store(snapshot, work / "ox")
        ours, uncached, theirs = free_port(), free_port(), free_port()
        serve = [sys.executable, "-m", "kb", "--home", str(home), "serve", "--port"]
        oxigraph = [str(BIN / "oxigraph"), "serve-read-only", "--location", str(work / "ox"),
                    "--bind", f"127.0.0.1:{theirs}", "--timeout-s", "10"]  # fmt: skip
        with (
            process([*serve, str(ours)], f"http://127.0.0.1:{ours}/readyz"),
            process([*serve, str(uncached)], f"http://127.0.0.1:{uncached}/readyz", {"TRIALKB_RESULT_CACHE_MB": "0"}),
            process(oxigraph, f"http://127.0.0.1:{theirs}/query?query=ASK%7B%7D"),
        ):  # fmt: skip
            for name, text, accept in workload(home):
                if args.only and name not in args.only:
                    continue
                for clients in args.clients:
                    path = "/sparql?query=" + quote(text)
                    a = load(ours, path, accept, clients, args.seconds, args.requests)
                    u = load(uncached, path, accept, clients, args.seconds, args.requests)
                    b = load(
                        theirs, "/query?query=" + quote(text), accept, clients, args.seconds, args.requests
                    )
                    rows.append((label, name, str(clients), f"{a[0]:.2f}", f"{a[1]:.0f}", f"{u[0]:.2f}", f"{u[1]:.0f}",
                                 f"{b[0]:.2f}", f"{b[1]:.0f}", f"{a[0] / b[0]:.2f}", f"{u[0] / b[0]:.2f}",
                                 str(a[2] + u[2] + b[2])))  # fmt: skip
                    print("  ".join(rows[-1]), flush=True)
            for name, path, accept in [("/healthz (no worker)", "/healthz", "*/*"),
                                       ("ASK {} (worker hop)", "/sparql?query=ASK%20%7B%7D", "application/sparql-results+json"),
                                       ("/api/ask", "/api/ask?q=" + quote(question_for(home)), "application/json")]:  # fmt: skip
                if args.only and name not in args.only:
                    continue
                for clients in args.clients:
                    u = load(uncached, path, accept, clients, args.seconds, args.requests)
                    rows.append((label, name, str(clients), "", "", f"{u[0]:.2f}", f"{u[1]:.0f}", "", "", "", "",
                                 str(u[2])))  # fmt: skip
                    print("  ".join(rows[-1]), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def print_table(rows: list[tuple[str, ...]]) -> None:
    header = ("KB", "query", "clients", "trialkb ms", "trialkb req/s", "uncached ms", "uncached req/s",
              "oxigraph ms", "oxigraph req/s", "ratio", "ratio uncached", "non-200")  # fmt: skip
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kb", type=Path, action="append", default=[],
                        help=f"a KB directory to bench beside the seed KB (default: {LARGE_KB} if it exists)")  # fmt: skip
    parser.add_argument(
        "--documents", type=int, default=0, help="also a synthetic KB of N documents, built once"
    )
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8], help="concurrent clients per cell")
    parser.add_argument("--seconds", type=float, default=3.0, help="time cap per cell")
    parser.add_argument("--requests", type=int, default=2000, help="request cap per cell")
    parser.add_argument("--only", nargs="*", help="run only these queries (names as in the table)")
    parser.add_argument("--no-seed", action="store_true", help="skip the seed KB")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "trialkb" / "bench")
    args = parser.parse_args()
    from kb.facade import KnowledgeBase
    from kb.settings import bundled_home

    homes = [] if args.no_seed else [("seed", bundled_home())]
    extra = args.kb or ([LARGE_KB] if (LARGE_KB / "manifest.json").is_file() else [])
    homes += [(f"{len(KnowledgeBase(home).manifest.documents)} docs", home) for home in extra]
    if args.documents:
        homes.append((f"{args.documents} synthetic", synthetic_kb(args.documents, args.cache)))
    rows = []
    for label, home in homes:
        rows += bench_kb(label, home, args)
    print(
        f"\nloopback, {os.cpu_count()} cores; median latency and throughput per cell (ratio = trialkb / oxigraph;"
        " trialkb serves repeated queries from its result cache, 'uncached' is a second server with"
        " TRIALKB_RESULT_CACHE_MB=0, so every request runs in a worker)"
    )
    print_table(rows)


if __name__ == "__main__":
    main()
