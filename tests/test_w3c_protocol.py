"""The W3C SPARQL 1.1 Protocol tests (tests/data/w3c-sparql-protocol/manifest.ttl) replayed against a live server.

The KB holds data1-3.nt as named graphs under the IRIs of the manifest's rdfs:labels, and data0.rdf (named
by the tests that only need *some* graph the service holds) as a graph of one triple. Update tests are
reported as not applicable: the endpoint is read-only. The bad_update tests run: an update must be refused.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from conftest import write_kb
from rdflib import Graph, Namespace
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS

SUITE = Path(__file__).parent / "data" / "w3c-sparql-protocol"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
DATA0 = "http://kasei.us/2009/09/sparql/data/data0.rdf"
RESULT_TYPES = {
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "text/csv",
    "text/tab-separated-values",
}
RDF_TYPES = {"text/turtle", "application/n-triples", "application/rdf+xml", "application/ld+json"}
OUTCOMES: dict[str, str] = {}


@dataclass(frozen=True)
class Step:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    statuses: tuple[str, ...]
    format: str | None
    boolean: bool | None


@dataclass(frozen=True)
class ProtocolTest:
    name: str
    title: str
    graphs: tuple[tuple[str, str], ...]  # (file, graph IRI)
    steps: tuple[Step, ...]


def load_manifest() -> list[ProtocolTest]:
    graph = Graph()
    base = SUITE.as_uri() + "/"
    graph.parse(SUITE / "manifest.ttl", format="turtle", publicID=base)
    manifest = next(graph.subjects(RDF.type, MF.Manifest))
    tests = []
    for node in Collection(graph, graph.value(manifest, MF.entries)):  # type: ignore[arg-type]
        steps = []
        for request in Collection(graph, graph.value(graph.value(node, MF.action), HT.requests)):  # type: ignore[arg-type]
            headers_node = graph.value(request, HT.headers)
            headers = tuple(
                (str(graph.value(h, HT.fieldName)), str(graph.value(h, HT.fieldValue)))
                for h in (Collection(graph, headers_node) if headers_node else [])
            )
            body_node = graph.value(request, HT.body)
            body = None
            if body_node is not None:
                encoding = str(graph.value(body_node, CNT.characterEncoding) or "UTF-8")
                body = str(graph.value(body_node, CNT.chars)).encode(encoding)
            response = graph.value(request, HT.resp)
            boolean = graph.value(response, MF.expectedBoolean)
            steps.append(Step(
                str(graph.value(request, HT.methodName)), str(graph.value(request, HT.absolutePath)), headers, body,
                tuple(sorted(str(s).rsplit("#", 1)[-1] for s in graph.objects(response, MF.expectedStatus))),
                str(graph.value(response, MF.expectedFormat)) if graph.value(response, MF.expectedFormat) else None,
                boolean.toPython() if boolean is not None else None,  # type: ignore[attr-defined]
            ))  # fmt: skip
        data = tuple(
            (str(graph.value(d, UT.graph))[len(base) :], str(graph.value(d, RDFS.label)))
            for d in graph.objects(node, UT.graphData)
        )
        tests.append(
            ProtocolTest(str(node).rsplit("#", 1)[-1], str(graph.value(node, MF.name)), data, tuple(steps))
        )
    return tests


TESTS = load_manifest()


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory, live_server) -> str:  # type: ignore[no-untyped-def]
    graphs = {iri: file for test in TESTS for file, iri in test.graphs}
    lines = [f"<{DATA0}> <{RDF.type}> <http://xmlns.com/foaf/0.1/Document> <{DATA0}> ."]
    for iri, file in sorted(graphs.items()):
        for line in (SUITE / file).read_text().splitlines():
            if line.strip():
                lines.append(line.strip().removesuffix(".").rstrip() + f" <{iri}> .")
    home = write_kb(tmp_path_factory.mktemp("w3c-kb"), "\n".join(lines))
    return str(live_server(home))


def check_response(step: Step, response: httpx.Response) -> None:
    klass = f"StatusCode{response.status_code // 100}xx"
    assert klass in step.statuses, (
        f"status {response.status_code}, expected {step.statuses}: {response.text[:300]}"
    )
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    if step.format in {"boolean", "tabular"}:
        assert media_type in RESULT_TYPES, media_type
    if step.format == "RDF":
        assert media_type in RDF_TYPES, media_type
        Graph().parse(
            data=response.text,
            format={"text/turtle": "turtle", "application/n-triples": "nt"}.get(
                media_type, "xml" if "xml" in media_type else "json-ld"
            ),
        )
    if step.boolean is not None:
        if media_type == "application/sparql-results+json":
            value = json.loads(response.content)["boolean"]
        else:
            element = ElementTree.fromstring(response.content).find(
                "{http://www.w3.org/2005/sparql-results#}boolean"
            )
            value = element is not None and element.text == "true"
        assert value is step.boolean


@pytest.mark.e2e
@pytest.mark.parametrize("test", TESTS, ids=[t.name for t in TESTS])
def test_protocol(test: ProtocolTest, endpoint: str) -> None:
    if test.name.startswith("update_"):
        OUTCOMES[test.name] = "n/a"
        pytest.skip("not applicable: the endpoint is read-only (SPARQL 1.1 Update is not offered)")
    OUTCOMES[test.name] = "FAIL"
    with httpx.Client(timeout=30) as client:
        for step in test.steps:
            url = endpoint + step.path.replace("/sparql/", "/sparql", 1)
            request = client.build_request(
                step.method, httpx.URL(url), headers=list(step.headers), content=step.body
            )
            check_response(step, client.send(request))
    OUTCOMES[test.name] = "pass"


@pytest.mark.e2e
def test_conformance_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """Print the table; every query and bad-query test must have passed."""
    rows = [(t.name, OUTCOMES.get(t.name, "not run"), t.title) for t in TESTS]
    counts = {
        outcome: sum(1 for _, o, _ in rows if o == outcome) for outcome in ("pass", "FAIL", "n/a", "not run")
    }
    with capsys.disabled():
        print("\nW3C SPARQL 1.1 Protocol tests")
        for name, outcome, title in rows:
            print(f"  {outcome:8} {name:38} {title}")
        print("  " + ", ".join(f"{n} {o}" for o, n in counts.items() if n))
    required = [name for name, _, _ in rows if name.startswith(("query_", "bad_"))]
    assert all(OUTCOMES.get(name) == "pass" for name in required), [
        n for n in required if OUTCOMES.get(n) != "pass"
    ]
