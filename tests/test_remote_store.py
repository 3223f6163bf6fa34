"""A remote SPARQL 1.1 store as the KB's home (`kb.remote_store`), against a real `oxigraph serve`.

The KB is ingested through the CLI with ``--store``/``--store-update``/``--store-graphs``; the server is
then queried directly (SPARQLWrapper, not TrialKB) to see the graphs, and the same questions, queries,
entity pages, reconciliation and validation are compared with an embedded KB of the same documents.
Failures: the server down (one-line error, exit 1, manifest unchanged), a retry that outlasts a short
outage, a refusing endpoint, and an ingest killed between two graph writes, then rerun.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, free_port
from SPARQLWrapper import JSON, POST, SPARQLWrapper

from kb.facade import KnowledgeBase
from kb.settings import Settings

OXIGRAPH = Path(sys.executable).parent / "oxigraph"
CORPUS = ROOT / "tests" / "data" / "corpus"
EVIDENCE = ROOT / "tests" / "data" / "evidence"
DOCUMENTS = [CORPUS / "e1910-news.txt", CORPUS / "zuma3-abstract.txt", EVIDENCE / "dapahf-abstract.txt"]
LATER = [CORPUS / "lal2317-abstract.txt", CORPUS / "paradigmhf-abstract.txt"]
UNION_COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
NAMED_COUNTS = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"


class OxigraphServer:
    """`oxigraph serve` on a free port with its data in a directory: stopped and started again at will."""

    def __init__(self, location: Path) -> None:
        self.location = location
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoints(self) -> dict[str, str]:
        return {
            "store": f"{self.base}/query",
            "store_update": f"{self.base}/update",
            "store_graphs": f"{self.base}/store",
        }

    def options(self) -> list[str]:
        return [f"--{name.replace('_', '-')}={url}" for name, url in self.endpoints.items()]

    def start(self) -> None:
        command = [
            str(OXIGRAPH),
            "serve",
            "--location",
            str(self.location),
            "--bind",
            f"127.0.0.1:{self.port}",
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.base}/query", params={"query": "ASK {}"}, timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("oxigraph serve did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def select(self, query: str) -> list[dict[str, str]]:
        """A SELECT sent straight to the server with SPARQLWrapper: rows of plain values."""
        client = SPARQLWrapper(f"{self.base}/query")
        client.setMethod(POST)
        client.setQuery(query)
        client.setReturnFormat(JSON)
        result = client.queryAndConvert()
        return [{k: v["value"] for k, v in row.items()} for row in result["results"]["bindings"]]  # type: ignore[index, call-overload]

    def named_counts(self) -> dict[str, int]:
        return {row["g"]: int(row["n"]) for row in self.select(NAMED_COUNTS)}

    def default_count(self) -> int:
        return int(self.select(UNION_COUNT)[0]["n"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OxigraphServer]:
    if not OXIGRAPH.exists():
        pytest.fail(f"oxigraph serve is not installed at {OXIGRAPH} (PyPI oxigraph, a test dependency)")
    running = OxigraphServer(tmp_path_factory.mktemp("oxigraph") / "db")
    running.start()
    yield running
    running.stop()


@pytest.fixture()
def own_server(tmp_path: Path) -> Iterator[OxigraphServer]:
    """A server of its own, for a test that writes other content than the shared KB's."""
    running = OxigraphServer(tmp_path / "oxigraph")
    running.start()
    yield running
    running.stop()


