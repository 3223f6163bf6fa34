"""Operational and JSON routes: health, readiness, statistics, questions, passage search, downloads."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool

from kb.api.models import AskAnswer, Health, Readiness, Reconciliation, SearchResults, Stats
from kb.api.negotiation import format_parameter, negotiate
from kb.api.problems import Problem, ProblemDetails
from kb.api.rdf_output import EXTENSIONS, GRAPH_DOWNLOADS, serialize
from kb.api.services import Services, services
from ontology import GRAPH

router = APIRouter()
Hub = Annotated[Services, Depends(services)]
EXPORT_FORMATS = {"nquads": "nq", "trig": "trig", "turtle": "ttl", "jsonld": "jsonld"}
# The whole KB: N-Quads first (the canonical snapshot, served as stored), then what `KnowledgeBase.export` writes.
EXPORT_OFFERS = tuple(
    sorted((o for o in GRAPH_DOWNLOADS if o[1] in EXPORT_FORMATS), key=lambda o: o[1] != "nquads")
)


def _as_dict(item: Any) -> dict[str, Any]:
    if hasattr(item, "to_dict"):
        return item.to_dict()  # type: ignore[no-any-return]
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return dataclasses.asdict(item)
    return dict(item)


def _download_format(
    request: Request, format_name: str | None, offers: tuple[tuple[str, str, tuple[str, ...]], ...]
) -> tuple[str, str]:
    chosen = format_parameter(format_name, offers) if format_name else None
    if format_name and chosen is None:
        available = ", ".join(name for _, name, _ in offers)
        raise Problem(
            406, f"format {format_name!r} is not available; choose one of {available}", kind="not-acceptable"
        )
    return chosen or negotiate(request.headers.get("accept"), offers)


@router.get("/healthz", tags=["operations"], summary="The process is alive (never waits on workers)")
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", tags=["operations"], summary="KB loaded and query workers up", responses={503: {}})
async def readyz(hub: Hub) -> Response:
    generation = await hub.watcher.current()
    state = Readiness(
        ready=hub.started and hub.pool.ready > 0,
        kb_loaded=True,
        content_hash=generation.content_hash,
        workers_ready=hub.pool.ready,
        workers_wanted=hub.pool.size,
        index_present=hub.kb.directory.index_dir.is_dir(),
    )
    return Response(
        state.model_dump_json(), status_code=200 if state.ready else 503, media_type="application/json"
    )


@router.get("/api/stats", tags=["knowledge base"], summary="Documents, triples and graphs in the KB")
async def stats(hub: Hub) -> Stats:
    generation = await hub.watcher.current()
    return Stats(
        documents=generation.documents,
        triples=generation.triples,
        graphs=len(generation.graphs),
        content_hash=generation.content_hash,
        graph_names=sorted(generation.graphs),
    )


@router.get(
    "/api/ask",
    tags=["questions"],
    summary="Answer a plain-English question, with evidence and SPARQL",
    response_model=AskAnswer,
    responses={503: {"model": ProblemDetails, "description": "The question ran past the deadline."}},
)
async def ask(
    hub: Hub, q: Annotated[str, Query(min_length=1, max_length=20_000, description="The question.")]
) -> Response:
    body, cached = await hub.ask(q)
    return Response(
        body, media_type="application/json", headers={"X-TrialKB-Cache": "hit" if cached else "miss"}
    )


@router.get("/api/search", tags=["questions"], summary="Passages ranked for a text (dense + keyword, fused)")
async def search(
    hub: Hub,
    q: Annotated[str, Query(min_length=1, max_length=20_000, description="The text to search for.")],
    k: Annotated[int, Query(ge=1, le=100, description="How many passages.")] = 5,
    document: Annotated[str | None, Query(description="Only passages of this document id.")] = None,
    trial: Annotated[str | None, Query(description="Only passages about this trial.")] = None,
) -> SearchResults:
    await hub.watcher.current()
    async with hub.admission.slot():
        hits = await run_in_threadpool(lambda: hub.kb.search(q, k=k, document=document, trial=trial))
    return SearchResults(query=q, k=k, hits=[_as_dict(hit) for hit in hits])


@router.get(
    "/api/reconcile/{nct_id}",
    tags=["questions"],
    summary="Where a trial's articles and its ClinicalTrials.gov record agree or differ, topic by topic",
    response_model=Reconciliation,
    responses={
        400: {"model": ProblemDetails, "description": "Not an NCT id (NCT and 8 digits)."},
        404: {
            "model": ProblemDetails,
            "description": "No article reports the trial and no record is imported.",
        },
    },
)
async def reconcile(
    hub: Hub,
    nct_id: Annotated[str, Path(description="A ClinicalTrials.gov id, e.g. NCT03739814.", max_length=64)],
) -> Response:
    await hub.watcher.current()
    async with hub.admission.slot():
        result = await run_in_threadpool(hub.kb.reconcile, nct_id)
    return Response(orjson.dumps(result.to_dict()), media_type="application/json")


@router.get(
    "/graph/{name:path}", tags=["knowledge base"], summary="One named graph, as TriG, Turtle, N-Quads..."
)
async def named_graph(request: Request, hub: Hub, name: str, format: str | None = None) -> Response:
    generation = await hub.watcher.current()
    iri = str(GRAPH) + name
    if iri not in generation.graphs:
        raise Problem(404, f"the KB holds no graph {iri}", kind="not-found")
    media_type, format_name = _download_format(request, format, GRAPH_DOWNLOADS)
    store = hub.kb.store.native
    body = await run_in_threadpool(
        lambda: serialize(store.quads_for_pattern(None, None, None, _node(iri)), format_name)
    )
    filename = f"{name.replace('/', '_')}.{EXTENSIONS[format_name]}"
    return Response(
        body,
        media_type=media_type,
        headers={"Vary": "Accept", "Content-Disposition": f'inline; filename="{filename}"'},
    )


@router.get("/download", tags=["knowledge base"], summary="The whole KB (all named graphs)")
@router.get("/api/export", tags=["knowledge base"], include_in_schema=False)
async def download(request: Request, hub: Hub, format: str | None = None) -> Response:
    generation = await hub.watcher.current()
    media_type, format_name = _download_format(request, format, EXPORT_OFFERS)
    filename = f'attachment; filename="trialkb-{generation.content_hash[:12]}.{EXTENSIONS[format_name]}"'
    if format_name == "nquads":
        manifest = hub.kb.manifest
        path = hub.kb.home / manifest.snapshot
        return FileResponse(path, media_type=media_type, headers={"Content-Disposition": filename})
    body = await run_in_threadpool(hub.kb.export, EXPORT_FORMATS[format_name])
    return Response(body, media_type=media_type, headers={"Content-Disposition": filename, "Vary": "Accept"})


def _node(iri: str) -> Any:
    import pyoxigraph as ox

    return ox.NamedNode(iri)
