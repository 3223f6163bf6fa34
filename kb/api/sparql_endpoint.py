"""``/sparql``: the SPARQL 1.1 Protocol for queries, read-only, every query in a killable worker process.

The endpoint works on raw ASGI (`SparqlEndpoint.respond`): a query's own work in Oxigraph takes a tenth of
a millisecond, so the framework's per-request cost matters. `SparqlFastPath` answers ``/sparql`` ahead of
the app's routing, dependency injection and middleware; cross-origin requests (which need the CORS
middleware) go through the FastAPI route, which calls the same `respond` and documents the endpoint.
"""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from kb.api.negotiation import GRAPH_OFFERS, RESULT_OFFERS, format_parameter, negotiate
from kb.api.problems import Problem, domain_problem_response, render_problem
from kb.api.protocol import ProtocolRequest, body_reader, parse_query_request
from kb.api.result_cache import CachedAnswer, CacheKey, etag_for, etag_matches
from kb.api.service_description import serialized_description
from kb.api.services import Services
from kb.api.worker import QueryJob
from kb.errors import TrialKBError
from kb.sparql import QueryPlan, check_graph_parameters, check_query

router = APIRouter(tags=["SPARQL"])
PATHS = frozenset({"/sparql", "/sparql/"})
TRUNCATED_HEADER = "X-TrialKB-Truncated"
CACHE_HEADER = "X-TrialKB-Cache"
_TEXT_TYPES = {"text/csv", "text/tab-separated-values", "text/turtle", "application/n-triples"}
_ERROR_STATUS_KINDS = {"QueryRejected": "query-rejected", "QueryTooLarge": "query-too-large"}
_DESCRIPTION_OFFERS = GRAPH_OFFERS + (("text/html", "turtle", ()),)
_DESCRIPTION = """SPARQL 1.1 Protocol query operation: GET with `query=`, POST form-encoded (`query=...`)
or POST `application/sparql-query`. `default-graph-uri` and `named-graph-uri` choose among the graphs the
KB holds. Without a query, GET returns the service description. Results by `Accept`: SPARQL JSON (default),
XML, CSV, TSV; graphs as Turtle (default), N-Triples, RDF/XML, JSON-LD. Updates are refused."""

Headers = list[tuple[bytes, bytes]]
Answer = tuple[int, Headers, bytes]
# A commit can change any answer, so caches must revalidate (cheap: a 304 runs nothing) rather than reuse.
_CACHE_CONTROL = [(b"cache-control", b"no-cache")]


@lru_cache(maxsize=1024)
def _checked(query: str, graphs: frozenset[str], max_length: int, max_nesting: int) -> QueryPlan:
    """`check_query`, remembered: clients repeat queries, and the checks cost more than a point query runs.

    Here the lexer's reading only: the grammar's, which can take seconds on hostile text, runs again in the
    worker before the query does, under the deadline (`kb.api.worker.run_job`)."""
    return check_query(
        query, known_graphs=set(graphs), max_length=max_length, max_nesting=max_nesting, grammar=False
    )


@lru_cache(maxsize=64)
def _content_type(media_type: str) -> bytes:
    return (f"{media_type}; charset=utf-8" if media_type in _TEXT_TYPES else media_type).encode("latin-1")


def _choose_format(parsed: ProtocolRequest, accept: str | None, returns_graph: bool) -> tuple[str, str]:
    offers = GRAPH_OFFERS if returns_graph else RESULT_OFFERS
    chosen = format_parameter(parsed.format, offers) if parsed.format else None
    return chosen or negotiate(accept, offers)


