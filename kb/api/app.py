"""The app factory: `create_app(kb, settings)` wires the routes, the error translation and the limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from kb.api.limits import BodyLimitMiddleware
from kb.api.problems import install_problem_handlers
from kb.api.services import Services
from kb.facade import KnowledgeBase
from kb.settings import Settings

DESCRIPTION = """A knowledge base of clinical-trial publications: a read-only SPARQL 1.1 endpoint at
`/sparql`, plain-English questions at `/api/ask`, passage search at `/api/search`, and every IRI the KB
mints (`https://w3id.org/trialkb/resource/...`) dereferenceable under `/resource/`. Errors are
`application/problem+json` (RFC 9457)."""


def create_app(kb: KnowledgeBase | None = None, settings: Settings | None = None) -> FastAPI:
    """A new app over ``kb`` (default: the KB the settings name); worker processes start with the app."""
    from kb.api import pages, routes, sparql_endpoint
    from kb.api.sparql_endpoint import SparqlEndpoint, SparqlFastPath
    from kb.web import web_router

    settings = settings or (kb.settings if kb is not None else Settings())
    kb = kb if kb is not None else KnowledgeBase(settings=settings)
    hub = Services(kb, settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await hub.start()
        try:
            yield
        finally:
            await hub.stop()

    app = FastAPI(title="TrialKB", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.services = hub
    app.state.sparql = endpoint = SparqlEndpoint(hub)
    install_problem_handlers(app)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "POST"],
        allow_headers=["Accept", "Content-Type"],
        expose_headers=[
            "X-TrialKB-Truncated",
            "X-TrialKB-Results",
            "X-TrialKB-Cache",
            "ETag",
            "Retry-After",
            "Warning",
            "Link",
        ],  # fmt: skip
        max_age=600,
    )
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    app.add_middleware(SparqlFastPath, endpoint=endpoint)  # added last: runs first
    app.include_router(sparql_endpoint.router)
    app.include_router(routes.router)
    app.include_router(web_router(kb, settings))  # before pages: the web page owns "/"
    app.include_router(pages.router)
    return app
