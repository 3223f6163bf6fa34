"""Hardening, against a live server: nothing fetched, nothing read from disk, deadlines kept under abuse."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from conftest import HARDENED

pytestmark = pytest.mark.e2e
DEADLINE = float(HARDENED["TRIALKB_QUERY_TIMEOUT"])
BODY_LIMIT = int(HARDENED["TRIALKB_MAX_BODY_BYTES"])
# Every triple joined with every other, seven times over: more rows than any deadline allows.
CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n1 ?o . ?p ?q ?r . ?s ?t ?u }"
# A backtracking-prone pattern over long strings, evaluated for every row of a cartesian product.
REGEX = (
    "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n ?o "
    'FILTER(REGEX(CONCAT(STR(?c), STR(?f), STR(?i), STR(?l), STR(?o), "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"), "^(a+)+$")) }'
)


@pytest.fixture(scope="module")
def base(live_server, sample_kb: Path) -> str:  # type: ignore[no-untyped-def]
    return str(live_server(sample_kb, **HARDENED))


def wait_ready(base: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while httpx.get(base + "/readyz", timeout=5).json()["workers_ready"] < 2:
        assert time.monotonic() < deadline, "workers were not replaced"
        time.sleep(0.1)


def test_service_never_connects(base: str) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        target = f"http://127.0.0.1:{listener.getsockname()[1]}/sparql"
        queries = [
            f"SELECT * WHERE {{ SERVICE <{target}> {{ ?s ?p ?o }} }}",
            f"select * where {{ service silent <{target}> {{ ?s ?p ?o }} }}",
            f"PREFIX x: <http://127.0.0.1:{listener.getsockname()[1]}/> SELECT * {{ SERVICE x:sparql {{ ?s ?p ?o }} }}",
            # Local-name escapes once read as a comment and a string start (issue 17), '<' as an IRI's start.
            f"PREFIX ex: <http://e/> SELECT * {{ ?s ?p ex:a\\#b . SERVICE <{target}> {{ ?s ?p ?o }} }}",
            f"PREFIX ex: <http://e/> SELECT * {{ ?s ?p ex:a\\' . SERVICE <{target}> {{ ?s ?p ?o }} }}",
            f"SELECT * {{ BIND(<{target}> AS ?x) FILTER(?s<?o)SERVICE?x#>\n{{ ?s ?p ?o }} }}",
        ]
        for query in queries:
            assert httpx.get(base + "/sparql", params={"query": query}).status_code == 400
            response = httpx.post(
                base + "/sparql", content=query, headers={"Content-Type": "application/sparql-query"}
            )
            assert response.status_code == 400
            assert response.headers["content-type"] == "application/problem+json"
        listener.settimeout(0.5)
        with pytest.raises(socket.timeout):
            listener.accept()


@pytest.mark.parametrize(
    "params",
    [
        {"query": "SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }"},
        {"query": "SELECT * FROM NAMED <file:///etc/passwd> WHERE { GRAPH ?g { ?s ?p ?o } }"},
        {"query": "ASK { ?s ?p ?o }", "default-graph-uri": "file:///etc/passwd"},
        {"query": "ASK { ?s ?p ?o }", "named-graph-uri": "http://example.org/remote.ttl"},
    ],
)
def test_local_files_and_remote_graphs_are_refused(base: str, params: dict[str, str]) -> None:
    response = httpx.get(base + "/sparql", params=params)
    assert response.status_code == 400
    assert "root:" not in response.text and "never fetched" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("LOAD <file:///etc/passwd>", "application/sparql-update"),
        ("update=LOAD%20%3Cfile%3A%2F%2F%2Fetc%2Fpasswd%3E", "application/x-www-form-urlencoded"),
        ("LOAD <file:///etc/passwd>", "application/sparql-query"),
    ],
)
def test_updates_are_refused(base: str, body: str, content_type: str) -> None:
    response = httpx.post(base + "/sparql", content=body, headers={"Content-Type": content_type})
    assert response.status_code in {400, 403}
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("query", [CARTESIAN, REGEX], ids=["cartesian", "regex"])
def test_deadline_stops_query_while_server_answers(base: str, query: str) -> None:
    wait_ready(base)
    results: list[tuple[int, float, dict[str, str]]] = []

    def slow() -> None:
        started = time.monotonic()
        response = httpx.get(base + "/sparql", params={"query": query}, timeout=30)
        results.append((response.status_code, time.monotonic() - started, response.json()))

    threads = [threading.Thread(target=slow) for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    latencies = []
    with httpx.Client(timeout=5) as client:
        for _ in range(10):
            started = time.monotonic()
            assert client.get(base + "/healthz").status_code == 200
            latencies.append(time.monotonic() - started)
            time.sleep(0.05)
    for thread in threads:
        thread.join()
    assert max(latencies) < 0.2, latencies
    for status, elapsed, problem in results:
        assert status in {503, 504}, problem
        assert problem["type"].endswith("query-deadline") and "deadline" in problem["detail"]
        assert elapsed < DEADLINE + 2.0
    wait_ready(base)
    assert httpx.get(base + "/sparql", params={"query": "ASK { ?s ?p ?o }"}).json()["boolean"] is True


def test_oversized_bodies(base: str) -> None:
    big = "ASK {} #" + "x" * (BODY_LIMIT + 10)
    declared = httpx.post(base + "/sparql", content=big, headers={"Content-Type": "application/sparql-query"})
    assert declared.status_code == 413 and declared.json()["limit"] == BODY_LIMIT

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"#" + b"x" * 9_999

    streamed = httpx.post(
        base + "/sparql", content=chunks(), headers={"Content-Type": "application/sparql-query"}
    )
    assert streamed.status_code == 413


@pytest.mark.parametrize(
    "raw",
    [
        "/sparql?query=%ZZ",
        "/sparql?query=ASK%7B%7D%",
        "/sparql?query=%FF%FE",
        "/sparql?query=ASK%20%7B%7D&default-graph-uri=%C3%28",
    ],
)
def test_malformed_encodings(base: str, raw: str) -> None:
    response = httpx.get(httpx.URL(base + raw))
    assert response.status_code == 400
    assert response.json()["type"].endswith("bad-encoding")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'ASK { FILTER("caf\xe9") }', "application/sparql-query"),
        (b"query=ASK%20%7B%7D%FF", "application/x-www-form-urlencoded"),
        ("ASK {}".encode("utf-16"), "application/sparql-query; charset=utf-16"),
    ],
)
def test_non_utf8_text(base: str, body: bytes, content_type: str) -> None:
    response = httpx.post(base + "/sparql", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 400


def test_fifty_parallel_slow_queries(base: str) -> None:
    wait_ready(base)

    def one(_: int) -> httpx.Response:
        return httpx.get(base + "/sparql", params={"query": CARTESIAN}, timeout=60)

    with ThreadPoolExecutor(50) as pool:
        responses = list(pool.map(one, range(50)))
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 429, 503, 504}, statuses
    for response in responses:
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        if problem["type"].endswith("overloaded"):
            assert int(response.headers["retry-after"]) >= 1
        else:
            assert problem["type"].endswith("query-deadline")
    assert any(r.json()["type"].endswith("overloaded") for r in responses)
    with httpx.Client(timeout=5) as client:
        started = time.monotonic()
        assert client.get(base + "/healthz").status_code == 200 and time.monotonic() - started < 0.5
    wait_ready(base)
    response = httpx.get(base + "/sparql", params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"})
    assert response.status_code == 200


def test_questions_run_under_the_deadline_too(sample_kb: Path) -> None:
    """`/api/ask` turns a question into SPARQL, so it runs in a killable worker like any query: here every
    question outlives a 1 ms deadline (a fresh worker first builds its QA context) and is stopped, with a
    problem+json 503, while the server keeps answering."""
    from conftest import running_server

    env = {**HARDENED, "TRIALKB_QUERY_TIMEOUT": "0.001", "TRIALKB_RESULT_CACHE_MB": "0"}
    with running_server(sample_kb, env) as base, httpx.Client(base_url=base, timeout=30) as client:
        for _ in range(2):
            response = client.get("/api/ask", params={"q": "What was the complete remission rate?"})
            assert response.status_code == 503, response.text
            assert response.headers["content-type"] == "application/problem+json"
            problem = response.json()
            assert problem["type"].endswith("query-deadline") and "question" in problem["detail"]
            assert client.get("/healthz").status_code == 200
