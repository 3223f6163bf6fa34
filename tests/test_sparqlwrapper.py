"""SPARQLWrapper, a real SPARQL client, against a live `trialkb serve` on the seed KB (with its registry record
linked, the server `test_api_reconcile` uses too): JSON, XML, CSV, TSV and a CONSTRUCT graph."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph
from SPARQLWrapper import CSV, JSON, TSV, TURTLE, XML, SPARQLWrapper

pytestmark = pytest.mark.e2e
TRIALS = "PREFIX tkb: <https://w3id.org/trialkb/ontology#> SELECT ?trial WHERE { ?trial a tkb:ClinicalTrial }"
GRAPH = "PREFIX tkb: <https://w3id.org/trialkb/ontology#> CONSTRUCT { ?trial a tkb:ClinicalTrial } WHERE { ?trial a tkb:ClinicalTrial }"


@pytest.fixture(scope="module")
def endpoint(live_server, linked_seed_kb: Path) -> str:  # type: ignore[no-untyped-def]
    return str(live_server(linked_seed_kb)) + "/sparql"


def client(endpoint: str, query: str, return_format: str) -> SPARQLWrapper:
    wrapper = SPARQLWrapper(endpoint)
    wrapper.setQuery(query)
    wrapper.setReturnFormat(return_format)
    return wrapper


def test_json(endpoint: str) -> None:
    converted: Any = client(endpoint, TRIALS, JSON).queryAndConvert()
    bindings = converted["results"]["bindings"]
    assert bindings and all(row["trial"]["type"] == "uri" for row in bindings)


def test_xml(endpoint: str) -> None:
    document = client(endpoint, TRIALS, XML).queryAndConvert()
    assert document.getElementsByTagName("result")  # type: ignore[union-attr]


@pytest.mark.parametrize(("return_format", "delimiter"), [(CSV, ","), (TSV, "\t")])
def test_csv_and_tsv(endpoint: str, return_format: str, delimiter: str) -> None:
    result = client(endpoint, TRIALS, return_format).query()
    assert result.response.headers["Content-Type"].startswith(
        {CSV: "text/csv", TSV: "text/tab-separated-values"}[return_format]
    )
    rows = list(csv.reader(io.StringIO(result.convert().decode("utf-8")), delimiter=delimiter))  # type: ignore[union-attr]
    assert rows[0] == ["trial" if return_format == CSV else "?trial"] and len(rows) > 1


@pytest.mark.parametrize("return_format", [TURTLE, XML])
def test_construct_graph(endpoint: str, return_format: str) -> None:
    wrapper = client(endpoint, GRAPH, return_format)
    wrapper.setMethod("POST")
    converted: Any = wrapper.queryAndConvert()
    graph = converted if isinstance(converted, Graph) else Graph().parse(data=converted, format="turtle")
    assert len(graph) > 0