class SparqlEndpoint:
    """The endpoint's work on one request, as (status, raw headers, body); errors come back as problem+json."""

    def __init__(self, hub: Services) -> None:
        self.hub = hub
        self._endpoint_urls: dict[tuple[str, bytes | None, str], str] = {}

    def endpoint_url(self, scope: Scope, host: bytes | None) -> str:
        """The endpoint's own URL: the protocol's base IRI, and the service description's subject."""
        if self.hub.settings.public_base_url:
            return self.hub.settings.public_base_url.rstrip("/") + "/sparql"
        key = (scope.get("scheme", "http"), host, scope.get("root_path", ""))
        url = self._endpoint_urls.get(key)
        if url is None:
            if host is not None:
                authority = host.decode("latin-1")
            else:
                server = scope.get("server") or ("localhost", 80)
                authority = f"{server[0]}:{server[1]}"
            url = f"{key[0]}://{authority}{key[2]}/sparql"
            if len(self._endpoint_urls) < 64:  # Host is the client's to choose: remember a few only
                self._endpoint_urls[key] = url
        return url

    async def respond(self, scope: Scope, receive: Receive) -> Answer:
        accept = content_type = length = if_none_match = None
        host: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"accept":
                accept = value.decode("latin-1")
            elif name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"content-length":
                length = value.decode("latin-1")
            elif name == b"host":
                host = value
            elif name == b"if-none-match":
                if_none_match = value.decode("latin-1")
        try:
            read_body = body_reader(receive, length, self.hub.settings.max_body_bytes)
            parsed = await parse_query_request(
                scope["method"], scope.get("query_string", b""), content_type or "", read_body
            )
            if parsed.query is None:
                if parsed.has_dataset:
                    raise Problem(
                        400, "default-graph-uri and named-graph-uri need a query", kind="missing-query"
                    )
                return await self._describe_service(scope, accept, host)
            return await self._run_query(scope, parsed, accept, host, if_none_match)
        except Problem as problem:
            response = render_problem(problem, scope["path"])
        except TrialKBError as error:
            response = domain_problem_response(error, scope["path"])
        return response.status_code, response.raw_headers, bytes(response.body)

    async def _describe_service(self, scope: Scope, accept: str | None, host: bytes | None) -> Answer:
        generation = await self.hub.watcher.current()
        media_type, name = negotiate(accept, _DESCRIPTION_OFFERS)
        if media_type == "text/html":  # a browser: Turtle is readable as text, so show it rather than refuse
            media_type = "text/turtle"
        endpoint = self.endpoint_url(scope, host)
        body = serialized_description(endpoint, generation.graphs, generation.triples, name)
        return 200, [(b"content-type", _content_type(media_type)), (b"vary", b"Accept")], body

    async def _run_query(
        self,
        scope: Scope,
        parsed: ProtocolRequest,
        accept: str | None,
        host: bytes | None,
        if_none_match: str | None = None,
    ) -> Answer:
        assert parsed.query is not None
        hub = self.hub
        generation = await hub.watcher.current()
        settings = hub.settings
        plan = _checked(
            parsed.query, generation.graphs, settings.max_query_length, settings.max_query_nesting
        )
        if parsed.has_dataset:
            check_graph_parameters(
                list(parsed.default_graphs), list(parsed.named_graphs), set(generation.graphs)
            )
        media_type, format_name = _choose_format(parsed, accept, plan.returns_graph)
        base_iri = self.endpoint_url(scope, host)
        key: CacheKey = (
            generation.content_hash, plan.text, parsed.default_graphs, parsed.named_graphs, format_name, base_iri,
        )  # fmt: skip
        # GET is the protocol's cacheable form: its answers carry an ETag, and a matching If-None-Match is
        # answered 304 before anything runs (a POST answer may not be reused by HTTP caches).
        etag = etag_for(key) if scope["method"] == "GET" else None
        if etag is not None and if_none_match is not None and etag_matches(if_none_match, etag):
            return 304, [(b"etag", etag.encode()), (b"vary", b"Accept"), *_CACHE_CONTROL], b""
        answer = hub.results.get(key)
        source = b"hit"
        if answer is None:
            source = b"miss" if hub.results.enabled else b"off"
            job = QueryJob(
                plan.text, plan.form, plan.from_graphs, plan.from_named_graphs, format_name,
                parsed.default_graphs, parsed.named_graphs, base_iri, generation.content_hash, plan.prefixes,
            )  # fmt: skip
            async with hub.admission.slot():
                reply = await hub.pool.run(job, deadline=settings.query_timeout, wait=settings.queue_timeout)
            if reply[0] != "ok":
                _, status, kind, message = reply
                raise Problem(status, message, kind=_ERROR_STATUS_KINDS.get(kind, "query-failed"))
            _, _form, served_type, body, truncated, count = reply
            answer = CachedAnswer(served_type, body, truncated, count)
            hub.results.put(key, answer)
        headers = [
            (b"content-type", _content_type(answer.media_type)),
            (b"content-length", str(len(answer.body)).encode()),
            (b"vary", b"Accept"),
            (b"x-trialkb-results", str(answer.count).encode()),
            (CACHE_HEADER.lower().encode(), source),
        ]
        if etag is not None:
            headers += [(b"etag", etag.encode()), *_CACHE_CONTROL]
        if answer.truncated:
            warning = f'199 trialkb "result cut at {settings.max_results} rows (TRIALKB_MAX_RESULTS)"'
            headers += [
                (TRUNCATED_HEADER.lower().encode(), b"true"),
                (b"warning", warning.encode()),
                (b"link", b'</docs#/SPARQL>; rel="help"'),
            ]
        return 200, headers, answer.body


class SparqlFastPath:
    """ASGI middleware answering same-origin ``/sparql`` GET and POST requests directly (see the module)."""

    def __init__(self, app: ASGIApp, endpoint: SparqlEndpoint) -> None:
        self.app = app
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in PATHS and scope["method"] in ("GET", "POST"):
            if not any(name == b"origin" for name, _ in scope["headers"]):
                status, headers, body = await self.endpoint.respond(scope, receive)
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


class _Answer(Response):
    def __init__(self, answer: Answer) -> None:
        status, headers, body = answer
        super().__init__(body, status_code=status)
        self.raw_headers = [(name, value) for name, value in headers if name != b"content-length"]
        if status != 304:  # a 304 has no body, and its length would describe the unsent 200's
            self.raw_headers.append((b"content-length", str(len(body)).encode()))


@router.api_route(
    "/sparql", methods=["GET", "POST"], summary="SPARQL 1.1 query endpoint", description=_DESCRIPTION
)
@router.api_route("/sparql/", methods=["GET", "POST"], include_in_schema=False)
async def sparql(request: Request) -> Response:
    """Cross-origin requests (the CORS middleware adds its headers) and anything `SparqlFastPath` passes on."""
    endpoint: SparqlEndpoint = request.app.state.sparql
    return _Answer(await endpoint.respond(request.scope, request.receive))