def trialkb(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "kb", "--home", str(home), *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def remote_kb(home: Path, server: OxigraphServer, **settings: object) -> KnowledgeBase:
    return KnowledgeBase(home, Settings(**server.endpoints, **settings))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    kb = KnowledgeBase(tmp_path_factory.mktemp("embedded") / "kb")
    report = kb.ingest(DOCUMENTS, workers=1)
    assert not report.failed
    return kb


@pytest.fixture(scope="module")
def remote(server: OxigraphServer, tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    home = tmp_path_factory.mktemp("remote") / "kb"
    result = trialkb(home, *server.options(), "ingest", "--workers", "1", *map(str, DOCUMENTS))
    assert result.returncode == 0, result.stderr
    return remote_kb(home, server)


def local_counts(kb: KnowledgeBase) -> dict[str, int]:
    """Triples per named graph of a KB's local snapshot (what the store must hold)."""
    from kb.triplestore import TripleStore

    store = TripleStore.from_nquads(kb.directory.read_snapshot(kb.directory.read_manifest()), merge=False)
    return {name: len(store.graph(name)) for name in store.graph_names()}


def test_graphs_are_in_the_server(
    server: OxigraphServer, remote: KnowledgeBase, embedded: KnowledgeBase
) -> None:
    held = server.named_counts()
    assert held == local_counts(embedded)
    graphs = {entry.graph for entry in remote.manifest.documents}
    assert graphs <= set(held) and len(graphs) == 3
    # The default graph is the merge of the named graphs: each triple once, as in the embedded store.
    assert server.default_count() == int(embedded.select(UNION_COUNT)[0]["n"])
    record = remote.manifest.extra["remote_store"]
    assert (
        set(record["graphs"]) == set(held) and record["graphs_endpoint"] == server.endpoints["store_graphs"]
    )


def questions() -> list[str]:
    names = {path.name for path in DOCUMENTS}
    rows = []
    for path in (CORPUS / "corpus_dev_qa.jsonl", EVIDENCE / "evidence_qa.jsonl"):
        rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [row["q"] for row in rows if row["doc"] in names]


def test_every_question_gets_the_same_answer(remote: KnowledgeBase, embedded: KnowledgeBase) -> None:
    asked = questions()
    assert len(asked) >= 20
    for question in asked:
        assert remote.ask(question).to_dict() == embedded.ask(question).to_dict(), question
    answered = [remote.ask(question) for question in asked[:5]]
    assert any(not answer.abstained for answer in answered)


QUERIES = [
    UNION_COUNT,
    NAMED_COUNTS + " ORDER BY ?g",
    "PREFIX tkb: <https://w3id.org/trialkb/ontology#> SELECT ?t ?l WHERE { ?t a tkb:ClinicalTrial ; rdfs:label ?l } ORDER BY ?t ?l",
    "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p ORDER BY ?p",
    "ASK { ?s ?p 224 }",
    "CONSTRUCT { ?t rdfs:label ?l } WHERE { ?t a tkb:ClinicalTrial ; rdfs:label ?l }",
]


@pytest.mark.parametrize("query", QUERIES)
def test_sparql_gives_the_same_results(remote: KnowledgeBase, embedded: KnowledgeBase, query: str) -> None:
    for fmt in (None, "csv") if "CONSTRUCT" not in query else ("ntriples",):
        mine, theirs = remote.query(query, fmt, isolated=True), embedded.query(query, fmt)
        if fmt == "ntriples":
            assert sorted(mine.body.splitlines()) == sorted(theirs.body.splitlines())
        else:
            assert mine.body == theirs.body, query
    graph = next(iter(entry.graph for entry in embedded.manifest.documents))
    narrowed = remote.query(UNION_COUNT, default_graphs=[graph]).body
    assert narrowed == embedded.query(UNION_COUNT, default_graphs=[graph]).body


def test_the_guard_applies_before_the_store(remote: KnowledgeBase) -> None:
    from kb.errors import QueryRejected

    for refused in (
        "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
        "DROP ALL",
        "SELECT * FROM <http://example.org/elsewhere> WHERE { ?s ?p ?o }",
    ):
        with pytest.raises(QueryRejected):
            remote.query(refused)


def test_pages_reconcile_and_validate_read_the_store(remote: KnowledgeBase, embedded: KnowledgeBase) -> None:
    from kb.api.describe import describe_entity
    from kb.api.trial_evidence import trial_evidence

    trials = remote.store.trials()
    assert trials == embedded.store.trials() and trials
    for iri, _label in trials:
        mine, theirs = describe_entity(remote.store.native, iri), describe_entity(embedded.store.native, iri)
        assert mine is not None and theirs is not None
        # The same triples; the order of rows a query returns without ORDER BY is the engine's own.
        assert sorted(map(str, mine.triples)) == sorted(map(str, theirs.triples))
        assert replace(mine, triples=()) == replace(theirs, triples=())
        assert trial_evidence(remote.store.native, iri) == trial_evidence(embedded.store.native, iri)
    assert remote.reconcile("NCT02003222").to_dict() == embedded.reconcile("NCT02003222").to_dict()
    mine, theirs = remote.validate(), embedded.validate()
    assert (mine.conforms, mine.violations, mine.warnings) == (
        theirs.conforms,
        theirs.violations,
        theirs.warnings,
    )
    assert remote.export("nq") == embedded.export("nq")


def test_ingesting_twice_doubles_nothing(
    server: OxigraphServer, remote: KnowledgeBase, tmp_path: Path
) -> None:
    before, default = server.named_counts(), server.default_count()
    again = trialkb(remote.home, *server.options(), "ingest", "--workers", "1", *map(str, DOCUMENTS))
    assert again.returncode == 0 and "unchanged" in again.stdout + again.stderr
    # A second KB directory that records nothing writes every graph again: replaced, not added to.
    other = remote_kb(tmp_path / "kb", server)
    assert not other.ingest(DOCUMENTS, workers=1).failed
    assert server.named_counts() == before
    assert server.default_count() == default


def test_a_changed_document_replaces_its_graph(own_server: OxigraphServer, tmp_path: Path) -> None:
    source = tmp_path / "zuma3-abstract.txt"
    text = (CORPUS / "zuma3-abstract.txt").read_text()
    source.write_text(text)
    kb = remote_kb(tmp_path / "kb", own_server)
    kb.ingest([source], workers=1)
    source.write_text(text.split("\n\n")[0] + "\n")  # shorter: triples leave the graph
    assert not kb.ingest([source], workers=1).failed
    embedded = KnowledgeBase(tmp_path / "embedded")
    embedded.ingest([source], workers=1)
    graph = kb.manifest.documents[0].graph
    assert own_server.named_counts()[graph] == local_counts(embedded)[graph]
    # No triple of the old version is left in the merged default graph.
    stale = own_server.select(
        "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o FILTER NOT EXISTS { GRAPH ?g { ?s ?p ?o } } }"
    )
    assert stale[0]["n"] == "0"


FAST_RETRIES = {"TRIALKB_STORE_ATTEMPTS": "2", "TRIALKB_STORE_BACKOFF": "0.1"}


def test_a_store_that_is_down_fails_cleanly(server: OxigraphServer, remote: KnowledgeBase) -> None:
    manifest = (remote.home / "manifest.json").read_bytes()
    server.stop()
    try:
        result = trialkb(remote.home, *server.options(), "ingest", str(LATER[0]), env=FAST_RETRIES)
        asked = trialkb(remote.home, *server.options(), "ask", "How many patients?", env=FAST_RETRIES)
    finally:
        server.start()
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert server.base in lines[0] and "after 2 attempts" in lines[0] and "Traceback" not in result.stderr
    assert (remote.home / "manifest.json").read_bytes() == manifest
    assert asked.returncode == 1 and server.base in asked.stderr and "Traceback" not in asked.stderr


def test_a_short_outage_is_retried_with_backoff(own_server: OxigraphServer, tmp_path: Path) -> None:
    home = tmp_path / "kb"
    own_server.stop()
    threading.Timer(1.0, own_server.start).start()  # back within the retries: 0.5 + 1 + 2 + 4 s
    result = trialkb(
        home, *own_server.options(), "ingest", str(LATER[0]), env={"TRIALKB_STORE_ATTEMPTS": "5"}
    )
    time.sleep(0.1)
    assert result.returncode == 0, result.stderr
    graph = KnowledgeBase(home).manifest.documents[0].graph
    assert graph in own_server.named_counts()


def test_a_refusing_store_names_the_endpoint(server: OxigraphServer, tmp_path: Path) -> None:
    options = [*server.options()[:2], f"--store-graphs={server.base}/no-such-endpoint"]
    result = trialkb(tmp_path / "kb", *options, "ingest", str(LATER[0]))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{server.base}/no-such-endpoint refused to write a graph: HTTP 4" in result.stderr
    assert not (tmp_path / "kb" / "manifest.json").exists()


def test_killed_between_graph_writes_then_rerun_loses_nothing(
    own_server: OxigraphServer, tmp_path: Path
) -> None:
    home = tmp_path / "kb"
    assert not remote_kb(home, own_server).ingest([DOCUMENTS[0]], workers=1).failed
    manifest = (home / "manifest.json").read_bytes()
    killed = trialkb(
        home,
        *own_server.options(),
        "ingest",
        "--workers",
        "1",
        *map(str, LATER),
        env={"TRIALKB_FAULT_POINT": "store-put-1"},
    )
    assert killed.returncode == -9
    assert (home / "manifest.json").read_bytes() == manifest  # nothing recorded
    rerun = trialkb(home, *own_server.options(), "ingest", "--workers", "1", *map(str, LATER))
    assert rerun.returncode == 0, rerun.stderr
    kb = remote_kb(home, own_server)
    assert {entry.path for entry in kb.manifest.documents} == {DOCUMENTS[0].name, *(p.name for p in LATER)}
    assert own_server.named_counts() == local_counts(kb)  # every graph, each once, nothing else
    stale = own_server.select(
        "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o FILTER NOT EXISTS { GRAPH ?g { ?s ?p ?o } } }"
    )
    assert stale[0]["n"] == "0"


def test_without_a_store_nothing_changes(embedded: KnowledgeBase) -> None:
    assert embedded.remote is None
    assert "remote_store" not in embedded.manifest.extra
    assert type(embedded.store).__name__ == "TripleStore"


VIRTUOSO = shutil.which("virtuoso-t")
VIRTUOSO_INI = Path("/etc/virtuoso-opensource-7/virtuoso.ini")


@pytest.fixture()
def virtuoso(tmp_path: Path) -> Iterator[str]:
    """A Virtuoso 7 server in ``tmp_path`` (Debian `virtuoso-opensource`), its HTTP base URL."""
    if VIRTUOSO is None or not VIRTUOSO_INI.is_file():
        pytest.skip(
            "Virtuoso is not installed here (apt-get install virtuoso-opensource); tested where it is"
        )
    sql, http = free_port(), free_port()
    ini = VIRTUOSO_INI.read_text().replace("/var/lib/virtuoso-opensource-7/db", str(tmp_path))
    ini = re.sub(r"(?m)^ServerPort\s*=\s*1111\s*$", f"ServerPort = {sql}", ini)
    ini = re.sub(r"(?m)^ServerPort\s*=\s*8890\s*$", f"ServerPort = {http}", ini)
    (tmp_path / "virtuoso.ini").write_text(ini)
    process = subprocess.Popen(
        [VIRTUOSO, "-f", "-c", str(tmp_path / "virtuoso.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{http}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/sparql", params={"query": "ASK {}"}, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        grant = "GRANT SPARQL_UPDATE TO \"SPARQL\"; DB.DBA.RDF_DEFAULT_USER_PERMS_SET ('nobody', 7);"
        subprocess.run(["isql-vt", str(sql), "dba", "dba", f"exec={grant}"], check=True, capture_output=True)
        yield base
    finally:
        process.terminate()
        process.wait(30)


def test_virtuoso_as_the_store(virtuoso: str, embedded: KnowledgeBase, tmp_path: Path) -> None:
    """Virtuoso 7: its default graph is the union of all graphs (a triple once per graph holding it) and
    cannot be written, so the merge goes to a named graph (``--store-merged-graph``) that queries without a
    dataset of their own get as their default graph, with the KB's graphs as their named graphs."""
    settings = Settings(
        store=f"{virtuoso}/sparql",
        store_update=f"{virtuoso}/sparql",
        store_graphs=f"{virtuoso}/sparql-graph-crud",
        store_merged_graph="urn:trialkb:merged",
    )
    kb = KnowledgeBase(tmp_path / "kb", settings)
    assert not kb.ingest(DOCUMENTS, workers=1).failed
    client = SPARQLWrapper(f"{virtuoso}/sparql")
    client.setQuery(NAMED_COUNTS)
    client.setReturnFormat(JSON)
    rows = client.queryAndConvert()["results"]["bindings"]  # type: ignore[index, call-overload]
    held = {row["g"]["value"]: int(row["n"]["value"]) for row in rows}
    for graph, count in local_counts(embedded).items():
        assert held[graph] == count
    assert held["urn:trialkb:merged"] == int(embedded.select(UNION_COUNT)[0]["n"])
    for query in QUERIES[:5]:
        assert kb.query(query, "csv").body == embedded.query(query, "csv").body, query
    # The same answer to every question. (Not always from the same fact: where two facts give it, which
    # one the reader takes follows the order of rows a query returns without ORDER BY, the engine's own.)
    for question in questions():
        mine, theirs = kb.ask(question), embedded.ask(question)
        assert (mine.answer, mine.abstained) == (theirs.answer, theirs.abstained), question


def test_the_http_service_reads_the_store(
    server: OxigraphServer, remote: KnowledgeBase, embedded: KnowledgeBase
) -> None:
    """`trialkb serve` with a remote store: its query workers (which keep their network) read the server."""
    from servers import server_process

    environment = {f"TRIALKB_{name.upper()}": url for name, url in server.endpoints.items()}
    with server_process(remote.home, TRIALKB_QUERY_WORKERS="1", **environment) as (base, _process, _log):
        sparql = httpx.get(f"{base}/sparql", params={"query": UNION_COUNT}, headers={"Accept": "text/csv"})
        assert sparql.text.encode() == embedded.query(UNION_COUNT, "csv").body
        question = questions()[0]
        asked = httpx.get(f"{base}/api/ask", params={"q": question}, timeout=30)
        expected = json.loads(json.dumps(embedded.ask(question).to_dict()))
        assert {
            k: v for k, v in asked.json().items() if v is not None
        } == expected  # the API adds reason: null
        iri, _label = embedded.store.trials()[0]
        page = httpx.get(
            f"{base}/resource/{iri.split('/resource/', 1)[1]}", headers={"Accept": "text/turtle"}
        )
        assert page.status_code == 200 and "ClinicalTrial" in page.text
        graph = embedded.manifest.documents[0].graph
        named = httpx.get(f"{base}/graph/{graph.split('/graph/', 1)[1]}", params={"format": "ntriples"})
        assert len(named.text.strip().splitlines()) == local_counts(embedded)[graph]
        stats = httpx.get(f"{base}/api/stats").json()
        assert set(stats["graph_names"]) == set(server.named_counts())


FRESH = ROOT / "tests" / "data" / "fresh"


def test_with_milvus_lite_too_every_question_of_new_designs_gets_the_same_answer(
    own_server: OxigraphServer, tmp_path: Path
) -> None:
    """The issue's setting: `oxigraph serve` holds the graphs and Milvus Lite the passage vectors; documents of
    designs the code was not written on (two trials in one item, three arms, dose-ranging) ingest, and every
    question of their set is answered as on the embedded KB (answers compared whole, lists in order)."""
    documents = sorted(str(p) for p in FRESH.glob("*.txt"))
    vectors = str(tmp_path / "vectors.db")
    result = trialkb(tmp_path / "remote", *own_server.options(), "--vectors", vectors, "ingest", *documents)
    assert result.returncode == 0, result.stderr
    assert trialkb(tmp_path / "embedded", "ingest", *documents).returncode == 0
    questions = FRESH / "fresh_qa.jsonl"
    remote = trialkb(
        tmp_path / "remote", *own_server.options(), "--vectors", vectors, "eval", str(questions), "--json"
    )
    embedded = trialkb(tmp_path / "embedded", "eval", str(questions), "--json")
    assert remote.returncode == 0 and embedded.returncode == 0, remote.stderr + embedded.stderr
    remote_rows = {row["id"]: row["answer"] for row in json.loads(remote.stdout)["rows"]}
    embedded_rows = {row["id"]: row["answer"] for row in json.loads(embedded.stdout)["rows"]}
    assert remote_rows == embedded_rows
    assert json.loads(remote.stdout)["wrong_rate"] == 0.0
