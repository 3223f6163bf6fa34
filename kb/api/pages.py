"""Dereferenceable IRIs (``/resource/...``: HTML for browsers, Turtle or JSON-LD by Accept) and the home page."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from kb.api.describe import EntityDescription, describe_entity, local_name, resource_iri
from kb.api.negotiation import negotiate
from kb.api.problems import Problem
from kb.api.rdf_output import GRAPH_DOWNLOADS, serialize
from kb.api.services import Services, services
from kb.api.trial_evidence import trial_evidence
from ontology import GRAPH, RES

router = APIRouter()
Hub = Annotated[Services, Depends(services)]
RESOURCE_OFFERS = (("text/html", "html", ("application/xhtml+xml",)),) + tuple(
    offer for offer in GRAPH_DOWNLOADS if offer[1] in {"turtle", "jsonld", "ntriples", "rdfxml"}
)


@lru_cache(maxsize=1)
def templates() -> Environment:
    environment = Environment(
        loader=PackageLoader("kb.api", "templates"), autoescape=select_autoescape(["html"])
    )
    environment.filters["local_name"] = local_name
    return environment


def href(iri: str) -> str:
    """Where a link to ``iri`` goes: minted IRIs and graphs to this server, anything else to itself."""
    if iri.startswith(str(RES)):
        return "/resource/" + iri[len(str(RES)) :]
    if iri.startswith(str(GRAPH)):
        return "/graph/" + iri[len(str(GRAPH)) :]
    return iri


@router.get(
    "/resource/{path:path}",
    tags=["knowledge base"],
    summary="Dereference a KB IRI: HTML, Turtle, JSON-LD, N-Triples or RDF/XML by Accept",
    responses={200: {"content": {"text/turtle": {}, "application/ld+json": {}, "text/html": {}}}, 404: {}},
)
async def resource(request: Request, hub: Hub, path: str) -> Response:
    await hub.watcher.current()
    iri = resource_iri(path)  # 400 for a path that makes no IRI, before Oxigraph refuses it with a 500
    media_type, format_name = negotiate(request.headers.get("accept"), RESOURCE_OFFERS)
    store = hub.kb.store.native
    description = await run_in_threadpool(describe_entity, store, iri)
    if description is None:
        raise Problem(404, f"the knowledge base says nothing about {iri}", kind="not-found", iri=iri)
    headers = {"Vary": "Accept", "Link": f'<{iri}>; rel="canonical"'}
    if format_name == "html":
        evidence = await run_in_threadpool(trial_evidence, store, iri) if _is_trial(description) else None
        page = (
            templates().get_template("resource.html").render(entity=description, href=href, evidence=evidence)
        )
        return HTMLResponse(page, headers=headers)
    body = await run_in_threadpool(serialize, description.triples, format_name)
    return Response(body, media_type=media_type, headers=headers)


def _is_trial(description: EntityDescription) -> bool:
    return any(t.iri.endswith(("#ClinicalTrial", "/MedicalTrial")) for t in description.types)


@router.get("/", include_in_schema=False)
async def home(hub: Hub) -> HTMLResponse:
    generation = await hub.watcher.current()
    trials = await run_in_threadpool(hub.kb.store.trials)
    page = templates().get_template("index.html").render(generation=generation, trials=trials, href=href)
    return HTMLResponse(page)
