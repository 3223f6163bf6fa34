"""``/sparql``: the SPARQL 1.1 Protocol for queries, read-only, every query in a killable worker process."""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kb.api.negotiation import GRAPH_OFFERS, RESULT_OFFERS, format_parameter, negotiate
from kb.api.problems import Problem
from kb.api.protocol import ProtocolRequest, parse_query_request
from kb.api.service_description import serialized_description
from kb.api.services import Services
from kb.api.worker import QueryJob
from kb.sparql import QueryPlan, check_graph_parameters, check_query

router = APIRouter(tags=["SPARQL"])
TRUNCATED_HEADER = "X-TrialKB-Truncated"
_TEXT_TYPES = {"text/csv", "text/tab-separated-values", "text/turtle", "application/n-triples"}
_ERROR_STATUS_KINDS = {"QueryRejected": "query-rejected", "QueryTooLarge": "query-too-large"}
_DESCRIPTION = """SPARQL 1.1 Protocol query operation: GET with `query=`, POST form-encoded (`query=...`)
or POST `application/sparql-query`. `default-graph-uri` and `named-graph-uri` choose among the graphs the
KB holds. Without a query, GET returns the service description. Results by `Accept`: SPARQL JSON (default),
XML, CSV, TSV; graphs as Turtle (default), N-Triples, RDF/XML, JSON-LD. Updates are refused."""


@lru_cache(maxsize=1024)
def _checked(query: str, graphs: frozenset[str], max_length: int, max_nesting: int) -> QueryPlan:
    """`check_query`, remembered: clients repeat queries, and the checks cost more than a point query runs."""
    return check_query(query, known_graphs=set(graphs), max_length=max_length, max_nesting=max_nesting)


def _media_header(media_type: str) -> str:
    return f"{media_type}; charset=utf-8" if media_type in _TEXT_TYPES else media_type


def _choose_format(parsed: ProtocolRequest, accept: str | None, returns_graph: bool) -> tuple[str, str]:
    offers = GRAPH_OFFERS if returns_graph else RESULT_OFFERS
    chosen = format_parameter(parsed.format, offers) if parsed.format else None
    return chosen or negotiate(accept, offers)


async def _describe_service(request: Request, hub: Services) -> Response:
    generation = await hub.watcher.current()
    media_type, name = negotiate(request.headers.get("accept"), GRAPH_OFFERS + (("text/html", "turtle", ()),))
    if media_type == "text/html":  # a browser: Turtle is readable as text, so show it rather than refuse
        media_type = "text/turtle"
    endpoint = hub.base_url(request) + "/sparql"
    body = serialized_description(endpoint, generation.graphs, generation.triples, name)
    return Response(body, media_type=_media_header(media_type), headers={"Vary": "Accept"})


async def _run_query(request: Request, hub: Services, parsed: ProtocolRequest) -> Response:
    assert parsed.query is not None
    generation = await hub.watcher.current()
    settings = hub.settings
    plan = _checked(parsed.query, generation.graphs, settings.max_query_length, settings.max_query_nesting)
    check_graph_parameters(list(parsed.default_graphs), list(parsed.named_graphs), set(generation.graphs))
    media_type, format_name = _choose_format(parsed, request.headers.get("accept"), plan.returns_graph)
    job = QueryJob(
        plan.text, plan.form, plan.from_graphs, plan.from_named_graphs, format_name,
        parsed.default_graphs, parsed.named_graphs, hub.base_url(request) + "/sparql", generation.content_hash,
    )  # fmt: skip
    async with hub.admission.slot():
        reply = await hub.pool.run(job, deadline=settings.query_timeout, wait=settings.queue_timeout)
    if reply[0] != "ok":
        _, status, kind, message = reply
        raise Problem(status, message, kind=_ERROR_STATUS_KINDS.get(kind, "query-failed"))
    _, _form, served_type, body, truncated, count = reply
    headers = {"Vary": "Accept", "X-TrialKB-Results": str(count)}
    if truncated:
        headers[TRUNCATED_HEADER] = "true"
        headers["Warning"] = f'199 trialkb "result cut at {settings.max_results} rows (TRIALKB_MAX_RESULTS)"'
        headers["Link"] = '</docs#/SPARQL>; rel="help"'
    return Response(body, media_type=_media_header(served_type), headers=headers)


@router.api_route(
    "/sparql", methods=["GET", "POST"], summary="SPARQL 1.1 query endpoint", description=_DESCRIPTION
)
@router.api_route("/sparql/", methods=["GET", "POST"], include_in_schema=False)
async def sparql(request: Request) -> Response:
    hub: Services = request.app.state.services  # not a Depends: this route is the hot path
    parsed = await parse_query_request(request, hub.settings.max_body_bytes)
    if parsed.query is None:
        if parsed.has_dataset:
            raise Problem(400, "default-graph-uri and named-graph-uri need a query", kind="missing-query")
        return await _describe_service(request, hub)
    return await _run_query(request, hub, parsed)
